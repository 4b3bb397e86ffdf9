/** The one JSON row per image that `predict --json`, `serve`, the queue worker and `queue results` write. */
import type { Classification, Timings } from './classifier.js';
import { type AttributeResult, paddleClasAttributes } from './classifier/attributes.js';
import type { PplcnetError } from './errors.js';
import type { AttributePostprocess } from './metadata.js';
import { type TopClass, overThreshold, thresholdBinary, topK } from './output.js';

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

/** How a front-end cuts a classification's scores into a row: its top-k and threshold, and what the model is. */
export interface RowCut {
  /** Classes in `topk`. */
  readonly topk: number;
  /** Multi-label models: the classes reaching it go to `labels`; binary-threshold models: decides class 1. */
  readonly threshold: number;
  /** A sigmoid head: independent per-class scores. */
  readonly multiLabel: boolean;
  /** PaddleClas `ThreshOutput`: a two-class single-label model decided by `threshold`. */
  readonly binaryThreshold: boolean;
  readonly labels: readonly string[] | undefined;
  /** PaddleClas attribute post-processing of a multi-label model. */
  readonly postprocess?: AttributePostprocess | undefined;
}

/** The full row of a classified image, as `predict --json` writes it. */
export interface ClassificationRow extends ResultRow {
  readonly labels?: readonly TopClass[];
  readonly threshold?: number;
  readonly attributes?: AttributeResult;
}

/**
 * `{file, model, topk, timings}`, then `labels` and `threshold` (multi-label models) and `attributes`, from the
 * classification's scores cut as asked: the classifier's own functions, so a cut equal to the classifier's
 * settings gives the classifier's result.
 */
export function classificationRow(r: Classification, model: string, file: string, cut: RowCut): ClassificationRow {
  const cols = r.probs.length;
  const topk = cut.binaryThreshold && cols === 2 ? thresholdBinary(r.probs, cut.threshold, cut.labels).slice(0, cut.topk) : topK(r.probs, cut.topk, cut.labels);
  return {
    file,
    model,
    topk,
    timings: roundTimings(r.timings),
    ...(cut.multiLabel ? { labels: overThreshold(r.probs, cut.threshold, cut.labels), threshold: cut.threshold } : {}),
    ...(cut.multiLabel && cut.postprocess ? { attributes: paddleClasAttributes(cut.postprocess, r.probs) } : {}),
  };
}
