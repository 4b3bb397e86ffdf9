/**
 * The model zoo: one record per model, data only. Each names where its files come from, their format,
 * the architecture, preprocessing and labels, and the published figures.
 */
import type { ArchitectureOptions } from '../builder/architecture.js';
import { PplcnetError } from '../errors.js';
import { isPlainName } from './cache.js';
import { FILE_LIMITS } from '../util/file-limits.js';
import { readTextBoundedSync } from '../util/fs.js';
import { type AttributePostprocess, IMAGENET_PREPROCESS, type Preprocess } from '../metadata.js';

export interface PublishedMetrics {
  /** Parameters, millions. */
  readonly paramsM?: number;
  /** FLOPs at the input size, millions (Paddle's counter). */
  readonly flopsM?: number;
  readonly top1?: number;
  readonly top5?: number;
  readonly latencyMs?: number;
  /** Where the latency was measured. */
  readonly hardware?: string;
  /** Where the figures come from, when sources disagree or the record needs saying which one is quoted. */
  readonly source?: string;
  /** mA (mean accuracy over attributes) or mAP of a multi-label model, as its source reports it. */
  readonly meanAccuracy?: number;
}

export interface ZooEntry {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly description: string;
  /** `pdparams`: dygraph weights; `inference`: a Paddle inference model archive (.tar); `packaged`: ships in models/. */
  readonly format: 'pdparams' | 'inference' | 'packaged';
  /** Download URLs (first is primary); none for packaged models. */
  readonly urls: readonly string[];
  /** sha256 of the file at the URL, when known. */
  readonly sha256?: string;
  /** Size of the file at the URL in bytes, where its publisher gives it (shown by `zoo list` before a pull). */
  readonly sizeBytes?: number;
  /** Folder under the package's models/ for packaged models. */
  readonly packaged?: string;
  /** What the weights cannot tell (`.pdparams`); inference models carry their own program. */
  readonly architecture?: ArchitectureOptions;
  /** Network input (h, w). */
  readonly inputSize?: readonly [number, number];
  /** Preprocessing; inference archives with an inference.yml override it. */
  readonly preprocess?: Preprocess;
  /** `imagenet1k` for the shipped ImageNet names, or the class names; absent when unknown (class ids shown). */
  readonly labels?: 'imagenet1k' | readonly string[];
  /** Default top-k for predict. */
  readonly topk?: number;
  readonly metrics: PublishedMetrics;
  readonly license: string;
  /**
   * The head, when the record fixes it: `sigmoid` for PaddleClas's multi-label attribute models (their
   * exported program ends in a sigmoid — PaddleClas `ExportModel` adds `nn.Sigmoid()` when `use_multilabel`;
   * the record makes sure a program without it still converts as multi-label).
   */
  readonly head?: 'sigmoid';
  /** Which published version of the weights this record is, when a source has published several. */
  readonly version?: string;
  /**
   * The score threshold of the source's post-processing: PaddleClas `ThreshOutput.threshold` for a binary
   * model (class 1 when its probability reaches it, class 0 with 1 − p otherwise), the per-class threshold
   * of a multi-label one.
   */
  readonly threshold?: number;
  /** PaddleClas's attribute post-processing (attr_rec.py), reproduced by `paddleClasAttributes`. */
  readonly postprocess?: AttributePostprocess;
}

const HOST = 'https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/legendary_models/';
const PADDLEX = 'https://paddle-model-ecology.bj.bcebos.com/paddlex/official_inference_model/paddle3.0.0/';
// PULC archives: PaddleClas docs/zh_CN/models/PULC/model_list.md (and the PP-DataClean README for code_exists,
// clarity_assessment and image_orientation), all under this folder.
const PULC = 'https://paddleclas.bj.bcebos.com/models/PULC/inference/';
// ImageNet inference archives: PaddleClas docs (PP-LCNet model page and the model list), beside the .pdparams.
const IMAGENET_INFER = 'https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/inference/';
const LICENSE = 'Apache-2.0 (PaddlePaddle Authors)';

function paddlex(name: string, description: string, extra: Partial<ZooEntry> = {}): ZooEntry {
  return {
    name,
    aliases: [],
    description,
    format: 'inference',
    urls: [`${PADDLEX}${name}_infer.tar`],
    metrics: {},
    license: LICENSE,
    ...extra,
  };
}

function pulc(task: string, description: string, extra: Partial<ZooEntry> = {}): ZooEntry {
  return {
    name: `PULC_${task}`,
    aliases: [`pulc-${task.replace(/_/g, '-')}`],
    description: `${description} (PaddleClas PULC, PPLCNet_x1_0 backbone)`,
    format: 'inference',
    urls: [`${PULC}${task}_infer.tar`],
    preprocess: IMAGENET_PREPROCESS,
    metrics: {},
    license: LICENSE,
    ...extra,
  };
}

const TEXTLINE_PREPROCESS: Preprocess = Object.freeze({ ...IMAGENET_PREPROCESS, resize: { mode: 'exact' as const, width: 160, height: 80 }, crop: undefined });
const XEON = 'Intel Xeon Gold 6148, batch 1, 10 threads, FP32, MKLDNN (PaddleClas)';

function imagenet(tag: string, scale: number, m: PublishedMetrics, ssld = false): ZooEntry {
  const name = `PPLCNet_x${tag}${ssld ? '_ssld' : ''}`;
  return {
    name,
    aliases: [`pp-lcnet_x${tag}${ssld ? '_ssld' : ''}`],
    description: `PP-LCNet x${tag.replace('_', '.')} ImageNet-1k classifier${ssld ? ' (SSLD distilled)' : ''}`,
    format: 'pdparams',
    urls: [`${HOST}${name}_pretrained.pdparams`],
    architecture: { scale },
    inputSize: [224, 224],
    preprocess: IMAGENET_PREPROCESS,
    labels: 'imagenet1k',
    metrics: m,
    license: LICENSE,
  };
}


/**
 * PULC traffic_sign's 232 class codes, by class id: PaddleClas ppcls/utils/PULC_label_list/
 * traffic_sign_label_list.txt ("id code" lines, 1,823 bytes; read through the source index and checked: ids
 * 0..231 in order, every code distinct, the same byte count).
 */
const TRAFFIC_SIGN_LABELS: readonly string[] = Object.freeze(
  (
    'pl80 w9 p6 ph4.2 i8 w14 w33 pa13 im w58 pl90 il70 p5 pm55 pl60 ip p11 pdd wc i2r w30 pmr p23 pl15 pm10 ' +
    'pss w1 p4 w38 w50 w34 pw3.5 iz w39 w11 p1n pr70 pd pnl pg ph5.3 w66 il80 pb pbm pm5 w24 w67 w49 pm40 ph4 ' +
    'w45 i4 w37 ph2.6 pl70 ph5.5 i14 i11 p7 p29 pne pr60 pm13 ph4.5 p12 p3 w40 pl5 w13 pr10 p14 i4l pr30 pw4.2 ' +
    'w16 p17 ph3 i9 w15 w35 pa8 pt pr45 w17 pl30 pcs pctl pr50 ph4.4 pm46 pm35 i15 pa12 pclr i1 pcd pbp pcr ' +
    'w28 ps pm8 w18 w2 w52 ph2.9 ph1.8 pe p20 w36 p10 pn pa14 w54 ph3.2 p2 ph2.5 w62 w55 pw3 pw4.5 i12 ph4.3 ' +
    'phclr i10 pr5 i13 w10 p26 w26 p8 w5 w42 il50 p13 pr40 p25 w41 pl20 ph4.8 pnlc ph3.3 w29 ph2.1 w53 pm30 ' +
    'p24 p21 pl40 w27 pmb pc i6 pr20 p18 ph3.8 pm50 pm25 i2 w22 w47 w56 pl120 ph2.8 i7 w12 pm1.5 pm2.5 w32 ' +
    'pm15 ph5 w19 pw3.2 pw2.5 pl10 il60 w57 w48 w60 pl100 pr80 p16 pl110 w59 w64 w20 ph2 p9 il100 w31 w65 ph2.4 ' +
    'pr100 p19 ph3.5 pa10 pcl pl35 p15 w7 pa6 phcs w43 p28 w6 w3 w25 pl25 il110 p1 w46 pn-2 w51 w44 w63 w23 ' +
    'pm20 w8 pmblr w4 i5 il90 w21 p27 pl50 pl65 w61 ph2.2 pm2 i3 pa18 pw4'
  ).split(' '),
);

/** PaddleClas's pedestrian attributes in output order (PA-100K's 26, as PaddleDetection's PP-Human attribute
 * docs tabulate them and PaddleClas ppcls/data/postprocess/attr_rec.py `PersonAttribute` indexes them). */
export const PERSON_ATTRIBUTES: readonly string[] = Object.freeze([
  'Hat', 'Glasses', 'ShortSleeve', 'LongSleeve', 'UpperStride', 'UpperLogo', 'UpperPlaid', 'UpperSplice',
  'LowerStripe', 'LowerPattern', 'LongCoat', 'Trousers', 'Shorts', 'Skirt&Dress', 'boots',
  'HandBag', 'ShoulderBag', 'Backpack', 'HoldObjectsInFront', 'AgeOver60', 'Age18-60', 'AgeLess18',
  'Female', 'Front', 'Side', 'Back',
]);

/** attr_rec.py `VehicleAttribute`: 10 colours (indices 0..9) then 9 types (10..18). */
export const VEHICLE_ATTRIBUTES: readonly string[] = Object.freeze([
  'yellow', 'orange', 'green', 'gray', 'red', 'blue', 'white', 'golden', 'brown', 'black',
  'sedan', 'suv', 'van', 'hatchback', 'mpv', 'pickup', 'bus', 'truck', 'estate',
]);

/** attr_rec.py `TableAttribute`: each index is one yes/no attribute, named by its "yes" side (above 0.5). */
export const TABLE_ATTRIBUTES: readonly string[] = Object.freeze(['Scanned', 'Little', 'Black-and-White', 'Clear', 'Without-Obstacles', 'Horizontal']);

const MULTI_LABEL = { head: 'sigmoid' as const, threshold: 0.5, topk: 3 };
// PaddleClas ResizeImage `size: [w, h]` of deploy/configs/PULC/<task>/inference_<task>.yaml, no crop
const exactResize = (width: number, height: number): Preprocess => Object.freeze({ ...IMAGENET_PREPROCESS, resize: { mode: 'exact' as const, width, height }, crop: undefined });

/** Multi-label attribute models (PULC and PaddleX) and PULC's data-cleaning classifiers. */
const ATTRIBUTE_AND_DATA_CLEANING_MODELS: readonly ZooEntry[] = [
  pulc('person_attribute', 'pedestrian attributes, multi-label (26: PA-100K)', {
    ...MULTI_LABEL,
    postprocess: 'PersonAttribute',
    labels: PERSON_ATTRIBUTES,
    inputSize: [256, 192],
    preprocess: exactResize(192, 256),
    metrics: { meanAccuracy: 78.59, latencyMs: 2.01, hardware: 'Intel Xeon Gold 6148, 10 threads, MKLDNN (PaddleClas)', source: 'PaddleClas PULC model list (mA)' },
  }),
  pulc('vehicle_attribute', 'vehicle colour and type, multi-label (19: 10 colours, 9 types)', {
    ...MULTI_LABEL,
    postprocess: 'VehicleAttribute',
    labels: VEHICLE_ATTRIBUTES,
    inputSize: [192, 256],
    preprocess: exactResize(256, 192),
    metrics: { meanAccuracy: 90.81, latencyMs: 2.36, hardware: 'Intel Xeon Gold 6148, 10 threads, MKLDNN (PaddleClas)', source: 'PaddleClas PULC model list (mA)' },
  }),
  pulc('table_attribute', 'table image attributes, multi-label (6 yes/no attributes)', {
    ...MULTI_LABEL,
    postprocess: 'TableAttribute',
    labels: TABLE_ATTRIBUTES,
    inputSize: [224, 224],
    preprocess: exactResize(224, 224),
    metrics: { meanAccuracy: 88.1, latencyMs: 2.58, hardware: 'Intel Xeon Gold 6148, 10 threads, MKLDNN (PaddleClas)', source: 'PaddleClas docs/zh_CN/models/PULC/model_list.md' },
  }),
  // PP-DataClean (PaddleClas): deploy/configs/PULC/<task>/inference_<task>.yaml give labels and thresholds
  pulc('code_exists', 'does the image contain a QR code, bar code or mini-program code', { labels: ['no_code', 'contains_code'], threshold: 0.5 }),
  pulc('clarity_assessment', 'is the image clear or blurred', { labels: ['clear', 'blur'], threshold: 0.5 }),
  // ppcls/utils/PULC_label_list/image_orientation_label_list.txt; inference_image_orientation.yaml shows top 2
  pulc('image_orientation', 'image orientation (0, 90, 180, 270 degrees)', { labels: ['0°', '90°', '180°', '270°'], topk: 2 }),
  // PaddleX module docs (pedestrian/vehicle attribute recognition): mA on PaddleX's own data / VeRi
  paddlex('PP-LCNet_x1_0_pedestrian_attribute', 'PaddleX pedestrian attributes, multi-label (26)', {
    ...MULTI_LABEL,
    postprocess: 'PersonAttribute',
    labels: PERSON_ATTRIBUTES,
    metrics: { meanAccuracy: 92.2, source: 'PaddleX pedestrian_attribute_recognition module docs (mA, PaddleX internal data)' },
  }),
  paddlex('PP-LCNet_x1_0_vehicle_attribute', 'PaddleX vehicle colour and type, multi-label (19)', {
    ...MULTI_LABEL,
    postprocess: 'VehicleAttribute',
    labels: VEHICLE_ATTRIBUTES,
    metrics: { meanAccuracy: 91.7, source: 'PaddleX vehicle_attribute_recognition module docs (mA, VeRi)' },
  }),
];

/** PaddleClas's ImageNet inference archives (`…/dygraph/inference/PPLCNet_x*_infer.tar`), SSLD included. */
const IMAGENET_INFERENCE_MODELS: readonly ZooEntry[] = (
  [['0_25'], ['0_35'], ['0_5'], ['0_75'], ['1_0'], ['1_5'], ['2_0'], ['2_5'], ['0_5', true], ['1_0', true], ['2_5', true]] as const
).map(([tag, ssld]) => {
  const name = `PPLCNet_x${tag}${ssld ? '_ssld' : ''}_infer`;
  return {
    name,
    aliases: [],
    description: `PP-LCNet x${tag.replace('_', '.')} ImageNet-1k classifier${ssld ? ' (SSLD distilled)' : ''}, Paddle inference archive`,
    format: 'inference' as const,
    urls: [`${IMAGENET_INFER}${name}.tar`],
    inputSize: [224, 224] as const,
    preprocess: IMAGENET_PREPROCESS,
    labels: 'imagenet1k' as const,
    metrics: { source: `as the .pdparams record ${name.replace(/_infer$/, '')}` },
    license: LICENSE,
  };
});

export const ZOO: readonly ZooEntry[] = Object.freeze([
  {
    name: 'PP-LCNet_x0_25_textline_ori',
    aliases: ['textline', 'textline_ori'],
    description: 'PaddleOCR/PaddleX text-line orientation (0 vs 180 degrees), ships with pplcnet',
    format: 'packaged',
    urls: [],
    packaged: 'PP-LCNet_x0_25_textline_ori',
    architecture: { scale: 0.25, classNum: 2, useLastConv: false, strideList: [[1, 2], [2, 1], [2, 1], [2, 1], [2, 1]] },
    inputSize: [80, 160],
    preprocess: { ...TEXTLINE_PREPROCESS, normalization: 'paddlex' },
    labels: ['0_degree', '180_degree'],
    metrics: { top1: 95.54, paramsM: 0.08 },
    // The shipped weights (321,104-byte inference.pdiparams, no last conv) are PaddleX's first
    // PP-LCNet_x0_25_textline_ori, published at top-1 95.54 (PaddleX docs/module_usage/tutorials/ocr_modules/
    // textline_orientation_classification before 2025-05-26). The 98.85 PaddleX quotes today belongs to the
    // model it published on 2025-05-26 (0.96 MB, last conv kept), which pplcnet does not ship.
    version: 'PaddleX PP-LCNet_x0_25_textline_ori before the 2025-05-26 upgrade (top-1 95.54)',
    license: LICENSE,
  },
  paddlex('PP-LCNet_x1_0_textline_ori', 'PaddleOCR/PaddleX text-line orientation (0 vs 180 degrees), x1.0', {
    aliases: ['textline_x1_0'],
    labels: ['0_degree', '180_degree'],
    metrics: { top1: 99.42 },
  }),
  paddlex('PP-LCNet_x1_0_doc_ori', 'PaddleOCR/PaddleX document orientation (0, 90, 180, 270 degrees)', {
    aliases: ['doc_ori'],
    labels: ['0', '90', '180', '270'],
    metrics: { top1: 99.06 },
  }),
  paddlex('PP-LCNet_x1_0_table_cls', 'PaddleX table classification (wired vs wireless tables)', { aliases: ['table_cls'],
    labels: ['wired_table', 'wireless_table'],
  }),
  pulc('person_exists', 'is there a person in the image', { labels: ['nobody', 'someone'], metrics: { latencyMs: 2.58, hardware: 'Intel Xeon Gold 6148, 10 threads, MKLDNN (PaddleClas)',
    source: 'latency from PaddleClas PULC model list (docs/*/PULC/PULC_model_list*.md); the task page PULC_person_exists quotes 2.12 ms for the same PPLCNet_x1_0' },
    threshold: 0.5,
  }),
  pulc('car_exists', 'is there a car in the image', { metrics: { latencyMs: 2.38, hardware: 'Intel Xeon Gold 6148, 10 threads, MKLDNN (PaddleClas)',
    source: 'latency from PaddleClas PULC model list (docs/*/PULC/PULC_model_list*.md); the task page PULC_car_exists quotes 2.12 ms for the same PPLCNet_x1_0' },
    // deploy/configs/PULC/car_exists/inference_car_exists.yaml ThreshOutput label_0/label_1 (one version spells label_0 'nocar')
    labels: ['no_car', 'contains_car'],
    threshold: 0.5,
  }),
  pulc('safety_helmet', 'is the person wearing a safety helmet', { metrics: { latencyMs: 2.03, hardware: 'Intel Xeon Gold 6148, 10 threads, MKLDNN (PaddleClas)' },
    // inference_safety_helmet.yaml ThreshOutput; one stored version of the file sets threshold 0.9, the others 0.5
    labels: ['wearing_helmet', 'unwearing_helmet'],
    threshold: 0.5,
  }),
  pulc('traffic_sign', 'traffic sign classification (232 classes)', { metrics: { top1: 98.35, latencyMs: 2.1, hardware: 'Intel Xeon Gold 6148, 10 threads, MKLDNN (PaddleClas)' },
    labels: TRAFFIC_SIGN_LABELS,
  }),
  pulc('text_image_orientation', 'text image orientation (0, 90, 180, 270 degrees)', {
    labels: ['0', '90', '180', '270'],
    metrics: { top1: 99.06, latencyMs: 2.16, hardware: 'Intel Xeon Gold 6148, 10 threads, MKLDNN (PaddleClas)' },
  }),
  pulc('textline_orientation', 'text-line orientation (0 vs 180 degrees)', {
    labels: ['0_degree', '180_degree'],
    preprocess: TEXTLINE_PREPROCESS,
    metrics: { top1: 96.01, latencyMs: 2.72, hardware: 'Intel Xeon Gold 6148, 10 threads, MKLDNN (PaddleClas)' },
  }),
  pulc('language_classification', 'script/language of a text line (10 classes)', {
    preprocess: TEXTLINE_PREPROCESS,
    // ppcls/utils/PULC_label_list/language_classification_label_list.txt
    labels: ['arabic', 'chinese_cht', 'cyrillic', 'devanagari', 'japan', 'ka', 'korean', 'ta', 'te', 'latin'],
    metrics: { top1: 99.26, latencyMs: 2.58, hardware: 'Intel Xeon Gold 6148, 10 threads, MKLDNN (PaddleClas)' },
  }),
  ...ATTRIBUTE_AND_DATA_CLEANING_MODELS,
  imagenet('0_25', 0.25, { paramsM: 1.5, flopsM: 18, top1: 51.86, top5: 75.65, latencyMs: 1.74, hardware: XEON }),
  imagenet('0_35', 0.35, { paramsM: 1.6, flopsM: 29, top1: 58.09, top5: 80.83, latencyMs: 1.92, hardware: XEON }),
  imagenet('0_5', 0.5, { paramsM: 1.9, flopsM: 47, top1: 63.14, top5: 84.66, latencyMs: 2.05, hardware: XEON }),
  imagenet('0_75', 0.75, { paramsM: 2.4, flopsM: 99, top1: 68.18, top5: 88.3, latencyMs: 2.29, hardware: XEON }),
  imagenet('1_0', 1.0, { paramsM: 3.0, flopsM: 161, top1: 71.32, top5: 90.03, latencyMs: 2.46, hardware: XEON }),
  imagenet('1_5', 1.5, { paramsM: 4.5, flopsM: 342, top1: 73.71, top5: 91.53, latencyMs: 3.19, hardware: XEON }),
  imagenet('2_0', 2.0, { paramsM: 6.5, flopsM: 590, top1: 75.18, top5: 92.27, latencyMs: 4.27, hardware: XEON }),
  imagenet('2_5', 2.5, { paramsM: 9.0, flopsM: 906, top1: 76.6, top5: 93.0, latencyMs: 5.39, hardware: XEON }),
  imagenet('0_5', 0.5, { paramsM: 1.9, flopsM: 47, top1: 66.1, top5: 86.46 }, true),
  imagenet('1_0', 1.0, { paramsM: 3.0, flopsM: 161, top1: 74.39, top5: 92.09 }, true),
  imagenet('2_5', 2.5, { paramsM: 9.0, flopsM: 906, top1: 80.82, top5: 95.33 }, true),
  ...IMAGENET_INFERENCE_MODELS,
]);

/**
 * The zoo in effect: the built-in records, plus (overriding by name) those of the JSON array in
 * `$PPLCNET_REGISTRY`, for an organization's own models or an internal registry.
 */
export function loadZoo(env: NodeJS.ProcessEnv = process.env): readonly ZooEntry[] {
  const file = env.PPLCNET_REGISTRY;
  if (!file) return ZOO;
  let extra: unknown;
  // a regular file of at most FILE_LIMITS.registry (a FIFO or /dev/zero is refused, not read)
  const text = readTextBoundedSync(file, FILE_LIMITS.registry, `PPLCNET_REGISTRY=${file}`);
  try {
    extra = JSON.parse(text);
  } catch (err) {
    throw new PplcnetError('E_IO', `PPLCNET_REGISTRY=${file}: cannot read it as JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(extra)) throw new PplcnetError('E_FORMAT', `PPLCNET_REGISTRY=${file}: expected a JSON array of model records`);
  const entries = extra.map((e: Record<string, unknown>, i) => {
    const where = `PPLCNET_REGISTRY=${file}: record ${i}`;
    if (!e || typeof e.name !== 'string' || !['pdparams', 'inference'].includes(String(e.format)) || !Array.isArray(e.urls) || e.urls.length === 0) {
      throw new PplcnetError('E_FORMAT', `${where} needs a name, a format (pdparams or inference) and urls`);
    }
    // names become folders in the cache: plain names only
    for (const n of [e.name, ...(Array.isArray(e.aliases) ? e.aliases : [])]) {
      if (!isPlainName(n)) throw new PplcnetError('E_FORMAT', `${where}: the name ${JSON.stringify(n)} is not a plain name (letters, digits, '.', '_', '+', '-'; no '/', '\\' or '..')`);
    }
    if (e.aliases !== undefined && !Array.isArray(e.aliases)) throw new PplcnetError('E_FORMAT', `${where}: aliases must be an array of names`);
    for (const u of e.urls as unknown[]) {
      if (typeof u !== 'string' || !/^https?:\/\//i.test(u)) throw new PplcnetError('E_FORMAT', `${where}: the URL ${JSON.stringify(u)} is not an http or https URL`);
    }
    if (e.sha256 !== undefined && (typeof e.sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(e.sha256))) {
      throw new PplcnetError('E_FORMAT', `${where}: sha256 must be 64 hex digits, found ${JSON.stringify(e.sha256)}`);
    }
    if (e.sizeBytes !== undefined && !(Number.isSafeInteger(e.sizeBytes) && (e.sizeBytes as number) > 0)) {
      throw new PplcnetError('E_FORMAT', `${where}: sizeBytes must be a positive integer (bytes), found ${JSON.stringify(e.sizeBytes)}`);
    }
    return { aliases: [], description: '', metrics: {}, license: 'unknown', ...e } as unknown as ZooEntry;
  });
  const names = new Set(entries.map((e) => e.name.toLowerCase()));
  return [...ZOO.filter((e) => !names.has(e.name.toLowerCase())), ...entries];
}

/** Find an entry by name or alias (case-insensitive; aliases never repeat a name). */
export function findZooEntry(name: string, zoo: readonly ZooEntry[] = loadZoo()): ZooEntry | undefined {
  const n = name.toLowerCase();
  return zoo.find((e) => e.name.toLowerCase() === n || e.aliases.some((a) => a.toLowerCase() === n));
}

/**
 * Optimal string alignment distance (Damerau–Levenshtein without repeated edits of a substring), case
 * folded: the measure commander uses to suggest commands and options.
 */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev2: number[] = [];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      row.push(d);
    }
    prev2 = prev;
    prev = row;
  }
  return prev[y.length]!;
}

/**
 * The zoo names nearest to `name` (those at the smallest distance found, at most `max`): by edit distance over
 * names and aliases (an alias is shown with its model's name), within a quarter of the longer string (at
 * least 2 edits); a name that extends what was typed (`…_textline` → `…_textline_ori`) counts as 2 edits.
 */
export function nearestZooNames(name: string, zoo: readonly ZooEntry[] = loadZoo(), max = 3): string[] {
  const scored: { text: string; d: number }[] = [];
  for (const e of zoo) {
    let best: { text: string; d: number } | undefined;
    for (const [candidate, text] of [[e.name, e.name], ...e.aliases.map((a) => [a, `${a} (${e.name})`] as const)] as const) {
      const extends_ = name.length >= 4 && candidate.toLowerCase().startsWith(name.toLowerCase());
      const d = extends_ ? Math.min(2, editDistance(name, candidate)) : editDistance(name, candidate);
      if (d <= Math.max(2, Math.floor(Math.max(name.length, candidate.length) / 4)) && (!best || d < best.d)) best = { text, d };
    }
    if (best) scored.push(best);
  }
  scored.sort((a, b) => a.d - b.d || a.text.localeCompare(b.text));
  return scored.filter((s) => s.d === scored[0]!.d).slice(0, max).map((s) => s.text);
}

/** What to say after "not a zoo model": the nearest names, and where the whole list is. */
export function zooNameHint(name: string, zoo: readonly ZooEntry[] = loadZoo()): string {
  const near = nearestZooNames(name, zoo);
  const list = `'pplcnet zoo list' shows all ${zoo.length}`;
  return near.length ? `did you mean ${near.length === 1 ? near[0] : `one of ${near.join(', ')}`}? (${list})` : list;
}

/** The zoo record of `name` (or an alias); a typed error naming the command that lists them when there is none. */
export function requireZooEntry(name: string): ZooEntry {
  const e = findZooEntry(name);
  if (!e) throw new PplcnetError('E_MODEL', `'${name}' is not a zoo model; ${zooNameHint(name)}`);
  return e;
}
