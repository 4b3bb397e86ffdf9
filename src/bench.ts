/**
 * Benchmarking a model end to end: resolve it (any form `--model` takes) or build a PP-LCNet in memory,
 * read its input size and multiply-adds from its metadata, measure the machine's matmul peak per thread
 * count, then time every (threads, batch) pair; with images, also a folder run through the classifier's
 * stream (decode, preprocess, queue wait and inference of each image).
 */
import { countMultiplyAdds, resolveArchitecture } from './builder/architecture.js';
import { buildPPLCNet } from './builder/pplcnet.js';
import { createClassifier } from './classifier.js';
import type { ExecutionPlan } from './classifier/plan.js';
import { PplcnetError } from './errors.js';
import { type ExpandedInputs, expandImageInputs } from './util/inputs.js';
import { parseMetadata } from './metadata.js';
import { readMetadataProps } from './onnx/metadata-props.js';
import { type BenchOptions, type BenchResult, benchModel, measureMatmulPeak, percentile } from './runtime/bench.js';
import { type ResolveOptions, resolveModel } from './models/resolve.js';

export interface ModelBenchOptions extends Omit<BenchOptions, 'inputSize' | 'multiplyAdds' | 'peak'>, Omit<ResolveOptions, 'build' | 'weights'> {
  /** A zoo name or model path; absent: a PP-LCNet at `scale` built in memory. */
  model?: string;
  /** Scale of the model built in memory when no `model` is given. [1.0] */
  scale?: number;
  /** Measure the fp32 matmul peak at each thread count first. [true] */
  peak?: boolean;
  /** Images (files, folders, globs) for a folder run after the (threads, batch) table. [none] */
  images?: readonly string[];
  /** How the folder run shares the cores; absent fields are planned as `createClassifier` plans them. */
  folder?: FolderRunOptions;
}

export interface FolderRunOptions {
  /** Intra-op threads (0 or absent: planned). */
  threads?: number;
  /** Preprocessing worker threads (absent: planned). */
  workers?: number;
  /** Images per onnxruntime run (absent: planned). */
  batchSize?: number;
}

/** Mean and percentiles of one stage's per-image milliseconds. */
export interface StageStats {
  readonly mean: number;
  readonly p50: number;
  readonly p95: number;
  /** Summed over the images. */
  readonly total: number;
}

/** Where one image's time went in a folder run (ms). */
export interface ImageTime {
  readonly file: string;
  readonly decodeMs: number;
  /** Resize, crop and normalize. */
  readonly preprocessMs: number;
  /** Waiting for a preprocessing worker. */
  readonly queueMs: number;
  /** This image's share of its batch's onnxruntime run: batchInferenceMs ÷ batchSize. */
  readonly inferenceMs: number;
}

/** A folder run: every image classified once through `classifyStream`. */
export interface FolderBenchResult {
  readonly plan: ExecutionPlan;
  /** Images classified. */
  readonly images: number;
  /** Images that failed (not in `perImage` nor in the stage figures). */
  readonly failed: readonly { readonly file: string; readonly message: string }[];
  /** Paths the expansion skipped (not regular files, duplicates, …). */
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
  /** From the first image handed to the stream to the last result. */
  readonly wallMs: number;
  readonly imagesPerSec: number;
  readonly stages: { readonly decode: StageStats; readonly preprocess: StageStats; readonly queue: StageStats; readonly inference: StageStats };
  /** Each classified image, in input order. */
  readonly perImage: readonly ImageTime[];
}

/** What is measured: known before the first timed run. */
export interface BenchSubject {
  /** A display name. */
  readonly name: string;
  readonly inputSize: readonly [number, number];
  /** Multiply-adds of one image, when the model records its architecture. */
  readonly multiplyAdds?: number;
  /** Matmul peak in GFLOP/s per thread count (empty when not measured). */
  readonly peak: ReadonlyMap<number, number>;
}

export interface ModelBenchReport extends BenchSubject {
  readonly results: readonly BenchResult[];
  /** The folder run, when images were given. */
  readonly folder?: FolderBenchResult;
}

export function stageStats(values: readonly number[]): StageStats {
  const sorted = [...values].sort((a, b) => a - b);
  const total = values.reduce((a, b) => a + b, 0);
  return { mean: values.length ? total / values.length : NaN, p50: percentile(sorted, 50), p95: percentile(sorted, 95), total };
}

/**
 * Classify every image of `images` once through the classifier's stream, and gather where each image's
 * time went. `model` is any form `createClassifier` takes (ONNX bytes included).
 */
export async function benchmarkFolder(
  model: Parameters<typeof createClassifier>[0]['model'],
  images: readonly string[],
  options: FolderRunOptions & Omit<ModelBenchOptions, 'model' | 'scale' | 'peak' | 'images' | 'folder' | 'threads' | 'batches' | 'runs' | 'warmup'> = {},
): Promise<FolderBenchResult> {
  return folderRun(model, await expandFolder(images), options);
}

/** The images of `images`, or an E_IO error when there are none. */
async function expandFolder(images: readonly string[]): Promise<ExpandedInputs> {
  const expanded = await expandImageInputs(images);
  const { files, skipped } = expanded;
  if (files.length === 0) throw new PplcnetError('E_IO', `no images found in ${images.join(', ')}${skipped.length ? ` (${skipped.length} skipped; ${skipped[0]!.path}: ${skipped[0]!.reason})` : ''}; --images takes image files, folders and glob patterns`);
  return expanded;
}

async function folderRun(
  model: Parameters<typeof createClassifier>[0]['model'],
  { files, skipped }: ExpandedInputs,
  options: FolderRunOptions & Omit<ModelBenchOptions, 'model' | 'scale' | 'peak' | 'images' | 'folder' | 'threads' | 'batches' | 'runs' | 'warmup'>,
): Promise<FolderBenchResult> {
  const { threads, workers, batchSize, ...rest } = options;
  const clf = await createClassifier({ ...rest, model, ...(threads ? { threads } : {}), ...(workers !== undefined ? { workers } : {}), ...(batchSize !== undefined ? { batchSize } : {}) });
  try {
    const perImage: ImageTime[] = [];
    const failed: { file: string; message: string }[] = [];
    let k = 0;
    const t0 = performance.now();
    for await (const batch of clf.classifyStream(files)) {
      for (const r of batch) {
        const file = files[k++]!;
        if (r instanceof Error) failed.push({ file, message: r.message });
        else {
          const t = r.timings;
          perImage.push({ file, decodeMs: t.decodeMs, preprocessMs: t.preprocessMs, queueMs: t.queueMs, inferenceMs: t.batchInferenceMs / t.batchSize });
        }
      }
    }
    const wallMs = performance.now() - t0;
    const of = (key: keyof Omit<ImageTime, 'file'>): StageStats => stageStats(perImage.map((p) => p[key]));
    return {
      plan: clf.plan,
      images: perImage.length,
      failed,
      skipped: skipped.map((s) => ({ path: s.path, reason: s.reason })),
      wallMs,
      imagesPerSec: (1000 * perImage.length) / wallMs,
      stages: { decode: of('decodeMs'), preprocess: of('preprocessMs'), queue: of('queueMs'), inference: of('inferenceMs') },
      perImage,
    };
  } finally {
    await clf.close();
  }
}

/** Benchmark a model; `onReady` hears the subject once the peaks are measured, `onResult` each configuration. */
export async function benchmarkModel(
  options: ModelBenchOptions = {},
  hooks: { onReady?: (subject: BenchSubject) => void; onResult?: (result: BenchResult) => void; onFolder?: (folder: FolderBenchResult) => void } = {},
): Promise<ModelBenchReport> {
  const { model, scale = 1.0, peak: measurePeak = true, threads = [0], batches, runs, warmup, cacheDir, mirror, offline, onProgress, images, folder: folderOptions = {}, ...session } = options;
  // the images are looked for first: a typo fails at once, not after the measurements
  const expanded = images?.length ? await expandFolder(images) : undefined;
  let bytes: Uint8Array;
  let name: string;
  if (model) {
    const r = await resolveModel(model, { ...(cacheDir ? { cacheDir } : {}), ...(mirror ? { mirror } : {}), ...(offline !== undefined ? { offline } : {}), ...(onProgress ? { onProgress } : {}) });
    bytes = r.bytes;
    name = r.name;
  } else {
    bytes = buildPPLCNet({ scale }, {}).bytes;
    name = `PP-LCNet x${scale} (built in memory)`;
  }
  const meta = parseMetadata(readMetadataProps(bytes));
  const inputSize = (meta.inputSize ?? [224, 224]) as [number, number];
  const multiplyAdds = meta.architecture ? countMultiplyAdds(resolveArchitecture(meta.architecture), inputSize) : undefined;
  const peak = new Map<number, number>();
  if (measurePeak) for (const t of threads) peak.set(t, await measureMatmulPeak(t, session));
  const subject: BenchSubject = { name, inputSize, ...(multiplyAdds ? { multiplyAdds } : {}), peak };
  hooks.onReady?.(subject);
  const results = await benchModel(
    bytes,
    { ...session, threads, ...(batches ? { batches } : {}), ...(runs !== undefined ? { runs } : {}), ...(warmup !== undefined ? { warmup } : {}), inputSize, ...(multiplyAdds ? { multiplyAdds } : {}), peak },
    hooks.onResult,
  );
  if (!expanded) return { ...subject, results };
  const folder = await folderRun(bytes, expanded, { ...session, ...folderOptions });
  hooks.onFolder?.(folder);
  return { ...subject, results, folder };
}
