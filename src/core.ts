/**
 * The part of the public API that imports no Node built-in: errors, model metadata, what a model's outputs
 * mean (the head, top-k, thresholds, labels), the rows every front-end writes, and the float32 preprocessing
 * pipeline. `src/index.ts` re-exports it for Node; the browser build (`pplcnet/web`) imports it alone, so
 * both run the same code (test/unit/web-imports.test.ts checks that nothing it reaches imports Node).
 */
export * from './errors.js';
export * from './metadata.js';
export { readMetadataProps } from './onnx/metadata-props.js';
export { type TopClass, type Timings, asProbabilities, overThreshold, softmaxRows, thresholdBinary, topK } from './output.js';
export { answerOf, headScores, headWith, modelHead, outputOptions, type Answer, type OutputHead, type OutputOptions } from './classifier/head.js';
export { type AttributeResult, paddleClasAttributes } from './classifier/attributes.js';
export { errorRow, resultRow, roundTimings, rowOf, type ClassifiedImage, type ErrorRow, type ResultRow, type Row } from './output-row.js';
export { imageHeaderSize } from './image/header.js';
export { prepareInto, preparedSize, toTensor } from './image/pipeline.js';
export type { Image8 } from './image/resize.js';
