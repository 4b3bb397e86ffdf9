/**
 * onnxruntime-node, loaded through `require`: it is a CommonJS package, and `import` of it first has Node's
 * lexer read its files (and onnxruntime-common's) for their export names, about 25 ms of a fresh process
 * (159 against 133 ms, 2-core EPYC, 11 alternating runs). The same module either way; its types are the
 * package's own.
 */
import { createRequire } from 'node:module';
import type Ort from 'onnxruntime-node';

const ort: typeof Ort = createRequire(import.meta.url)('onnxruntime-node');
export default ort;
