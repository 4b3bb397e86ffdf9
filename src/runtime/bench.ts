/**
 * Measuring models on onnxruntime: session-create time, latency percentiles and throughput per
 * (threads, batch), achieved GFLOP/s from the model's multiply-adds, and the machine's fp32 matmul peak
 * measured the same way (an ONNX MatMul on the same runtime and threads).
 */
import { GraphBuilder } from '../builder/graph.js';
import * as op from '../builder/ops.js';
import type { SessionOptions } from './providers.js';
import { createSession, ort } from './session.js';

export interface BenchOptions extends Omit<SessionOptions, 'threads'> {
  /** Intra-op thread counts to try. [[0]] */
  threads?: readonly number[];
  /** Batch sizes to try. [[1]] */
  batches?: readonly number[];
  /** Timed runs per configuration. [50] */
  runs?: number;
  /** Untimed runs first. [5] */
  warmup?: number;
  /** Image size (h, w) fed to the model. */
  inputSize: readonly [number, number];
  /** Multiply-adds of one image, for GFLOP/s. */
  multiplyAdds?: number;
  /** GFLOP/s peak per thread count, for the ratio. */
  peak?: ReadonlyMap<number, number>;
}

export interface BenchResult {
  readonly threads: number;
  readonly batch: number;
  readonly createMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly meanMs: number;
  readonly imagesPerSec: number;
  readonly gflops?: number;
  readonly peakRatio?: number;
  readonly runs: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function fill(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = (s / 4294967296) * 4 - 2;
  }
  return x;
}

/** Time one session: warmup, then `runs` timed runs of `feeds`. Returns sorted latencies (ms). */
export async function timeRuns<F>(session: { run(feeds: F): Promise<unknown> }, feeds: F, runs: number, warmup: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b);
}

/** Benchmark a model over every (threads, batch) pair. */
export async function benchModel(model: Uint8Array, options: BenchOptions, onResult?: (r: BenchResult) => void): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const [h, w] = options.inputSize;
  for (const threads of options.threads ?? [0]) {
    for (const batch of options.batches ?? [1]) {
      const t0 = performance.now();
      const { session } = await createSession(model, { ...options, threads });
      const createMs = performance.now() - t0;
      const input = session.inputNames[0]!;
      const feeds = { [input]: new ort.Tensor('float32', fill(batch * 3 * h * w, 7), [batch, 3, h, w]) };
      const times = await timeRuns(session, feeds, options.runs ?? 50, options.warmup ?? 5);
      await session.release();
      const p50 = percentile(times, 50);
      const mean = times.reduce((a, b) => a + b, 0) / times.length;
      const gflops = options.multiplyAdds ? (2 * options.multiplyAdds * batch) / (p50 * 1e6) : undefined;
      const peak = options.peak?.get(threads);
      const r: BenchResult = {
        threads,
        batch,
        createMs,
        p50Ms: p50,
        p90Ms: percentile(times, 90),
        meanMs: mean,
        imagesPerSec: (1000 * batch) / p50,
        ...(gflops !== undefined ? { gflops } : {}),
        ...(gflops !== undefined && peak ? { peakRatio: gflops / peak } : {}),
        runs: times.length,
      };
      results.push(r);
      onResult?.(r);
    }
  }
  return results;
}

/** An fp32 MatMul [m,k]·[k,n] model, for measuring the machine's matmul peak on onnxruntime. */
export function matmulModel(m: number, k: number, n: number): Uint8Array {
  const g = new GraphBuilder();
  const a = g.input('a', [m, k]);
  const b = g.initializer('b', [k, n], fill(k * n, 3));
  g.output(op.matMul(g, 'y', a, b));
  return g.toModel({ opset: 17, producerName: 'pplcnet', producerVersion: 'bench', graphName: 'matmul' });
}

/**
 * The machine's fp32 matmul peak at `threads` intra-op threads: the best GFLOP/s of square MatMuls of a
 * few sizes (the fastest of `runs` runs each), since a peak is the best rate reached and, on a shared
 * machine, a median would measure the neighbours.
 */
export async function measureMatmulPeak(threads: number, options: Omit<SessionOptions, 'threads'> = {}, sizes: readonly number[] = [512, 1024, 1536], runs = 15): Promise<number> {
  let best = 0;
  for (const size of sizes) {
    const { session } = await createSession(matmulModel(size, size, size), { ...options, threads });
    const feeds = { a: new ort.Tensor('float32', fill(size * size, 5), [size, size]) };
    const times = await timeRuns(session, feeds, runs, 3);
    await session.release();
    best = Math.max(best, (2 * size * size * size) / (times[0]! * 1e6));
  }
  return best;
}
