/**
 * The part of the public API (everything here is also exported by index.ts) that `pplcnet predict` and the
 * command line's shared files use. Importing it loads neither sharp nor onnxruntime (`classify.ts` does,
 * when a command needs a classifier), nor the trainer, the reports, compare or the other commands' code — so
 * a one-image `predict` starts sooner, and a folder's preprocessing worker loads beside those imports.
 */
export { HEADS, type ModelHead as Head } from './metadata.js';
export type { Classification, Classifier } from './classifier.js';
export { PplcnetError } from './errors.js';
export type { ImageInput } from './image/decode.js';
export { DECODE_MODES, type DecodeMode } from './image/fast-decode.js';
export { readLabelFile } from './labels.js';
export { untrainedMessage } from './metadata.js';
export { WEIGHT_STORAGES, type WeightStorage } from './metadata.js';
export { errorRow, resultRow } from './output-row.js';
export type { ReportEnvironment } from './report/index.js';
export { GRAPH_OPT_LEVELS, type GraphOptimizationLevel } from './runtime/levels.js';
export { FILE_LIMITS, STDIN_IMAGE_BYTES } from './util/file-limits.js';
export { checkOutputPath, formatBytes, readStreamBounded, writeFileAtomic } from './util/fs.js';
export { expandImageInputs } from './util/inputs.js';
export { checkModelFile } from './util/sniff.js';
export { VERSION } from './version.js';
export type { ProgressCallback, ProgressEvent } from './zoo/download.js';
