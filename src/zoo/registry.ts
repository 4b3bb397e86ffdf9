/**
 * The model zoo: one record per model, data only. Each names where its files come from, their format,
 * the architecture, preprocessing and labels, and the published figures.
 */
import { readFileSync } from 'node:fs';
import type { ArchitectureOptions } from '../builder/architecture.js';
import { PplcnetError } from '../errors.js';
import { isPlainName } from './cache.js';
import { IMAGENET_PREPROCESS, type Preprocess } from '../metadata.js';

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
}

const HOST = 'https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/legendary_models/';
const PADDLEX = 'https://paddle-model-ecology.bj.bcebos.com/paddlex/official_inference_model/paddle3.0.0/';
const PULC = 'https://paddleclas.bj.bcebos.com/models/PULC/inference/';
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
    metrics: { top1: 98.85, paramsM: 0.08 },
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
  paddlex('PP-LCNet_x1_0_table_cls', 'PaddleX table classification (wired vs wireless tables)', { aliases: ['table_cls'] }),
  pulc('person_exists', 'is there a person in the image', { labels: ['nobody', 'someone'], metrics: { latencyMs: 2.58, hardware: 'Intel Xeon Gold 6148, 10 threads, MKLDNN (PaddleClas)' } }),
  pulc('car_exists', 'is there a car in the image', { metrics: { latencyMs: 2.38, hardware: 'Intel Xeon Gold 6148, 10 threads, MKLDNN (PaddleClas)' } }),
  pulc('safety_helmet', 'is the person wearing a safety helmet', { metrics: { latencyMs: 2.03, hardware: 'Intel Xeon Gold 6148, 10 threads, MKLDNN (PaddleClas)' } }),
  pulc('traffic_sign', 'traffic sign classification (232 classes)', { metrics: { top1: 98.35, latencyMs: 2.1, hardware: 'Intel Xeon Gold 6148, 10 threads, MKLDNN (PaddleClas)' } }),
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
    metrics: { top1: 99.26, latencyMs: 2.58, hardware: 'Intel Xeon Gold 6148, 10 threads, MKLDNN (PaddleClas)' },
  }),
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
]);

/**
 * The zoo in effect: the built-in records, plus (overriding by name) those of the JSON array in
 * `$PPLCNET_REGISTRY`, for an organization's own models or an internal registry.
 */
export function loadZoo(env: NodeJS.ProcessEnv = process.env): readonly ZooEntry[] {
  const file = env.PPLCNET_REGISTRY;
  if (!file) return ZOO;
  let extra: unknown;
  try {
    extra = JSON.parse(readFileSync(file, 'utf8'));
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
