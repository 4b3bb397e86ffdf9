/**
 * How a model's outputs become an answer, decided once from its metadata, its output names and the caller's
 * options: which output holds the scores, whether the head is multi-label, the top-k, the threshold and the
 * labels (the caller's, else the model's). The Node classifier and the browser's (`pplcnet/web`) both use it,
 * so the same model gives the same answer in both; imports no Node built-in.
 */
import { PplcnetError, invalidOption } from '../errors.js';
import type { ModelMetadata } from '../metadata.js';
import { type TopClass, asProbabilities, overThreshold, thresholdBinary, topK } from '../output.js';
import { type AttributeResult, paddleClasAttributes } from './attributes.js';

/** How a model's scores become a result: top-k, the labels over a threshold, the binary threshold. */
export interface OutputOptions {
  /** [the model's `topk`, else 5] */
  topk?: number | undefined;
  /** [the model's threshold, else 0.5] */
  threshold?: number | undefined;
  /** Class names that replace the model's. */
  labels?: readonly string[] | undefined;
}

/** What {@link modelHead} decided. */
export interface OutputHead {
  readonly topk: number;
  /** A sigmoid head: independent per-class scores (the `scores` output). */
  readonly multiLabel: boolean;
  readonly threshold: number;
  /** PaddleClas `ThreshOutput` applies: a single-label model with a threshold recorded or given. */
  readonly binaryThreshold: boolean;
  /** The output read as scores: `scores` (multi-label), else `probs`, else the first output. */
  readonly outputName: string;
  /** The caller's labels, else the model's; undefined when neither has any. */
  readonly labels: readonly string[] | undefined;
  /** The caller's labels, checked against the class count on the first run. */
  readonly given: readonly string[] | undefined;
  /** PaddleClas's attribute post-processing recorded in the metadata (multi-label models). */
  readonly postprocess: ModelMetadata['postprocess'];
}

/** What one image's scores mean: its top-k, and for multi-label models the labels over the threshold. */
export interface Answer {
  readonly topk: readonly TopClass[];
  /** Multi-label models only: every class whose score reaches {@link threshold}, by class id. */
  readonly labels?: readonly TopClass[];
  /** Multi-label models only: the threshold {@link labels} were chosen with. */
  readonly threshold?: number;
  /** Multi-label models whose metadata names PaddleClas's attribute post-processing. */
  readonly attributes?: AttributeResult;
}

/** The caller's output options with the model's defaults, checked: top-k, threshold, labels. */
export function outputOptions(metadata: ModelMetadata, options: OutputOptions = {}): { topk: number; threshold: number; given: readonly string[] | undefined } {
  const topk = options.topk ?? metadata.topk ?? 5;
  if (!Number.isInteger(topk) || topk < 1) throw invalidOption('topk', 'a positive integer', topk);
  const threshold = options.threshold ?? metadata.threshold ?? 0.5;
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) throw invalidOption('threshold', 'a number from 0 to 1', threshold);
  const given = options.labels;
  if (given !== undefined && (!Array.isArray(given) || !given.every((l) => typeof l === 'string'))) throw invalidOption('labels', 'an array of strings', given, 'type');
  return { topk, threshold, given };
}

/** Decide a model's head from its metadata, its session's output names and the caller's options (checked). */
export function modelHead(metadata: ModelMetadata, outputNames: readonly string[], options: OutputOptions = {}): OutputHead {
  const { topk, threshold, given } = outputOptions(metadata, options);
  const multiLabel = outputNames.includes('scores') && (metadata.head === 'sigmoid' || !outputNames.includes('probs'));
  return {
    topk,
    multiLabel,
    threshold,
    binaryThreshold: !multiLabel && (options.threshold !== undefined || metadata.threshold !== undefined),
    outputName: multiLabel ? 'scores' : outputNames.includes('probs') ? 'probs' : outputNames[0]!,
    labels: given ?? metadata.labels,
    given,
    postprocess: metadata.postprocess,
  };
}

/**
 * The scores of a run's output `head.outputName` ([n, classes]): `probs` and `scores` as they are; a foreign
 * model's output as probabilities when it already is a distribution, else softmaxed. Refuses labels given for
 * another class count.
 */
export function headScores(head: OutputHead, values: Float32Array, n: number, model: string): Float32Array {
  const cols = values.length / n;
  if (head.given && head.given.length !== cols) {
    throw new PplcnetError('E_MODEL', `${head.given.length} labels given for a model of ${cols} classes (${model}); give one label per class`);
  }
  if (head.outputName === 'probs' || head.outputName === 'scores') return values;
  return asProbabilities(values, n);
}

/** One image's answer from its row of scores. */
export function answerOf(head: OutputHead, row: Float32Array, labels: readonly string[] | undefined = head.labels): Answer {
  const topk = head.binaryThreshold && row.length === 2 ? thresholdBinary(row, head.threshold, labels).slice(0, head.topk) : topK(row, head.topk, labels);
  if (!head.multiLabel) return { topk };
  return {
    topk,
    labels: overThreshold(row, head.threshold, labels),
    threshold: head.threshold,
    ...(head.postprocess ? { attributes: paddleClasAttributes(head.postprocess, row) } : {}),
  };
}

/**
 * The head with another top-k or threshold (a request's `?topk=` and `?threshold=`), checked as the
 * classifier's options are: a threshold given makes a two-class single-label model PaddleClas's `ThreshOutput`.
 */
export function headWith(head: OutputHead, options: Pick<OutputOptions, 'topk' | 'threshold'>): OutputHead {
  const topk = options.topk ?? head.topk;
  if (!Number.isInteger(topk) || topk < 1) throw invalidOption('topk', 'a positive integer', topk);
  const threshold = options.threshold ?? head.threshold;
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) throw invalidOption('threshold', 'a number from 0 to 1', threshold);
  return { ...head, topk, threshold, binaryThreshold: head.binaryThreshold || (!head.multiLabel && options.threshold !== undefined) };
}
