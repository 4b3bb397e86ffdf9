/** The classifier's public types: its options, what it returns, and the object itself. */
import type { PplcnetError } from '../errors.js';
import type { ImageInput } from '../image/decode.js';
import type { DecodeMode } from '../image/fast-decode.js';
import type { PreparedImage } from '../image/preprocess.js';
import type { ModelMetadata, Preprocess } from '../metadata.js';
import type { SessionOptions } from '../runtime/providers.js';
import type { ModelSource, ResolveOptions, ResolvedModel } from '../models/resolve.js';
import type { Answer, OutputHead } from './head.js';
import type { ExecutionPlan } from './plan.js';
import type { Timings } from '../output.js';

export interface ClassifierOptions extends SessionOptions, ResolveOptions {
  /**
   * A zoo name (`PP-LCNet_x0_25_textline_ori`), an `.onnx` file, a Paddle model to convert (`.pdparams`,
   * inference model folder/`.json`/`.pdmodel`, `*_infer.tar`), the bytes of an ONNX model, or what
   * `resolveModel` returned for one of these (used as it is: nothing is read, pulled or converted again).
   */
  model: ModelSource | ResolvedModel;
  /**
   * onnxruntime intra-op threads; absent or 0: planned with the workers from the core count (see
   * {@link ExecutionPlan}). [planned]
   */
  threads?: number;
  /** How many classes to return. [the model's `topk`, else 5] */
  topk?: number;
  /**
   * Preprocessing worker threads (they decode and resize the next batches while onnxruntime runs the current
   * one). 0 prepares on the main thread. [chosen from the core count: see {@link ExecutionPlan}]
   */
  workers?: number;
  /** Images per onnxruntime run in `classifyStream`. [8] */
  batchSize?: number;
  /**
   * Inference lanes for `classifyStream`: worker threads with a session each (1 intra-op thread) that prepare
   * and run whole batches side by side; 0 runs the batches on this thread. [planned: one per core, up to 4,
   * when inference costs at least as much as preparing an image and neither `threads` nor `workers` is set]
   */
  lanes?: number;
  /** The most pixels an image may declare; larger ones fail (E_IMAGE) before they are decoded. [MAX_PIXELS] */
  maxPixels?: number;
  /**
   * How JPEGs are decoded. `exact`: every pixel, as OpenCV's imread gives Paddle. `fast` (NOT Paddle-exact):
   * a JPEG at least 5× larger than the model's resize asks, on both axes, is decoded by libjpeg at 1/4 or 1/8
   * scale (shrink-on-load), then resized as usual; scores move a little (docs/predict.md, "Fast decode"). Other
   * formats and smaller JPEGs decode exactly either way. ['exact']
   */
  decode?: DecodeMode;
  /**
   * Score threshold: a multi-label model reports every class whose score reaches it; a binary model whose
   * source defines one (PaddleClas `ThreshOutput`) reports class 1 when its probability reaches it.
   * [the model's recorded threshold, else 0.5]
   */
  threshold?: number;
  /** Class names that replace the model's (index = class id); their count must equal the class count. */
  labels?: readonly string[];
  /**
   * Images to start preparing (reading, decoding, resizing) while the model loads, up to
   * {@link PREFETCH_LIMIT}: the first images the caller will classify. Creating the onnxruntime session holds
   * this thread for tens of milliseconds, and the decoding runs beside it, off this thread. A later call for the
   * same input (the same path string, or the same bytes object) takes its prepared image once; images never
   * asked for are let go when the classifier closes. Results are the same either way; such an image's
   * `timings.decodeMs` also counts the time its decoding waited for the model's loading. [none]
   */
  prefetch?: readonly ImageInput[];
}

/**
 * The most images {@link ClassifierOptions.prefetch} prepares ahead (more are not prefetched): one default
 * batch. Their files are held whole until decoded, as with the six decodes a stream keeps in flight.
 */
export const PREFETCH_LIMIT = 8;

/** What {@link Classifier.embed} returns and how. */
export interface EmbedOptions {
  /**
   * `embedding`: the fc input (after the last conv and its activation when the model has one, before
   * dropout's inference scale); `gap`: the global average pool of the last block (before the last conv).
   * Without a last conv both are the same vector. ['embedding']
   */
  layer?: 'embedding' | 'gap';
  /** Divide by the L2 norm. [false] */
  normalize?: boolean;
}

export type { Timings } from '../output.js';

/**
 * One image's result: its {@link Answer} (top-k; for multi-label models the labels over the threshold, and
 * PaddleClas's attributes when the model names them), its scores and where the time went.
 */
export interface Classification extends Answer {
  /** The file name, or `<n bytes>` for an in-memory image. */
  readonly input: string;
  /** Every class's probability (per-class scores for a multi-label model). */
  readonly probs: Float32Array;
  /** The model's `logits` row, when it has that output. */
  readonly logits?: Float32Array;
  readonly timings: Timings;
  /** What decoding the image ignored and the user should know (bytes after a PNG's or JPEG's end). */
  readonly warnings?: readonly string[];
}

/** One image ready for the network ([3, H, W] float32), with its name. */
export interface PreparedInput extends PreparedImage {
  readonly name: string;
}

/** Options of {@link Classifier.prepare}. */
export interface PrepareOptions {
  /**
   * The caller gives up an in-memory input's bytes: they move to the worker thread without a copy (the
   * Uint8Array is detached afterwards). Only when the view spans its whole ArrayBuffer. [false]
   */
  transfer?: boolean;
  /**
   * This image's pixel limit, instead of the classifier's `maxPixels` (a server's per-request limit):
   * an image declaring more fails (E_IMAGE) before it is decoded.
   */
  maxPixels?: number;
}

/**
 * Inference lanes opened by {@link Classifier.openLanes}: worker threads, each with its own onnxruntime session
 * of the classifier's model (one intra-op thread), that run batches of prepared images off the calling thread.
 */
export interface InferenceLanes {
  /** Lanes (worker threads). */
  readonly size: number;
  /**
   * Run prepared images in the least busy lane, as {@link Classifier.classifyPrepared} does (the same rows);
   * never rejects: errors given in place stay in place, and a lane that fails (its model does not load, its
   * thread dies) fails its batch and every later one with `E_MODEL` rows. `transfer`: each image's tensor
   * moves to the lane without a copy when it spans its own ArrayBuffer (detached afterwards). [false]
   */
  classifyPrepared(prepared: readonly (PreparedInput | PplcnetError)[], options?: { transfer?: boolean }): Promise<(Classification | PplcnetError)[]>;
  /** Why the lanes fail every batch (a model that did not load, a thread that died); undefined while they work. */
  readonly failure: string | undefined;
  /** Stop the threads: each finishes the batch it runs; batches not yet run come back as `E_CLOSED` rows. */
  close(): Promise<void>;
}

export interface Classifier {
  readonly name: string;
  readonly provider: string;
  readonly metadata: ModelMetadata;
  readonly preprocess: Preprocess;
  readonly labels: readonly string[] | undefined;
  /** Whether the model is multi-label (a sigmoid head: independent per-class scores). */
  readonly multiLabel: boolean;
  /**
   * How its outputs become an answer (scores output, head, top-k, threshold, labels): `answerOf(headWith(clf.head,
   * { topk, threshold }), r.probs, clf.labels)` answers a classification again with another top-k or threshold.
   */
  readonly head: OutputHead;
  /** The threshold in use (see {@link ClassifierOptions.threshold}). */
  readonly threshold: number;
  /** The decode mode in use (see {@link ClassifierOptions.decode}). */
  readonly decode: DecodeMode;
  readonly inputName: string;
  /**
   * The pooled feature vector of one image (a path or encoded bytes), as a retrieval index would store it.
   * The first call opens a second onnxruntime session on the same model with its feature values exposed
   * as outputs (the weights are the model's; nothing is rebuilt or written).
   */
  embed(input: ImageInput, options?: EmbedOptions): Promise<Float32Array>;
  /** The threads, workers and batch size in use, and why. */
  readonly plan: ExecutionPlan;
  /** Classify one image (a path or encoded bytes). */
  classify(input: ImageInput): Promise<Classification>;
  /** Classify several images in one batch; an image that fails yields its Error in its place. */
  classifyBatch(inputs: readonly ImageInput[]): Promise<(Classification | PplcnetError)[]>;
  /**
   * Classify many images in batches, in order, preparing the next batches (in worker threads) while the
   * current one runs. Yields each batch's results; failures are Errors in place.
   */
  classifyStream(inputs: Iterable<ImageInput>, options?: { batchSize?: number }): AsyncGenerator<(Classification | PplcnetError)[]>;
  /** Preprocessing worker threads in use (0 until a stream needs them). */
  readonly workers: number;
  /** Run on an already preprocessed [N,3,H,W] tensor; returns probabilities [N, classes]. */
  run(data: Float32Array, n: number, height: number, width: number): Promise<Float32Array>;
  /** The `logits` output of the last `run`, when the model has one. */
  readonly lastLogits: Float32Array | undefined;
  /** The network's output names (`logits`, `probs` for pplcnet's models). */
  readonly outputNames: readonly string[];
  /**
   * Decode, resize, crop and normalize one image, in a preprocessing worker thread when `workers` > 0 (else
   * on this thread). Rejects with an E_IMAGE PplcnetError naming `name`.
   */
  prepare(input: ImageInput, name?: string, options?: PrepareOptions): Promise<PreparedInput>;
  /**
   * Run prepared images: one onnxruntime run per group of the same size. Errors given in place stay in
   * place; each result carries its own row of probabilities (and logits).
   */
  classifyPrepared(prepared: readonly (PreparedInput | PplcnetError)[]): Promise<(Classification | PplcnetError)[]>;
  /**
   * Open `count` inference lanes on this model (its options: provider, top-k, threshold, labels), for a caller
   * that batches prepared images itself and keeps its own thread free (a server). The classifier's `close`
   * closes them too.
   */
  openLanes(count: number): InferenceLanes;
  /**
   * Release the onnxruntime session and the worker threads. Idempotent; any use afterwards throws a
   * `PplcnetError` with code `E_CLOSED`. `await using clf = await createClassifier(…)` closes it for you.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
