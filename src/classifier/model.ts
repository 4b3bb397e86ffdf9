/**
 * The model side of a classifier: resolving what the user gave into ONNX bytes, reading its metadata
 * (preprocessing, labels, top-k), and the onnxruntime session that runs it.
 */
import { PplcnetError, invalidOption } from '../errors.js';
import { type OutputHead, type OutputOptions, headScores, modelHead, outputOptions } from './head.js';
import { imagenetLabels } from '../labels.js';
import { IMAGENET_PREPROCESS, type ModelMetadata, type Preprocess, parseMetadata } from '../metadata.js';
import { readMetadataProps } from '../onnx/metadata-props.js';
import type { SessionOptions } from '../runtime/providers.js';
import { createSession, ort } from '../runtime/session.js';
import { type ModelSource, type ResolveOptions, type ResolvedModel, resolveModel } from '../models/resolve.js';

/** Turn what the user gave (`options.model`: a zoo name, a model path, ONNX bytes) into ONNX bytes. */
export async function openModel(options: ResolveOptions & { model: ModelSource | ResolvedModel }): Promise<ResolvedModel> {
  if (isResolvedModel(options?.model)) return options.model;
  if (!options || !((typeof options.model === 'string' && options.model !== '') || options.model instanceof Uint8Array)) {
    throw invalidOption('model', 'a zoo name, a model path or ONNX model bytes (Uint8Array)', options?.model, 'type');
  }
  return resolveModel(options.model, options);
}

/** Whether `m` is what resolveModel returns (a name, ONNX bytes and how they were obtained). */
function isResolvedModel(m: unknown): m is ResolvedModel {
  const r = m as Partial<ResolvedModel> | null;
  return typeof r === 'object' && r !== null && !(r instanceof Uint8Array) && r.bytes instanceof Uint8Array && typeof r.name === 'string' && typeof r.origin === 'string';
}

export type { OutputOptions } from './head.js';

/** A model ready to run: its metadata, session and head, and the labels known so far. */
export interface LoadedModel {
  readonly name: string;
  readonly metadata: ModelMetadata;
  readonly preprocess: Preprocess;
  /** How its outputs become an answer (see head.ts, shared with the browser). */
  readonly head: OutputHead;
  readonly provider: string;
  readonly inputName: string;
  readonly outputNames: readonly string[];
  /** The head's labels; a 1000-class model without any gets the ImageNet-1k names on its first run. */
  readonly labels: readonly string[] | undefined;
  /** The `logits` output of the last run, when the model has one. */
  readonly lastLogits: Float32Array | undefined;
  /** Run a [n, 3, h, w] tensor; returns scores [n, classes]. */
  run(data: Float32Array, n: number, height: number, width: number): Promise<Float32Array>;
  release(): Promise<void>;
}

/** Read the metadata of resolved bytes and open their session with `session` options (threads already planned). */
export async function loadModel(resolved: ResolvedModel, metadata: ModelMetadata, session: SessionOptions, output: OutputOptions = {}): Promise<LoadedModel> {
  outputOptions(metadata, output); // checked before the session is made
  const { session: s, provider } = await createSession(resolved.bytes, session);
  const head = modelHead(metadata, s.outputNames, output);
  const inputName = s.inputNames[0]!;
  let labels = head.labels;
  let lastLogits: Float32Array | undefined;
  return {
    name: metadata.name ?? resolved.name,
    metadata,
    preprocess: metadata.preprocess ?? IMAGENET_PREPROCESS,
    head,
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
      const scores = headScores(head, out[head.outputName]!.data as Float32Array, n, resolved.name);
      if (!labels && scores.length / n === 1000) labels = imagenetLabels();
      return scores;
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
