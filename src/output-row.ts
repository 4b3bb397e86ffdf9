/**
 * The one JSON row per image that every front-end writes: `predict --json`, `serve`, the queue worker (and so
 * `queue results`) and `pplcnet/web`. The same classification gives the same bytes from each, timings aside.
 * Imports no Node built-in (the browser build uses it).
 */
import type { Answer } from './classifier/head.js';
import type { PplcnetError } from './errors.js';
import type { Timings, TopClass } from './output.js';

export type { Timings } from './output.js';

/** A classified image, as the Node and the browser classifiers return it. */
export interface ClassifiedImage extends Answer {
  /** The file name, or `<n bytes>` for an in-memory image. */
  readonly input: string;
  /** What was ignored in reading the image (e.g. bytes after its end). */
  readonly warnings?: readonly string[];
  readonly timings: Timings;
}

/** `{file, model, topk, labels?, threshold?, attributes?, warnings?, timings}`. */
export interface ResultRow {
  readonly file: string;
  readonly model: string;
  readonly topk: readonly TopClass[];
  /** Multi-label models: every class over the threshold, by class id. */
  readonly labels?: Answer['labels'];
  readonly threshold?: number;
  readonly attributes?: Answer['attributes'];
  /** What was ignored in reading the image (bytes after its end). */
  readonly warnings?: readonly string[];
  /** This image's decode and preprocess work, its wait for a worker, and its batch's inference (see {@link Timings}). */
  readonly timings: Timings;
}

/** `{file, error: {code, message}}`: an image that could not be classified, at its place among the rows. */
export interface ErrorRow {
  readonly file: string;
  readonly error: { readonly code: string; readonly message: string };
}

export type Row = ResultRow | ErrorRow;

/** Timings rounded to µs, in one key order. */
export function roundTimings(t: Timings): Timings {
  const ms = (v: number): number => Number(v.toFixed(3));
  return { decodeMs: ms(t.decodeMs), preprocessMs: ms(t.preprocessMs), queueMs: ms(t.queueMs), batchInferenceMs: ms(t.batchInferenceMs), batchSize: t.batchSize };
}

/** The row of a classified image under `file` (its input name unless given), timings rounded to µs. */
export function resultRow(r: ClassifiedImage, model: string, file: string = r.input): ResultRow {
  return {
    file,
    model,
    topk: r.topk,
    ...(r.labels ? { labels: r.labels } : {}),
    ...(r.threshold !== undefined && r.labels ? { threshold: r.threshold } : {}),
    ...(r.attributes ? { attributes: r.attributes } : {}),
    ...(r.warnings?.length ? { warnings: r.warnings } : {}),
    timings: roundTimings(r.timings),
  };
}

/** The row of an image that could not be classified (an error without a code is E_IMAGE). */
export function errorRow(file: string, err: PplcnetError | Error): ErrorRow {
  return { file, error: { code: (err as PplcnetError).code ?? 'E_IMAGE', message: err.message } };
}

/** The row of one result of a batch or stream under `file`: a classification, or the error in its place. */
export function rowOf(r: ClassifiedImage | Error, model: string, file: string): Row {
  return r instanceof Error ? errorRow(file, r) : resultRow(r, model, file);
}
