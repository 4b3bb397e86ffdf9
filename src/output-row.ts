/** The one JSON row per image that `predict --json`, the queue worker and `queue results` write. */
import type { Classification, Timings, TopClass } from './classifier.js';
import type { PplcnetError } from './errors.js';

export interface ResultRow {
  readonly file: string;
  readonly model: string;
  readonly topk: readonly TopClass[];
  /** This image's decode and preprocess work, its wait for a worker, and its batch's inference (see {@link Timings}). */
  readonly timings: Timings;
}

export interface ErrorRow {
  readonly file: string;
  readonly error: { readonly code: string; readonly message: string };
}

/** Timings rounded to µs, in the order predict --json, serve and the queue write them. */
export function roundTimings(t: Timings): Timings {
  const ms = (v: number): number => Number(v.toFixed(3));
  return { decodeMs: ms(t.decodeMs), preprocessMs: ms(t.preprocessMs), queueMs: ms(t.queueMs), batchInferenceMs: ms(t.batchInferenceMs), batchSize: t.batchSize };
}

/** `{file, model, topk, timings}` for a classified image (timings rounded to µs). */
export function resultRow(r: Classification, model: string): ResultRow {
  return { file: r.input, model, topk: r.topk, timings: roundTimings(r.timings) };
}

/** `{file, error: {code, message}}` for an image that could not be classified. */
export function errorRow(file: string, err: PplcnetError | Error): ErrorRow {
  return { file, error: { code: (err as PplcnetError).code ?? 'E_IMAGE', message: err.message } };
}
