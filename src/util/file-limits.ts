/**
 * The limits on the files pplcnet reads, one table (docs/security.md, "Limits on files"). Every file a user
 * or an environment variable names is read through `readFileBounded` (fs.ts) with one of these: a
 * regular file, checked with `fstat` on the opened descriptor, of at most `maxBytes`. Images have their own
 * bounds, by format and pixel limit (`maxImageFileBytes` in src/image/limits.ts).
 */
import { type FileLimit, formatBytes } from './fs.js';

/**
 * The parameters of the largest published PP-LCNet (x2.5, 1000 classes, BatchNorm statistics included):
 * 9,044,920, as the builder counts them (`LARGEST_PPLCNET_VALUES` in convert/architecture-check.ts; a test
 * checks they agree). Written out here because these limits sit under every module, the builder included.
 */
export const LARGEST_PPLCNET_PARAMETERS = 9_044_920;

/** The float32 bytes of the largest published PP-LCNet: 36,179,680. */
export const LARGEST_PPLCNET_BYTES = 4 * LARGEST_PPLCNET_PARAMETERS;

/**
 * The most bytes of a file holding one network (`.onnx`, `.pdiparams`, `inference.json`, `.pdmodel`): the
 * largest PP-LCNet × 1.5 = 54,269,520 bytes. pplcnet's own x2.5 ONNX is 36.1 MB (36.2 MB with BatchNorm
 * kept); the margin leaves room for headers, metadata and a wider classifier (x2.5 with up to ~4,500 classes).
 */
export const MODEL_FILE_BYTES = Math.ceil(1.5 * LARGEST_PPLCNET_BYTES);

const x25 = `the largest PP-LCNet (x2.5, 1000 classes) takes ${formatBytes(LARGEST_PPLCNET_BYTES)}`;
const X25 = `The largest PP-LCNet (x2.5, 1000 classes) takes ${formatBytes(LARGEST_PPLCNET_BYTES)}`;

/** The most bytes of an inference config (`CONFIG_LIMITS.maxBytes` of convert/inference-config.ts): 1 MiB. */
export const CONFIG_FILE_BYTES = 1 << 20;

/**
 * The most bytes of a `.pdparams` file (`WEIGHT_LIMITS.maxFileBytes` of convert/architecture-check.ts): 4 × the
 * largest PP-LCNet's float32 bytes + 16 MiB = 161,495,936, since a distillation checkpoint holds a teacher beside
 * the student.
 */
export const PDPARAMS_FILE_BYTES = 4 * LARGEST_PPLCNET_BYTES + (16 << 20);

/** The most bytes of a `*_infer.tar` archive: a program, its parameters and a config at their limits, and 1 MiB of tar headers. */
export const ARCHIVE_FILE_BYTES = 2 * MODEL_FILE_BYTES + CONFIG_FILE_BYTES + (1 << 20);

/** The most bytes of an image read from standard input (`predict -`); files have their format's bound. */
export const STDIN_IMAGE_BYTES = 256 << 20;

/** Each kind of named file: the most pplcnet reads of it, and what to say when one is larger. */
export const FILE_LIMITS = Object.freeze({
  /** An `.onnx` model (predict/bench/compare `--model`, `inspect`), and a converted model in the cache. */
  onnx: { what: 'an ONNX model', maxBytes: MODEL_FILE_BYTES, code: 'E_MODEL', advice: `pplcnet runs PP-LCNet models, and ${x25}: check that this is the model you meant` },
  /** A `.pdparams` file: {@link PDPARAMS_FILE_BYTES}. */
  pdparams: {
    what: 'a .pdparams file',
    maxBytes: PDPARAMS_FILE_BYTES,
    code: 'E_WEIGHTS',
    advice: `${X25}; a distillation checkpoint may also hold a teacher, up to 4 times that: check that this is a PP-LCNet's weights`,
  },
  /** An inference model's parameters (`inference.pdiparams`): one network. */
  pdiparams: { what: 'the parameters of an inference model (.pdiparams)', maxBytes: MODEL_FILE_BYTES, code: 'E_WEIGHTS', advice: `${X25}: check that this is a PP-LCNet inference model` },
  /** An inference program (`inference.json`, `inference.pdmodel`); a real one is 0.1–0.3 MB. */
  program: { what: 'an inference program (.json, .pdmodel)', maxBytes: MODEL_FILE_BYTES, code: 'E_FORMAT', advice: 'A PP-LCNet program takes well under 1 MB: check that this is a PP-LCNet inference model' },
  /** A `*_infer.tar` archive. */
  archive: { what: 'an inference model archive (*_infer.tar)', maxBytes: ARCHIVE_FILE_BYTES, code: 'E_FORMAT', advice: `It holds one program and its parameters, and ${x25}` },
  /** `inference.yml` and the like: {@link CONFIG_FILE_BYTES}. */
  config: { what: 'an inference config (.yml)', maxBytes: CONFIG_FILE_BYTES, code: 'E_FORMAT', advice: 'PaddleClas and PaddleX write a few kB: check that this is an inference.yml' },
  /** `--labels` / `--class_id_map_file`: 16 MiB, about 100,000 names of 160 characters (ImageNet-1k's file is 22 kB). */
  labels: { what: 'a label file', maxBytes: 16 << 20, advice: 'A label file holds one name per class (ImageNet-1k: 22 kB)' },
  /** `queue add --list`: 64 MiB, about 500,000 paths of 128 characters. */
  list: { what: 'an image list', maxBytes: 64 << 20, advice: 'Split the list into several files and add each', notRegularAdvice: 'save it to a file, or give it on standard input with --list -' },
  /** A dataset list of `train`/`eval`/`split` (`train_list.txt`, `path label` lines): 64 MiB, about 500,000 images. */
  datasetList: { what: 'a dataset list', maxBytes: 64 << 20, code: 'E_DATASET', readCode: 'E_DATASET', advice: 'Split the dataset into several lists' },
  /** A dataset's `labels.txt`: 16 MiB, as `--labels`. */
  datasetLabels: { what: 'a labels.txt', maxBytes: 16 << 20, code: 'E_DATASET', readCode: 'E_DATASET', advice: 'labels.txt holds one class name per line' },
  /** `$PPLCNET_REGISTRY`: 4 MiB, thousands of model records of under 1 kB each. */
  registry: { what: 'a model registry (PPLCNET_REGISTRY)', maxBytes: 4 << 20, advice: 'A registry is a JSON array of model records of under 1 kB each' },
  /** Small files pplcnet writes itself in its cache (digests, records, locks): 1 MiB. */
  cacheRecord: { what: 'a cache record', maxBytes: 1 << 20, advice: 'These are under 1 kB: remove the file and run again', notRegularAdvice: 'remove it (pplcnet writes a regular file there)' },
  /** `predict -`: one image from standard input, 256 MiB. */
  stdinImage: { what: 'an image from standard input', maxBytes: STDIN_IMAGE_BYTES, advice: "'predict -' reads one image: save larger ones to a file and pass its name" },
} satisfies Record<string, FileLimit>);
