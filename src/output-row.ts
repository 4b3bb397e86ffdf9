/** The one JSON row per image that `predict --json`, the queue worker and `queue results` write. */
import type { Classification, TopClass } from './classifier.js';
import type { PplcnetError } from './errors.js';

export interface ResultRow {
  readonly file: string;
  readonly model: string;
  readonly topk: readonly TopClass[];
  readonly timings: { readonly decodeMs: number; readonly preprocessMs: number; readonly inferenceMs: number; readonly batchSize: number };
}

export interface ErrorRow {
  readonly file: string;
  readonly error: { readonly code: string; readonly message: string };
}

/** `{file, model, topk, timings}` for a classified image (timings rounded to µs). */
export function resultRow(r: Classification, model: string): ResultRow {
  const t = r.timings;
  return {
    file: r.input,
    model,
    topk: r.topk,
    timings: {
      decodeMs: Number(t.decodeMs.toFixed(3)),
      preprocessMs: Number(t.preprocessMs.toFixed(3)),
      inferenceMs: Number(t.inferenceMs.toFixed(3)),
      batchSize: t.batchSize,
    },
  };
}

/** `{file, error: {code, message}}` for an image that could not be classified. */
export function errorRow(file: string, err: PplcnetError | Error): ErrorRow {
  return { file, error: { code: (err as PplcnetError).code ?? 'E_IMAGE', message: err.message } };
}
