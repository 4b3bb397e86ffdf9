/** Datasets, splits, feature caching, the trainer, metrics and evaluation: the library side of `split`, `train` and `eval`. */
export {
  type Dataset,
  type Sample,
  type SplitDataset,
  LIST_NAMES,
  MAX_LIST_BYTES,
  checkTrainable,
  classCounts,
  openDataset,
  openEvalDataset,
  readFolderDataset,
  readLabelsTxt,
  readListDataset,
} from './dataset.js';
export { type DatasetSplit, type SplitFolderResult, type SplitOptions, listLine, splitDataset, splitFiles, splitFolder } from './split.js';
export { type Augment, type FeatureOptions, type FeatureSet, augmentView, extractFeatures } from './features.js';
export {
  type EpochReport,
  type FeatureRows,
  type TrainMode,
  type TrainedHead,
  type TrainerOptions,
  balancedClassWeights,
  columnStats,
  headScores,
  trainHead,
} from './trainer.js';
export { TRAIN_METADATA_KEYS, type TrainedDescription, lastConvWeight, spliceHead } from './export.js';
export { type DatasetSummary, type TrainOptions, type TrainReport, trainClassifier } from './train.js';
export { type ClassMetrics, type LabelMetrics, type MultiLabelMetrics, type SingleLabelMetrics, multiLabelMetrics, singleLabelMetrics } from './metrics.js';
export { type EvalOptions, type EvalReport, type EvalRow, evaluateModel, thumbnails } from './eval.js';
