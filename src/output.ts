/**
 * From a network's output to what a classifier returns: probabilities and the top-k classes. Shared by the
 * Node classifier and the browser build (`pplcnet/web`); imports no Node built-in.
 */

export interface TopClass {
  readonly classId: number;
  readonly label: string;
  readonly score: number;
}

/**
 * Where one image's time went. `decodeMs` and `preprocessMs` are the wall time of this image's stages (a
 * worker thread has two images in hand, so one's decode overlaps the other's resize; under a full load they
 * include waiting for a core; an image prefetched while the model loaded includes waiting for that loading to
 * let go of the thread); `queueMs` is how long it waited before either began; the inference time is
 * the whole batch's (one onnxruntime run for `batchSize` images), not this image's share.
 */
export interface Timings {
  readonly decodeMs: number;
  /** Resize, crop and normalize. */
  readonly preprocessMs: number;
  /** Waiting for a preprocessing worker (0 on the main thread). */
  readonly queueMs: number;
  /** The onnxruntime run of the batch this image was in. */
  readonly batchInferenceMs: number;
  readonly batchSize: number;
}

function label(labels: readonly string[] | undefined, id: number): string {
  return labels?.[id] ?? String(id);
}

/** The k best classes, highest first (ties by class id). */
export function topK(probs: ArrayLike<number>, k: number, labels?: readonly string[]): TopClass[] {
  const idx = Array.from({ length: probs.length }, (_, i) => i);
  idx.sort((a, b) => probs[b]! - probs[a]! || a - b);
  return idx.slice(0, Math.min(k, probs.length)).map((i) => ({ classId: i, label: label(labels, i), score: probs[i]! }));
}

/** Every class whose score reaches `threshold`, by class id. */
export function overThreshold(scores: ArrayLike<number>, threshold: number, labels?: readonly string[]): TopClass[] {
  const out: TopClass[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i]! >= threshold) out.push({ classId: i, label: label(labels, i), score: scores[i]! });
  return out;
}

/**
 * PaddleClas `ThreshOutput` for a two-class model: class 1 when its probability reaches `threshold`, class 0
 * (with probability 1 − p₁) otherwise; the other class follows.
 */
export function thresholdBinary(probs: ArrayLike<number>, threshold: number, labels?: readonly string[]): TopClass[] {
  const p1 = probs[1]!;
  const one = { classId: 1, label: label(labels, 1), score: p1 };
  const zero = { classId: 0, label: label(labels, 0), score: probs[0]! };
  return p1 >= threshold ? [one, zero] : [zero, one];
}

/** Row-wise softmax of a [rows, cols] matrix. */
export function softmaxRows(x: Float32Array, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    let m = -Infinity;
    for (let c = 0; c < cols; c++) m = Math.max(m, x[r * cols + c]!);
    let s = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(x[r * cols + c]! - m);
    for (let c = 0; c < cols; c++) out[r * cols + c] = Math.exp(x[r * cols + c]! - m) / s;
  }
  return out;
}

/**
 * Probabilities from a foreign model's output ([n, cols]): used as they are when every row already is a
 * distribution (non-negative, sums to 1 within 1e-3), else softmaxed.
 */
export function asProbabilities(values: Float32Array, n: number): Float32Array {
  const cols = values.length / n;
  let isDist = true;
  for (let r = 0; r < n && isDist; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) {
      const v = values[r * cols + c]!;
      if (v < 0) isDist = false;
      s += v;
    }
    if (Math.abs(s - 1) > 1e-3) isDist = false;
  }
  return isDist ? values : softmaxRows(values, cols);
}
