/** pplcnet: PaddlePaddle PP-LCNet image classifiers on Node.js and ONNX Runtime. */
export * from './builder/architecture.js';
export * from './builder/pplcnet.js';
export { initParameters, type ParameterMap } from './builder/init.js';
export * from './errors.js';
export * from './metadata.js';
export { imagenetLabels } from './labels.js';
export { VERSION } from './version.js';
export * from './classifier.js';
export { convertInferenceModel, locateInferenceModel, type InferenceConversion } from './convert/inference-model.js';
export { interpretProgram, type ProgramReading } from './convert/interpret.js';
export { decodeImage, type ImageInput } from './image/decode.js';
export { preprocess, resizeAndCrop, normalizeInto } from './image/preprocess.js';
export { resizeLinear, centerCrop, resizeShortSize, type Image8 } from './image/resize.js';
export { chooseProvider, createSession, type SessionOptions, type GraphOptimizationLevel } from './runtime/session.js';
export { ZOO, findZooEntry, type ZooEntry } from './zoo/registry.js';
export { resolveModel, type ResolvedModel } from './zoo/resolve.js';
export { defaultCacheDir } from './zoo/cache.js';
