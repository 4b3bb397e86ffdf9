/** pplcnet: PaddlePaddle PP-LCNet image classifiers on Node.js and ONNX Runtime. */
export * from './builder/architecture.js';
export * from './builder/pplcnet.js';
export { initParameters, type ParameterMap } from './builder/init.js';
export * from './errors.js';
export * from './metadata.js';
export { imagenetLabels } from './labels.js';
export { VERSION } from './version.js';
