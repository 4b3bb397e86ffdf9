/**
 * `createClassifier` for the command line, imported when a command needs it: this import loads sharp and
 * onnxruntime-node (about 0.2 s), so `predict` first starts what can overlap it (a folder's preprocessing
 * worker) and reads its inputs. The same function as the public API's.
 */
export { createClassifier } from './classifier.js';
