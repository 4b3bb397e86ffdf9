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

/** Classify prepared images; errors given in place stay in place. */
export async function classifyPrepared(model: LoadedModel, prepared: readonly (PreparedInput | PplcnetError)[]): Promise<(Classification | PplcnetError)[]> {
  const results: (Classification | PplcnetError)[] = prepared.map((p) => (p instanceof PplcnetError ? p : (undefined as never)));
  for (const idx of groupBySize(prepared)) {
    const group = idx.map((i) => prepared[i] as PreparedInput);
    const first = group[0]!;
    const plane = 3 * first.width * first.height;
    let data = first.data;
    if (group.length > 1) {
      data = new Float32Array(group.length * plane);
      group.forEach((p, k) => data.set(p.data, k * plane));
    }
    const t1 = performance.now();
    const probs = await model.run(data, group.length, first.height, first.width);
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
