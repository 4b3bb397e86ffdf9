/**
 * Running prepared images: one onnxruntime run per group of images of the same size, and one result per
 * image with its own row of probabilities (and logits), its top-k and its timings.
 */
import { PplcnetError } from '../errors.js';
import { answerOf } from './head.js';
import type { LoadedModel } from './model.js';
import type { Classification, PreparedInput } from './types.js';

/** The indexes of the prepared images (errors left out), grouped by tensor size. */
function groupBySize(prepared: readonly (PreparedInput | PplcnetError)[]): number[][] {
  const groups = new Map<string, number[]>();
  prepared.forEach((p, i) => {
    if (p instanceof PplcnetError) return;
    const key = `${p.width}x${p.height}`;
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  });
  return [...groups.values()];
}

/**
 * Batch tensors kept for the next run of the same size: a fresh one each run costs page faults (a batch of
 * x1_0 at 224 is 4.8 MB) that cost more than the copy into it. At most {@link SPARE_TENSORS}, the most recent.
 */
const spare: Float32Array[] = [];
const SPARE_TENSORS = 4;

function batchTensor(length: number): Float32Array {
  const i = spare.findIndex((t) => t.length === length);
  return i >= 0 ? spare.splice(i, 1)[0]! : new Float32Array(length);
}

function giveBack(t: Float32Array): void {
  spare.push(t);
  if (spare.length > SPARE_TENSORS) spare.shift();
}

/** Classify prepared images; errors given in place stay in place. */
export async function classifyPrepared(model: LoadedModel, prepared: readonly (PreparedInput | PplcnetError)[]): Promise<(Classification | PplcnetError)[]> {
  const results: (Classification | PplcnetError)[] = prepared.map((p) => (p instanceof PplcnetError ? p : (undefined as never)));
  for (const idx of groupBySize(prepared)) {
    const group = idx.map((i) => prepared[i] as PreparedInput);
    const first = group[0]!;
    const plane = 3 * first.width * first.height;
    let data = first.data;
    // one image runs from its own tensor; several are copied into one (every element written: no zeroing needed)
    if (group.length > 1) {
      data = batchTensor(group.length * plane);
      group.forEach((p, k) => data.set(p.data, k * plane));
    }
    const t1 = performance.now();
    let probs: Float32Array;
    try {
      probs = await model.run(data, group.length, first.height, first.width);
    } finally {
      if (group.length > 1) giveBack(data); // onnxruntime holds no reference to its input after the run
    }
    const batchInferenceMs = performance.now() - t1;
    const logits = model.lastLogits;
    const cols = probs.length / group.length;
    const logitCols = logits ? logits.length / group.length : 0;
    group.forEach((p, k) => {
      const row = probs.slice(k * cols, (k + 1) * cols);
      results[idx[k]!] = {
        input: p.name,
        ...answerOf(model.head, row, model.labels),
        probs: row,
        ...(logits ? { logits: logits.slice(k * logitCols, (k + 1) * logitCols) } : {}),
        timings: { decodeMs: p.decodeMs, preprocessMs: p.preprocessMs, queueMs: p.queueMs ?? 0, batchInferenceMs, batchSize: group.length },
        ...(p.warnings ? { warnings: p.warnings } : {}),
      };
    });
  }
  return results;
}
