/**
 * Comparing two models on the same inputs: the tool for "the ONNX differs from Paddle". Reports the
 * largest and mean absolute differences of logits and probabilities, and top-1 / top-5 agreement.
 */
import { type Classifier, type ClassifierOptions, createClassifier, topK } from './classifier.js';
import { PplcnetError } from './errors.js';
import type { Preprocess } from './metadata.js';
import { type LogHistogram, logHistogram } from './util/histogram.js';
import { expandImageInputs } from './util/inputs.js';

export interface CompareOptions extends Omit<ClassifierOptions, 'model'> {
  /** Images (files, folders, globs) fed through model A's preprocessing; random inputs when absent. */
  images?: readonly string[];
  /** Random inputs when no images are given. [8] */
  random?: number;
  /** Seed of the random inputs. [0] */
  seed?: number;
}

/** One input's difference between the two models. */
export interface CompareInputDiff {
  /** The image path, or `random #i`. */
  readonly name: string;
  /** Largest |Δprob| over this input's classes. */
  readonly maxAbs: number;
  readonly meanAbs: number;
  /** Each model's top-1 class (with its label when the model has labels). */
  readonly top1A: { readonly classId: number; readonly label?: string; readonly score: number };
  readonly top1B: { readonly classId: number; readonly label?: string; readonly score: number };
}

export interface CompareReport {
  readonly inputs: number;
  readonly inputKind: 'images' | 'random';
  readonly probs: { readonly maxAbs: number; readonly meanAbs: number };
  /** Logits differences, when both models output `logits` (random inputs and images alike). */
  readonly logits?: { readonly maxAbs: number; readonly meanAbs: number };
  readonly top1Agreement: number;
  readonly top5Agreement: number;
  /** The input with the largest probability difference. */
  readonly worstInput: string;
  /** Models A and B as named. */
  readonly models: readonly [string, string];
  /** Every |Δprob| (each input, each class) in log-spaced bins, two per decade. */
  readonly histogram: LogHistogram;
  /** Each input's difference, in input order. */
  readonly perInput: readonly CompareInputDiff[];
  /** Images that could not be read or decoded (not in the figures), as `bench` reports them. */
  readonly failed: readonly { readonly file: string; readonly code: string; readonly message: string }[];
  /** Paths the expansion skipped (not regular files, duplicates, …). */
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
}

/** |a − b| of every value of every row pair, without a copy. */
function* absDiffs(a: readonly Float32Array[], b: readonly Float32Array[]): Generator<number> {
  for (let r = 0; r < a.length; r++) {
    const x = a[r]!;
    const y = b[r]!;
    for (let i = 0; i < x.length; i++) yield Math.abs(x[i]! - y[i]!);
  }
}

/** The largest and the mean |a − b| over every value of every row pair. */
function stats(a: readonly Float32Array[], b: readonly Float32Array[]): { maxAbs: number; meanAbs: number } {
  let max = 0;
  let sum = 0;
  let n = 0;
  for (const d of absDiffs(a, b)) {
    if (d > max) max = d;
    sum += d;
    n++;
  }
  return { maxAbs: max, meanAbs: sum / n };
}

type InputBatch = { data: Float32Array; n: number; h: number; w: number; names: string[] };

/**
 * The images through model A's preprocessing, one per batch. An image that cannot be read or decoded is
 * recorded in `failed` and the others go on; none readable is an error naming the first failure.
 */
async function readImages(images: readonly string[], spec: Preprocess): Promise<{ batches: InputBatch[]; failed: CompareReport['failed']; skipped: CompareReport['skipped'] }> {
  const { files, skipped } = await expandImageInputs(images);
  const { preprocess } = await import('./image/preprocess.js'); // sharp is loaded only when images are compared
  const failed: { file: string; code: string; message: string }[] = [];
  const batches: InputBatch[] = [];
  for (const f of files) {
    try {
      const img = await preprocess(f, spec);
      batches.push({ data: img.data, n: 1, h: img.height, w: img.width, names: [f] });
    } catch (err) {
      if (!(err instanceof PplcnetError)) throw err;
      failed.push({ file: f, code: err.code, message: err.message });
    }
  }
  if (batches.length === 0) {
    const why = failed[0] ? `: ${failed[0].message}` : skipped[0] ? ` (${skipped.length} skipped; ${skipped[0].path}: ${skipped[0].reason})` : '';
    throw new PplcnetError('E_IO', `no readable images in ${images.join(', ')}${why}; --images takes image files, folders and glob patterns`);
  }
  return { batches, failed, skipped: skipped.map((s) => ({ path: s.path, reason: s.reason })) };
}

const top = (row: Float32Array, k: number): number[] => topK(row, k).map((t) => t.classId);

/** `n` seeded random inputs of the model's input size, values in [−2, 2): one batch. */
function randomInputs(n: number, seed: number, size: readonly [number, number] | readonly number[]): InputBatch {
  let s = seed + 1;
  const data = new Float32Array(n * 3 * size[0]! * size[1]!);
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = (s / 4294967296) * 4 - 2;
  }
  return { data, n, h: size[0]!, w: size[1]!, names: Array.from({ length: n }, (_, i) => `random #${i}`) };
}

/** What both models are fed: the images through model A's preprocessing, or random inputs. */
async function compareInputs(a: string, ca: Classifier, options: CompareOptions): Promise<{ batches: InputBatch[]; kind: CompareReport['inputKind']; failed: CompareReport['failed']; skipped: CompareReport['skipped'] }> {
  if (options.images?.length) return { kind: 'images', ...(await readImages(options.images, ca.preprocess)) };
  const size = ca.metadata.inputSize ?? (ca.preprocess.crop ? [ca.preprocess.crop.height, ca.preprocess.crop.width] : undefined);
  if (!size) throw new PplcnetError('E_MODEL', `${a}: its input size is not recorded; compare with --images`);
  return { kind: 'random', batches: [randomInputs(options.random ?? 8, options.seed ?? 0, size)], failed: [], skipped: [] };
}

/** Both models' outputs per input: probabilities, and logits while both models give them of one length. */
interface PairedOutputs {
  readonly pa: Float32Array[];
  readonly pb: Float32Array[];
  readonly logits?: { readonly la: Float32Array[]; readonly lb: Float32Array[] };
  readonly names: string[];
}

/** Runs every batch through both models and splits the outputs into one row per input. */
async function runBoth(a: string, b: string, ca: Classifier, cb: Classifier, batches: readonly InputBatch[]): Promise<PairedOutputs> {
  const pa: Float32Array[] = [];
  const pb: Float32Array[] = [];
  // logits of every input, while both models give them (one image per run with --images)
  let logits: { la: Float32Array[]; lb: Float32Array[] } | undefined = { la: [], lb: [] };
  const names: string[] = [];
  for (const bt of batches) {
    const ra = await ca.run(bt.data, bt.n, bt.h, bt.w);
    const logA = ca.lastLogits?.slice();
    const rb = await cb.run(bt.data, bt.n, bt.h, bt.w);
    const logB = cb.lastLogits?.slice();
    if (logits && logA && logB && logA.length === logB.length) {
      logits.la.push(logA);
      logits.lb.push(logB);
    } else {
      logits = undefined;
    }
    if (ra.length !== rb.length) throw new PplcnetError('E_MODEL', `${a} gives ${ra.length / bt.n} classes but ${b} gives ${rb.length / bt.n}`);
    const cols = ra.length / bt.n;
    for (let i = 0; i < bt.n; i++) {
      pa.push(ra.slice(i * cols, (i + 1) * cols));
      pb.push(rb.slice(i * cols, (i + 1) * cols));
      names.push(bt.names[i]!);
    }
  }
  return { pa, pb, ...(logits ? { logits } : {}), names };
}

/** A row's top-1 class, with its label when the model has labels. */
function best(row: Float32Array, labels: readonly string[] | undefined): CompareInputDiff['top1A'] {
  const t = topK(row, 1)[0]!;
  const label = labels?.[t.classId];
  return { classId: t.classId, ...(label !== undefined ? { label } : {}), score: t.score };
}

/** Each input's difference, the input that differs most, and how many inputs agree on top-1 and on top-5. */
function agreement(out: PairedOutputs, labelsA: readonly string[] | undefined, labelsB: readonly string[] | undefined): { perInput: CompareInputDiff[]; worstIndex: number; top1: number; top5: number } {
  let worst = 0;
  let worstIndex = 0;
  let top1 = 0;
  let top5 = 0;
  const perInput: CompareInputDiff[] = [];
  out.pa.forEach((row, i) => {
    const other = out.pb[i]!;
    const s = stats([row], [other]);
    perInput.push({ name: out.names[i]!, maxAbs: s.maxAbs, meanAbs: s.meanAbs, top1A: best(row, labelsA), top1B: best(other, labelsB) });
    if (s.maxAbs > worst) {
      worst = s.maxAbs;
      worstIndex = i;
    }
    if (top(row, 1)[0] === top(other, 1)[0]) top1++;
    const ta = top(row, 5);
    const tb = top(other, 5);
    if (ta.every((c, k) => c === tb[k])) top5++;
  });
  return { perInput, worstIndex, top1, top5 };
}

export async function compareModels(a: string, b: string, options: CompareOptions = {}): Promise<CompareReport> {
  const ca = await createClassifier({ ...options, model: a });
  const cb = await createClassifier({ ...options, model: b });
  try {
    const { batches, kind, failed, skipped } = await compareInputs(a, ca, options);
    const out = await runBoth(a, b, ca, cb, batches);
    const { pa, pb, logits, names } = out;
    const { perInput, worstIndex, top1, top5 } = agreement(out, ca.labels, cb.labels);
    return {
      inputs: pa.length,
      inputKind: kind,
      probs: stats(pa, pb),
      ...(logits && logits.la.length > 0 ? { logits: stats(logits.la, logits.lb) } : {}),
      top1Agreement: top1 / pa.length,
      top5Agreement: top5 / pa.length,
      worstInput: names[worstIndex]!,
      models: [a, b],
      histogram: logHistogram(absDiffs(pa, pb)),
      perInput,
      failed,
      skipped,
    };
  } finally {
    await ca.close();
    await cb.close();
  }
}
