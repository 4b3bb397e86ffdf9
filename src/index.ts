/**
 * pplcnet: PaddlePaddle PP-LCNet image classifiers on Node.js and ONNX Runtime.
 *
 * The public API, and the only door into the library: the CLI (`src/cli/`) and the adapters `pplcnet/serve`
 * (`src/serve/`) and `pplcnet/queue` (`src/queue/`) import from here and nowhere else; the browser's
 * `pplcnet/web` (`src/web/`) imports `src/core.ts`, the part of it that imports no Node built-in (see
 * docs/architecture.md; `test/unit/architecture.test.ts` checks it). The adapters are entry points of their
 * own, not exported from here.
 */
export * from './builder/architecture.js';
export * from './builder/pplcnet.js';
export { initParameters, type ParameterMap } from './builder/init.js';
export { type Dim, shapeToString } from './builder/shape.js';
export * from './errors.js';
export * from './metadata.js';
export { imagenetLabels, parseLabelFile, readLabelFile } from './labels.js';
export { VERSION } from './version.js';
export * from './classifier.js';
export { convertInferenceModel, type InferenceConversion } from './convert/inference-model.js';
export { decodeImage, type DecodedImage, type ImageInput } from './image/decode.js';
export { DECODE_MODES, type DecodeMode } from './image/fast-decode.js';
export { IMAGE_METADATA_BYTES, MAX_PIXELS, SUPPORTED_FORMATS, maxImageFileBytes, type DecodeOptions } from './image/limits.js';
export { expandImageInputs, IMAGE_EXTENSIONS, type ExpandedInputs, type SkippedInput } from './util/inputs.js';
export { preprocess, preprocessOutputSize } from './image/preprocess.js';
/** @internal The header size reader the serve page embeds in its script. */
export { imageHeaderSize, type HeaderSize } from './image/header.js';
export type { Image8 } from './image/resize.js';
export {
  chooseProvider,
  GRAPH_OPT_LEVELS,
  type ExecutionProviderChoice,
  type SessionOptions,
  type GraphOptimizationLevel,
} from './runtime/providers.js';
export { ZOO, findZooEntry, type ZooEntry } from './zoo/registry.js';
export { resolveModel, pullZooModel, type ModelSource, type ResolvedModel, type ResolveOptions } from './models/resolve.js';
export { defaultCacheDir } from './zoo/cache.js';
export { convertPdparams, type PdparamsConversion, type PdparamsOptions } from './convert/from-weights.js';
export { pullModel, removeModel, type PullOptions, type PulledModel } from './zoo/pull.js';
export { listZoo, zooModelInfo, zooPath, type ZooListing, type ZooModelInfo } from './zoo/catalog.js';
export type { ProgressEvent, ProgressCallback } from './zoo/download.js';
export { compareModels, type CompareInputDiff, type CompareOptions, type CompareReport } from './compare.js';
export {
  benchmarkFolder,
  benchmarkModel,
  type BenchSubject,
  type FolderBenchResult,
  type FolderRunOptions,
  type ImageTime,
  type ModelBenchOptions,
  type ModelBenchReport,
  type StageStats,
} from './bench.js';
export { onnxruntimeVersion } from './runtime/providers.js';
export {
  benchReportHtml,
  compareReportHtml,
  escapeHtml,
  folderRows,
  histogramBins,
  MAX_BARS,
  peakImagesPerSec,
  reportEnvironment,
  shellQuote,
  worstInputs,
  WORST_ROWS,
  evalReportHtml,
  worstRows,
  WORST_IMAGES,
  type ReportEnvironment,
} from './report/index.js';
export {
  inspectModel,
  type InferenceModelInspection,
  type ModelInspection,
  type OnnxInspection,
  type PdparamsInspection,
} from './inspect.js';
export { expandInputs } from './util/inputs.js';
export {
  checkOutputPath,
  formatBytes,
  onnxNameFor,
  openRegularFile,
  readFileBounded,
  readStreamBounded,
  readTextBounded,
  writeFileAtomic,
  type FileLimit,
  type WriteOptions,
} from './util/fs.js';
export {
  ARCHIVE_FILE_BYTES,
  CONFIG_FILE_BYTES,
  FILE_LIMITS,
  LARGEST_PPLCNET_BYTES,
  LARGEST_PPLCNET_PARAMETERS,
  MODEL_FILE_BYTES,
  PDPARAMS_FILE_BYTES,
  STDIN_IMAGE_BYTES,
} from './util/file-limits.js';
export { encodeNpyFloat32 } from './util/npy.js';
export { listProblems } from './convert/architecture-check.js';
/** `onnxruntimeWebDist`, `readRuntimeScript` and `runtimeFiles`: the onnxruntime-web files serve's page sends. */
export {
  exportWebSite,
  bundlePageScript,
  onnxruntimeWebDist,
  readRuntimeScript,
  runtimeFiles,
  WEB_SCRIPT_BUDGET, type ExportWebOptions, type ExportWebResult, type ExportedFile } from './web-export/index.js';
export { resultRow, errorRow, rowOf, type ClassifiedImage, type ResultRow, type ErrorRow, type Row } from './output-row.js';
export { answerOf, headWith, type Answer, type OutputHead, type OutputOptions } from './classifier/head.js';
export { checkModelArgument, nearestZooNames } from './models/check.js';
export { checkModelFile, sniffBytes, sniffFile, type FileKind, type ModelFileUse, type SniffedFile } from './util/sniff.js';
export { shortestFloat32 } from './util/float.js';
export { recordedStorage, storeWeights, WEIGHT_STORAGES, type StoredWeights, type StoreWeightsOptions, type WeightStorage } from './onnx/weight-storage.js';
export { listCache, pruneCache, removeFromCache, type CacheItem, type CacheOptions, type PruneOptions, type PrunedItem } from './zoo/inventory.js';
export type { ConvertedRecord, SourceStamp } from './zoo/cache.js';
export * from './train/index.js';
