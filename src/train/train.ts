/**
 * `trainClassifier`: a dataset and a pretrained backbone in, one deployable ONNX classifier out. Opens the
 * dataset (a split folder trains on `train_list.txt` and stops on `val_list.txt`, never reading
 * `test_list.txt`; a plain folder or a list is split in memory), computes the backbone's features once
 * (cached), trains the head on them, and splices it into the backbone.
 */
import { basename, resolve } from 'node:path';
import { PplcnetError, invalidOption } from '../errors.js';
import { readModelMetadata } from '../classifier/model.js';
import { type ModelSource, type ResolveOptions, resolveModel } from '../models/resolve.js';
import type { SessionOptions } from '../runtime/providers.js';
import { type Dataset, checkTrainable, classCounts, openDataset } from './dataset.js';
import { spliceHead, lastConvWeight } from './export.js';
import { type Augment, type FeatureSet, extractFeatures } from './features.js';
import { splitDataset } from './split.js';
import { type EpochReport, type FeatureRows, type TrainMode, type TrainedHead, balancedClassWeights, trainHead } from './trainer.js';

export interface TrainOptions extends SessionOptions, ResolveOptions {
  /** The backbone: a zoo name, a model file, ONNX bytes. */
  readonly model: ModelSource;
  /** A folder of class folders, a split folder (with `train_list.txt`) or a list file. */
  readonly data: string;
  /** ['head'] */
  readonly mode?: TrainMode;
  /** Augmented views of each training image. [none] */
  readonly augment?: Omit<Augment, 'seed'>;
  /** Fraction held out for validation when the dataset is not split already. [0.2] */
  readonly valFraction?: number;
  /** `balanced`: weigh each class by n / (classes · count) (single-label). ['none'] */
  readonly classWeight?: 'none' | 'balanced';
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly lr?: number;
  readonly weightDecay?: number;
  readonly patience?: number;
  readonly dropout?: number;
  /** Seed of the split, the augmentation, the shuffles and the initialization. [0] */
  readonly seed?: number;
  /** Name recorded in the model. [the dataset folder's name] */
  readonly name?: string;
  readonly noCache?: boolean;
  readonly workers?: number;
  readonly onEpoch?: (e: EpochReport) => void;
  readonly onFeatures?: (stage: 'train' | 'val', done: number, total: number) => void;
}

export interface TrainReport {
  /** The trained model's ONNX bytes. */
  readonly bytes: Uint8Array;
  readonly head: TrainedHead;
  readonly labels: readonly string[];
  readonly multiLabel: boolean;
  readonly backbone: string;
  readonly dataset: DatasetSummary;
  readonly features: { readonly train: FeatureStats; readonly val: FeatureStats; readonly dims: number; readonly views: number; readonly ms: number };
  readonly trainMs: number;
  /** Images that could not be read or decoded (left out), with their errors. */
  readonly failed: readonly { readonly file: string; readonly error: PplcnetError }[];
}

interface FeatureStats {
  readonly images: number;
  readonly cached: number;
  readonly computed: number;
}

export interface DatasetSummary {
  readonly source: string;
  readonly kind: 'list' | 'split' | 'folder';
  /** How validation was chosen: the split's `val_list.txt`, or an in-memory split of this fraction and seed. */
  readonly validation: string;
  readonly classes: number;
  readonly train: number;
  readonly val: number;
  /** Per class (multi-label: positives per label): [train, val]. */
  readonly perClass: Readonly<Record<string, readonly [number, number]>>;
}

function summarize(kind: DatasetSummary['kind'], source: string, validation: string, train: Dataset, val: Dataset | undefined): DatasetSummary {
  const tc = classCounts(train);
  const vc = val ? classCounts(val) : tc.map(() => 0);
  return {
    source,
    kind,
    validation,
    classes: train.labels.length,
    train: train.samples.length,
    val: val?.samples.length ?? 0,
    perClass: Object.fromEntries(train.labels.map((l, i) => [l, [tc[i]!, vc[i]!] as const])),
  };
}

/** Feature rows of a dataset (failed images left out and returned). */
function toRows(d: Dataset, f: FeatureSet): { rows: FeatureRows; failed: { file: string; error: PplcnetError }[] } {
  const k = d.labels.length;
  const ok: number[] = [];
  const failed: { file: string; error: PplcnetError }[] = [];
  f.rows.forEach((r, i) => (r instanceof Error ? failed.push({ file: d.samples[i]!.path, error: r }) : ok.push(i)));
  const n = ok.length * f.views;
  const x = new Float32Array(n * f.dims);
  const labels = new Int32Array(n);
  const targets = d.multiLabel ? new Uint8Array(n * k) : undefined;
  const group = new Int32Array(n);
  ok.forEach((i, j) => {
    x.set(f.rows[i] as Float32Array, j * f.views * f.dims);
    for (let v = 0; v < f.views; v++) {
      const r = j * f.views + v;
      labels[r] = d.samples[i]!.label;
      group[r] = j;
      if (targets) targets.set(d.samples[i]!.targets!, r * k);
    }
  });
  return { rows: { x, n, dims: f.dims, labels, ...(targets ? { targets } : {}), ...(f.views > 1 ? { group } : {}) }, failed };
}

/** Open the dataset and choose the validation set. */
async function datasets(options: TrainOptions): Promise<{ train: Dataset; val: Dataset | undefined; summary: DatasetSummary }> {
  const opened = await openDataset(options.data);
  let train = opened.train;
  let val = opened.val;
  let validation = opened.val ? `${opened.val.source}` : 'none';
  if (opened.kind !== 'split') {
    checkTrainable(train);
    const fraction = options.valFraction ?? 0.2;
    const split = splitDataset(train, { val: fraction, test: 0, seed: options.seed ?? 0 });
    [train, val] = [split.train, split.val.samples.length > 0 ? split.val : undefined];
    validation = `in-memory split: ${(fraction * 100).toFixed(0)}% of each class (seed ${split.seed})${val ? '' : ': no image (too few per class), so no early stopping'}`;
  }
  checkTrainable(train);
  return { train, val, summary: summarize(opened.kind, options.data, validation, train, val) };
}

export async function trainClassifier(options: TrainOptions): Promise<TrainReport> {
  const mode = options.mode ?? 'head';
  if (mode !== 'head' && mode !== 'last-conv') throw invalidOption('mode', "'head' or 'last-conv'", mode);
  const { train, val, summary } = await datasets(options);
  const resolved = await resolveModel(options.model, options);
  const backbone = readModelMetadata(resolved).name ?? resolved.name;
  // errors name the model as the user gave it (a zoo name or a path), not its converted file in the cache
  const given = typeof options.model === 'string' ? options.model : resolved.name;
  const lastConv = mode === 'last-conv' ? lastConvWeight(resolved.bytes, given) : undefined;
  const seed = options.seed ?? 0;
  const { augment: _augment, ...rest } = options;
  const common = { ...rest, layer: mode === 'head' ? ('embedding' as const) : ('gap' as const), workers: options.workers };
  const t0 = performance.now();
  const ft = await extractFeatures(resolved, train.samples.map((s) => s.path), { ...common, ...(options.augment ? { augment: { ...options.augment, seed } } : {}), onImages: (d, n) => options.onFeatures?.('train', d, n) });
  const fv = val ? await extractFeatures(resolved, val.samples.map((s) => s.path), { ...common, onImages: (d, n) => options.onFeatures?.('val', d, n) }) : undefined;
  const featureMs = performance.now() - t0;
  const tr = toRows(train, ft);
  const vr = val && fv ? toRows(val, fv) : undefined;
  if (tr.rows.n === 0) throw new PplcnetError('E_DATASET', `${options.data}: no training image could be read (first error: ${tr.failed[0]?.error.message ?? 'none'})`);
  const k = train.labels.length;
  const t1 = performance.now();
  const head = trainHead(tr.rows, vr?.rows, {
    mode,
    classes: k,
    multiLabel: train.multiLabel,
    ...(lastConv ? { lastConv: { weight: lastConv.weight, hidden: lastConv.hidden } } : {}),
    ...(options.classWeight === 'balanced' && !train.multiLabel ? { classWeights: balancedClassWeights(tr.rows.labels!, k) } : {}),
    ...pick(options, ['epochs', 'batchSize', 'lr', 'weightDecay', 'patience', 'dropout']),
    seed,
    ...(options.onEpoch ? { onEpoch: options.onEpoch } : {}),
  });
  const trainMs = performance.now() - t1;
  const name = options.name ?? basename(resolve(train.root));
  const bytes = spliceHead(resolved.bytes, head, {
    name,
    labels: train.labels,
    backbone,
    dataset: { ...summary, source: basename(resolve(options.data)) },
    validation: { accuracy: head.valAccuracy ?? null, metric: train.multiLabel ? 'per-label accuracy' : 'top-1 accuracy', epoch: head.bestEpoch, images: vr ? vr.rows.n : 0 },
  });
  const stats = (f: FeatureSet | undefined): FeatureStats => ({ images: f?.rows.length ?? 0, cached: f?.cached ?? 0, computed: f?.computed ?? 0 });
  return {
    bytes,
    head,
    labels: train.labels,
    multiLabel: train.multiLabel,
    backbone,
    dataset: summary,
    features: { train: stats(ft), val: stats(fv), dims: ft.dims, views: ft.views, ms: featureMs },
    trainMs,
    failed: [...tr.failed, ...(vr?.failed ?? [])],
  };
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
