/**
 * The model zoo: one record per model, data only. Each names where its files come from, their format,
 * the architecture, preprocessing and labels, and the published figures.
 */
import type { ArchitectureOptions } from '../builder/architecture.js';
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
  /** Folder under the package's models/ for packaged models. */
  readonly packaged?: string;
  readonly architecture: ArchitectureOptions;
  /** Network input (h, w). */
  readonly inputSize: readonly [number, number];
  readonly preprocess: Preprocess;
  /** `imagenet1k` for the shipped ImageNet names, or the class names. */
  readonly labels: 'imagenet1k' | readonly string[];
  readonly metrics: PublishedMetrics;
  readonly license: string;
}

const HOST = 'https://paddle-imagenet-models-name.bj.bcebos.com/dygraph/legendary_models/';
const XEON = 'Intel Xeon Gold 6148, batch 1, 10 threads, FP32, MKLDNN (PaddleClas)';

function imagenet(tag: string, scale: number, m: PublishedMetrics, ssld = false): ZooEntry {
  const name = `PPLCNet_x${tag}${ssld ? '_ssld' : ''}`;
  return {
    name,
    aliases: [name.toLowerCase(), `pp-lcnet_x${tag}${ssld ? '_ssld' : ''}`],
    description: `PP-LCNet x${scale} ImageNet-1k classifier${ssld ? ' (SSLD distilled)' : ''}`,
    format: 'pdparams',
    urls: [`${HOST}${name}_pretrained.pdparams`],
    architecture: { scale },
    inputSize: [224, 224],
    preprocess: IMAGENET_PREPROCESS,
    labels: 'imagenet1k',
    metrics: m,
    license: 'Apache-2.0 (PaddlePaddle Authors)',
  };
}

export const ZOO: readonly ZooEntry[] = Object.freeze([
  {
    name: 'PP-LCNet_x0_25_textline_ori',
    aliases: ['textline', 'textline_ori', 'pp-lcnet_x0_25_textline_ori'],
    description: 'PaddleOCR/PaddleX text-line orientation (0 vs 180 degrees), ships with pplcnet',
    format: 'packaged',
    urls: [],
    packaged: 'PP-LCNet_x0_25_textline_ori',
    architecture: { scale: 0.25, classNum: 2, useLastConv: false, strideList: [[1, 2], [2, 1], [2, 1], [2, 1], [2, 1]] },
    inputSize: [80, 160],
    preprocess: { ...IMAGENET_PREPROCESS, resize: { mode: 'exact', width: 160, height: 80 }, crop: undefined, normalization: 'paddlex' },
    labels: ['0_degree', '180_degree'],
    metrics: {},
    license: 'Apache-2.0 (PaddlePaddle Authors)',
  },
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

/** Find an entry by name or alias (case-insensitive). */
export function findZooEntry(name: string, zoo: readonly ZooEntry[] = ZOO): ZooEntry | undefined {
  const n = name.toLowerCase();
  return zoo.find((e) => e.name.toLowerCase() === n || e.aliases.some((a) => a.toLowerCase() === n));
}
