/**
 * How a classifier shares the machine's cores: onnxruntime's intra-op threads, the preprocessing worker
 * threads and the batch size, chosen from the core count and the per-image costs measured by
 * `bench/folder-limit.ts` unless the caller fixes them.
 */
import { availableParallelism } from 'node:os';
import { countMultiplyAdds, resolveArchitecture } from '../builder/architecture.js';
import { invalidOption } from '../errors.js';
import type { ModelMetadata } from '../metadata.js';

/** The threads, workers and batch size a classifier runs with, and why. */
export interface ExecutionPlan {
  /** CPUs available to this process (`os.availableParallelism()`). */
  readonly cores: number;
  /** onnxruntime intra-op threads. */
  readonly threads: number;
  /** Preprocessing worker threads (each with two images in hand); 0: on the main thread. */
  readonly workers: number;
  /** Images per onnxruntime run in `classifyStream`. */
  readonly batchSize: number;
  /** Whether idle onnxruntime threads spin. */
  readonly spinning: boolean;
  /**
   * Inference lanes for `classifyStream` (0: none, the batches run on the main thread): worker threads with a
   * session each (one intra-op thread) that prepare and run whole batches side by side.
   */
  readonly lanes: number;
  /**
   * Whether `classifyStream` also runs batches on the calling thread (its own session, 1 intra-op thread)
   * beside the lanes, as one more lane: planned lanes on a machine where that session has one thread.
   */
  readonly hereLane?: boolean;
  /**
   * The fewest images for which a stream starts the preprocessing workers (0: any stream longer than a
   * batch); shorter streams prepare on the calling thread, with the decodes on the thread pool.
   */
  readonly streamWorkersFrom: number;
  /** The estimated CPU per image (ms, one core) the split was made from. */
  readonly estimate: { readonly preprocessMs: number; readonly inferenceMs: number };
  /** One line: what was chosen and why. */
  readonly reason: string;
}

export interface PlanOptions {
  threads?: number;
  workers?: number;
  batchSize?: number;
  spinning?: boolean;
  lanes?: number;
}

/**
 * Per-image CPU on one core, from `bench/folder-limit.ts` on a 2-core AVX-512 VM: decode + resize + crop +
 * normalize of a 640×480 JPEG (sharp decode 4–6 ms, the WebAssembly resize + normalize 0.7 ms), and inference
 * at batch 8 reaching about 40 GFLOP/s per core (PP-LCNet x1.0 at 224: 8 ms). Only their ratio matters:
 * both scale with the CPU.
 */
export const PREPROCESS_MS_ESTIMATE = 5.5;
const FLOPS_PER_MS_PER_CORE = 40e6;

/** Streams shorter than this run without preprocessing workers where they would not pay for their start (see planExecution). */
export const SHORT_STREAM_IMAGES = 500;

/** Estimated inference CPU per image (ms on one core) from the model's multiply-adds; undefined when unknown. */
export function inferenceEstimate(metadata: Pick<ModelMetadata, 'architecture' | 'inputSize'>): number | undefined {
  if (!metadata.architecture || !metadata.inputSize) return undefined;
  try {
    const macs = countMultiplyAdds(resolveArchitecture(metadata.architecture), metadata.inputSize);
    return (2 * macs) / FLOPS_PER_MS_PER_CORE;
  } catch {
    return undefined;
  }
}

function checked(name: string, v: number | undefined, min: number, max: number): number | undefined {
  if (v !== undefined && (!Number.isInteger(v) || v < min || v > max)) throw invalidOption(name, `an integer from ${min} to ${max}`, v);
  return v;
}

/**
 * Split the cores between inference and preprocessing in proportion to their estimated costs, so that
 * threads + workers = cores (no more, no spinning): workers = round(cores · pre / (pre + inference)), at least
 * 1 and at most cores − 1 (a 1-core machine prepares on the main thread). What the caller fixes is kept; the
 * rest fills the remaining cores (at least one of each where there are two cores or more: onnxruntime blocks
 * the main thread while it runs, so preprocessing overlaps inference only in a worker).
 * `threads: 0` counts as not given: planned here rather than left to onnxruntime (which takes one thread per
 * physical core, whatever else runs).
 */
export function planExecution(options: PlanOptions, inferenceMs: number | undefined, cores = availableParallelism()): ExecutionPlan {
  // threads 0 (the CLI's default, "onnxruntime decides") is planned like an absent value
  const threadsGiven = checked('threads', options.threads, 0, 1024) || undefined;
  const workersGiven = checked('workers', options.workers, 0, 64);
  const batchSize = checked('batchSize', options.batchSize, 1, 4096) ?? 8;
  const pre = PREPROCESS_MS_ESTIMATE;
  const inf = inferenceMs ?? pre;
  const floor = cores > 1 ? 1 : 0;
  let threads: number;
  let workers: number;
  let how: string;
  if (threadsGiven !== undefined && workersGiven !== undefined) {
    [threads, workers, how] = [threadsGiven, workersGiven, 'as given'];
  } else if (threadsGiven !== undefined) {
    threads = threadsGiven;
    workers = Math.max(floor, cores - threadsGiven);
    how = `threads as given, workers fill the other cores`;
  } else if (workersGiven !== undefined) {
    workers = workersGiven;
    threads = Math.max(1, cores - workers);
    how = `workers as given, threads fill the other cores`;
  } else {
    workers = cores > 1 ? Math.min(cores - 1, Math.max(1, Math.round((cores * pre) / (pre + inf)))) : 0;
    threads = Math.max(1, cores - workers);
    how = `split by estimated CPU per image: preprocessing ${pre.toFixed(1)} ms, inference ${inf.toFixed(1)} ms${inferenceMs === undefined ? ' (unknown model: assumed equal)' : ''}`;
  }
  const spinning = options.spinning ?? false;
  // Lanes when inference costs at least as much as preparing an image, on 3+ cores, unless the caller set the
  // threads or workers (then their layout runs): one lane per core, up to 4. Not on 2 cores: there a cold
  // `predict` of x1_0 at 224 over 1,000 640×480 JPEGs (bench/throughput.ts, alternating, quiet machine) took
  // 5.9–6.2 s and 450–465 MB with a lane and the calling thread as another, against 5.7–5.9 s and 340–360 MB
  // with one worker feeding the calling thread's session; the text-line model gains nothing from lanes (its
  // batches are mostly decoding, which the workers already spread).
  // When the calling thread's session has one intra-op thread, it is one of the lanes: a lane fewer to start
  // (about 90 MB and 0.2–0.9 s of CPU each for x1_0), the same cores busy.
  const lanesGiven = checked('lanes', options.lanes, 0, 64);
  const lanesPlanned = lanesGiven === undefined && threadsGiven === undefined && workersGiven === undefined && cores > 2 && inf >= pre;
  const hereLane = lanesPlanned && threads === 1;
  const lanes = lanesGiven ?? (lanesPlanned ? Math.min(cores, 4) - (hereLane ? 1 : 0) : 0);
  // A worker thread takes 150–250 ms of a core to load sharp and the resize code. On 2 cores with inference
  // cheaper than preparing, a folder of fewer than SHORT_STREAM_IMAGES images is done sooner without it, the
  // calling thread keeping 6 decodes in flight on the thread pool (cold `predict`, text-line model, alternating
  // runs: 160 images 184–208 img/s against 153–177 with the worker; 1,000 images 229–236 against 237–256).
  const streamWorkersFrom = workers > 0 && workersGiven === undefined && threadsGiven === undefined && cores <= 2 && inf < pre ? SHORT_STREAM_IMAGES : 0;
  const shortNote = streamWorkersFrom > 0 ? `; streams under ${streamWorkersFrom} images prepare on this thread` : '';
  const laneNote = lanes > 0 ? `; streams: ${lanes} inference lane(s), each a session with 1 intra-op thread preparing and running whole batches${hereLane ? ', and this thread as one more' : ''}${lanesGiven === undefined ? ' (inference costs at least as much as preparing)' : ''}` : '';
  const reason = `${cores} cores: ${threads} intra-op thread(s), ${workers} preprocessing worker(s), batch ${batchSize}, spinning ${spinning ? 'on' : 'off'} (${how})${shortNote}${laneNote}`;
  return { cores, threads, workers, batchSize, spinning, lanes, hereLane, streamWorkersFrom, estimate: { preprocessMs: pre, inferenceMs: inf }, reason };
}
