/**
 * The model side of a classifier: resolving what the user gave into ONNX bytes, reading its metadata
 * (preprocessing, labels, top-k), and the onnxruntime session that runs it.
 */
import { PplcnetError, invalidOption } from '../errors.js';
import { imagenetLabels } from '../labels.js';
import { IMAGENET_PREPROCESS, type ModelMetadata, type Preprocess, parseMetadata } from '../metadata.js';
import { readMetadataProps } from '../onnx/metadata-props.js';
import { asProbabilities } from '../output.js';
import type { SessionOptions } from '../runtime/providers.js';
import { createSession, ort } from '../runtime/session.js';
import { type ModelSource, type ResolveOptions, type ResolvedModel, resolveModel } from '../models/resolve.js';

/** Turn what the user gave (`options.model`: a zoo name, a model path, ONNX bytes) into ONNX bytes. */
export async function openModel(options: ResolveOptions & { model: ModelSource }): Promise<ResolvedModel> {
  if (!options || !((typeof options.model === 'string' && options.model !== '') || options.model instanceof Uint8Array)) {
    throw invalidOption('model', 'a zoo name, a model path or ONNX model bytes (Uint8Array)', options?.model, 'type');
  }
  return resolveModel(options.model, options);
}

/** How a model's scores become a result: top-k, the labels over a threshold, the binary threshold. */
export interface OutputOptions {
  /** [the model's `topk`, else 5] */
  topk?: number | undefined;
  /** [the model's threshold, else 0.5] */
  threshold?: number | undefined;
  /** Class names that replace the model's. */
  labels?: readonly string[] | undefined;
}

/** A model ready to run: its metadata and session, and the labels known so far. */
export interface LoadedModel {
  readonly name: string;
  readonly metadata: ModelMetadata;
  readonly preprocess: Preprocess;
  readonly topk: number;
  /** A sigmoid head: independent per-class scores (the `scores` output). */
  readonly multiLabel: boolean;
  readonly threshold: number;
  /** PaddleClas `ThreshOutput` applies: a single-label model with a threshold recorded or given. */
  readonly binaryThreshold: boolean;
  readonly provider: string;
  readonly inputName: string;
  readonly outputNames: readonly string[];
  /** Labels from the metadata; a 1000-class model without any gets the ImageNet-1k names on its first run. */
  readonly labels: readonly string[] | undefined;
  /** The `logits` output of the last run, when the model has one. */
  readonly lastLogits: Float32Array | undefined;
  /** Run a [n, 3, h, w] tensor; returns probabilities [n, classes]. */
  run(data: Float32Array, n: number, height: number, width: number): Promise<Float32Array>;
  release(): Promise<void>;
}

/** Read the metadata of resolved bytes and open their session with `session` options (threads already planned). */
export async function loadModel(resolved: ResolvedModel, metadata: ModelMetadata, session: SessionOptions, output: OutputOptions = {}): Promise<LoadedModel> {
  const topk = output.topk ?? metadata.topk ?? 5;
  if (!Number.isInteger(topk) || topk < 1) throw invalidOption('topk', 'a positive integer', topk);
  const threshold = output.threshold ?? metadata.threshold ?? 0.5;
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) throw invalidOption('threshold', 'a number from 0 to 1', threshold);
  const given = output.labels;
  if (given !== undefined && (!Array.isArray(given) || !given.every((l) => typeof l === 'string'))) throw invalidOption('labels', 'an array of strings', given, 'type');
  const { session: s, provider } = await createSession(resolved.bytes, session);
  const inputName = s.inputNames[0]!;
  const multiLabel = s.outputNames.includes('scores') && (metadata.head === 'sigmoid' || !s.outputNames.includes('probs'));
  const outputName = multiLabel ? 'scores' : s.outputNames.includes('probs') ? 'probs' : s.outputNames[0]!;
  let labels = given ?? metadata.labels;
  let lastLogits: Float32Array | undefined;
  return {
    name: metadata.name ?? resolved.name,
    metadata,
    preprocess: metadata.preprocess ?? IMAGENET_PREPROCESS,
    topk,
    multiLabel,
    threshold,
    binaryThreshold: !multiLabel && (output.threshold !== undefined || metadata.threshold !== undefined),
    provider,
    inputName,
    outputNames: [...s.outputNames],
    get labels() {
      return labels;
    },
    get lastLogits() {
      return lastLogits;
    },
    async run(data, n, h, w) {
      const out = await s.run({ [inputName]: new ort.Tensor('float32', data, [n, 3, h, w]) });
      lastLogits = out.logits ? (out.logits.data as Float32Array) : undefined;
      const values = out[outputName]!.data as Float32Array;
      const cols = values.length / n;
      if (!labels && cols === 1000) labels = imagenetLabels();
      if (given && given.length !== cols) {
        throw new PplcnetError('E_MODEL', `${given.length} labels given for a model of ${cols} classes (${resolved.name}); give one label per class`);
      }
      if (outputName === 'probs' || outputName === 'scores') return values;
      // A foreign model: use its output as probabilities when it already is a distribution, else softmax it.
      return asProbabilities(values, n);
    },
    release: () => s.release(),
  };
}

/** The metadata a resolved model's bytes carry. */
export function readModelMetadata(resolved: ResolvedModel): ModelMetadata {
  return parseMetadata(readMetadataProps(resolved.bytes, resolved.path ?? resolved.name));
}

/** A closed classifier's refusal. */
export function closedError(what: string, model: string): PplcnetError {
  return new PplcnetError('E_CLOSED', `${what}: this classifier (${model}) was closed; create a new one with createClassifier()`);
}
