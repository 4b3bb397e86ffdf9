/**
 * The model side of a classifier: resolving what the user gave into ONNX bytes, reading its metadata
 * (preprocessing, labels, top-k), and the onnxruntime session that runs it.
 */
import { PplcnetError, invalidOption } from '../errors.js';
import { imagenetLabels } from '../labels.js';
import { IMAGENET_PREPROCESS, type ModelMetadata, type Preprocess, parseMetadata } from '../metadata.js';
import { readMetadataProps } from '../onnx/metadata-props.js';
import { asProbabilities } from '../output.js';
import { type SessionOptions, createSession, ort } from '../runtime/session.js';
import { type ResolveOptions, type ResolvedModel, resolveModel } from '../zoo/resolve.js';

/** Turn what the user gave (`options.model`: a zoo name, a model path) into ONNX bytes. */
export async function openModel(options: ResolveOptions & { model: string }): Promise<ResolvedModel> {
  if (!options || typeof options.model !== 'string' || options.model === '') {
    throw invalidOption('model', 'a zoo name or a model path', options?.model, 'type');
  }
  return resolveModel(options.model, options);
}

/** A model ready to run: its metadata and session, and the labels known so far. */
export interface LoadedModel {
  readonly name: string;
  readonly metadata: ModelMetadata;
  readonly preprocess: Preprocess;
  readonly topk: number;
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
export async function loadModel(resolved: ResolvedModel, metadata: ModelMetadata, session: SessionOptions, topkOption?: number): Promise<LoadedModel> {
  const topk = topkOption ?? metadata.topk ?? 5;
  if (!Number.isInteger(topk) || topk < 1) throw invalidOption('topk', 'a positive integer', topk);
  const { session: s, provider } = await createSession(resolved.bytes, session);
  const inputName = s.inputNames[0]!;
  const outputName = s.outputNames.includes('probs') ? 'probs' : s.outputNames[0]!;
  let labels = metadata.labels;
  let lastLogits: Float32Array | undefined;
  return {
    name: metadata.name ?? resolved.name,
    metadata,
    preprocess: metadata.preprocess ?? IMAGENET_PREPROCESS,
    topk,
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
      if (!labels && values.length / n === 1000) labels = imagenetLabels();
      if (outputName === 'probs') return values;
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
