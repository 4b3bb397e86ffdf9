/**
 * Benchmarking a model end to end: resolve it (any form `--model` takes) or build a PP-LCNet in memory,
 * read its input size and multiply-adds from its metadata, measure the machine's matmul peak per thread
 * count, then time every (threads, batch) pair.
 */
import { countMultiplyAdds, resolveArchitecture } from './builder/architecture.js';
import { buildPPLCNet } from './builder/pplcnet.js';
import { parseMetadata } from './metadata.js';
import { readMetadataProps } from './onnx/metadata-props.js';
import { type BenchOptions, type BenchResult, benchModel, measureMatmulPeak } from './runtime/bench.js';
import { type ResolveOptions, resolveModel } from './models/resolve.js';

export interface ModelBenchOptions extends Omit<BenchOptions, 'inputSize' | 'multiplyAdds' | 'peak'>, Omit<ResolveOptions, 'build' | 'weights'> {
  /** A zoo name or model path; absent: a PP-LCNet at `scale` built in memory. */
  model?: string;
  /** Scale of the model built in memory when no `model` is given. [1.0] */
  scale?: number;
  /** Measure the fp32 matmul peak at each thread count first. [true] */
  peak?: boolean;
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
}

/** Benchmark a model; `onReady` hears the subject once the peaks are measured, `onResult` each configuration. */
export async function benchmarkModel(
  options: ModelBenchOptions = {},
  hooks: { onReady?: (subject: BenchSubject) => void; onResult?: (result: BenchResult) => void } = {},
): Promise<ModelBenchReport> {
  const { model, scale = 1.0, peak: measurePeak = true, threads = [0], batches, runs, warmup, cacheDir, mirror, offline, onProgress, ...session } = options;
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
  return { ...subject, results };
}
