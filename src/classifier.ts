/**
 * The library's main entry: `createClassifier({ model })` → `classify(imageOrPath)`.
 * Resolves the model (zoo name, .onnx, or a Paddle model converted on first use), reads its metadata
 * (preprocessing, labels), and runs it on onnxruntime-node.
 */
import { PplcnetError, invalidOption } from './errors.js';
import type { ImageInput } from './image/decode.js';
import { availableParallelism } from 'node:os';
import { pixelLimit } from './image/limits.js';
import { PreprocessPool } from './image/pool.js';
import { type PreparedImage, preprocess as prepareImage } from './image/preprocess.js';
import { imagenetLabels } from './labels.js';
import { IMAGENET_PREPROCESS, type ModelMetadata, type Preprocess, parseMetadata } from './metadata.js';
import { readMetadataProps } from './onnx/metadata-props.js';
import { type TopClass, asProbabilities, topK } from './output.js';
import { type SessionOptions, createSession, ort } from './runtime/session.js';
import { type ModelSource, type ResolveOptions, resolveModel } from './models/resolve.js';

export { type TopClass, topK, softmaxRows } from './output.js';

export interface ClassifierOptions extends SessionOptions, ResolveOptions {
  /**
   * A zoo name (`PP-LCNet_x0_25_textline_ori`), an `.onnx` file, a Paddle model to convert (`.pdparams`,
   * inference model folder/`.json`/`.pdmodel`, `*_infer.tar`), or the bytes of an ONNX model.
   */
  model: ModelSource;
  /** How many classes to return. [the model's `topk`, else 5] */
  topk?: number;
  /**
   * Preprocessing worker threads for `classifyStream` (they decode and resize the next batches while
   * onnxruntime runs the current one). 0 prepares on the main thread. [min(2, CPUs − 1), at least 1]
   */
  workers?: number;
  /** The most pixels an image may declare; larger ones fail (E_IMAGE) before they are decoded. [MAX_PIXELS] */
  maxPixels?: number;
}

export interface Classification {
  /** The file name, or `<n bytes>` for an in-memory image. */
  readonly input: string;
  readonly topk: readonly TopClass[];
  /** Every class's probability. */
  readonly probs: Float32Array;
  /** The model's `logits` row, when it has that output. */
  readonly logits?: Float32Array;
  readonly timings: { readonly decodeMs: number; readonly preprocessMs: number; readonly inferenceMs: number; readonly batchSize: number };
}

export interface Classifier {
  readonly name: string;
  readonly provider: string;
  readonly metadata: ModelMetadata;
  readonly preprocess: Preprocess;
  readonly labels: readonly string[] | undefined;
  readonly inputName: string;
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
  prepare(input: ImageInput, name?: string): Promise<PreparedInput>;
  /**
   * Run prepared images: one onnxruntime run per group of the same size. Errors given in place stay in
   * place; each result carries its own row of probabilities (and logits).
   */
  classifyPrepared(prepared: readonly (PreparedInput | PplcnetError)[]): Promise<(Classification | PplcnetError)[]>;
  /**
   * Release the onnxruntime session and the worker threads. Idempotent; any use afterwards throws a
   * `PplcnetError` with code `E_CLOSED`. `await using clf = await createClassifier(…)` closes it for you.
   */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** One image ready for the network ([3, H, W] float32), with its name. */
export interface PreparedInput extends PreparedImage {
  readonly name: string;
}

export async function createClassifier(options: ClassifierOptions): Promise<Classifier> {
  if (!options || !((typeof options.model === 'string' && options.model !== '') || options.model instanceof Uint8Array)) {
    throw invalidOption('model', 'a zoo name, a model path or ONNX model bytes (Uint8Array)', options?.model, 'type');
  }
  const decodeOptions = options.maxPixels === undefined ? undefined : { maxPixels: pixelLimit(options) };
  const resolved = await resolveModel(options.model, options);
  const metadata = parseMetadata(readMetadataProps(resolved.bytes, resolved.path ?? resolved.name));
  // Idle-thread spinning off by default: preprocessing shares the cores with inference (measured in
  // bench/predict-folder.ts: ~10% more images/s on 2 cores).
  const { session, provider } = await createSession(resolved.bytes, { ...options, spinning: options.spinning ?? false });
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames.includes('probs') ? 'probs' : session.outputNames[0]!;
  const preprocess = metadata.preprocess ?? IMAGENET_PREPROCESS;
  const topk = options.topk ?? metadata.topk ?? 5;
  if (!Number.isInteger(topk) || topk < 1) throw invalidOption('topk', 'a positive integer', topk);
  // labels from the metadata; a 1000-class model without any gets the ImageNet-1k names on first run
  let resolvedLabels = metadata.labels;

  let lastLogits: Float32Array | undefined;
  let closed = false;
  const assertOpen = (what: string): void => {
    if (closed) throw new PplcnetError('E_CLOSED', `${what}: this classifier (${resolved.name}) was closed; create a new one with createClassifier()`);
  };
  const run = async (data: Float32Array, n: number, h: number, w: number): Promise<Float32Array> => {
    assertOpen('run');
    const out = await session.run({ [inputName]: new ort.Tensor('float32', data, [n, 3, h, w]) });
    lastLogits = out.logits ? (out.logits.data as Float32Array) : undefined;
    const t = out[outputName]!;
    const values = t.data as Float32Array;
    const cols = values.length / n;
    if (!resolvedLabels && cols === 1000) resolvedLabels = imagenetLabels();
    if (outputName === 'probs') return values;
    // A foreign model: use its output as probabilities when it already is a distribution, else softmax it.
    return asProbabilities(values, n);
  };

  /** One image ready for the network, with its name. */
  type Ready = PreparedImage & { name: string };
  const nameOf = (i: ImageInput): string => (typeof i === 'string' ? i : `<${i.length} bytes>`);
  const asError = (i: ImageInput, err: unknown): PplcnetError =>
    err instanceof PplcnetError ? err : new PplcnetError('E_IMAGE', `${nameOf(i)}: ${(err as Error).message}`);
  const prepareHere = async (input: ImageInput): Promise<Ready> => ({ name: nameOf(input), ...(await prepareImage(input, preprocess, nameOf(input), decodeOptions)) });

  /** Run prepared images (grouped by size, one batch per size) and build their results. */
  const infer = async (prepared: (Ready | PplcnetError)[]): Promise<(Classification | PplcnetError)[]> => {
    const results: (Classification | PplcnetError)[] = prepared.map((p) => (p instanceof PplcnetError ? p : (undefined as never)));
    const groups = new Map<string, number[]>();
    prepared.forEach((p, i) => {
      if (p instanceof PplcnetError) return;
      const key = `${p.width}x${p.height}`;
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    for (const idx of groups.values()) {
      const first = prepared[idx[0]!] as Ready;
      const plane = 3 * first.width * first.height;
      const data = idx.length === 1 ? first.data : new Float32Array(idx.length * plane);
      if (idx.length > 1) idx.forEach((i, k) => data.set((prepared[i] as Ready).data, k * plane));
      const t1 = performance.now();
      const probs = await run(data, idx.length, first.height, first.width);
      const logits = lastLogits;
      const inferenceMs = performance.now() - t1;
      const cols = probs.length / idx.length;
      const logitCols = logits ? logits.length / idx.length : 0;
      idx.forEach((i, k) => {
        const p = prepared[i] as Ready;
        const row = probs.slice(k * cols, (k + 1) * cols);
        results[i] = {
          input: p.name,
          topk: topK(row, topk, resolvedLabels),
          probs: row,
          ...(logits ? { logits: logits.slice(k * logitCols, (k + 1) * logitCols) } : {}),
          timings: { decodeMs: p.decodeMs, preprocessMs: p.preprocessMs, inferenceMs, batchSize: idx.length },
        };
      });
    }
    return results;
  };

  const classifyBatch = async (inputs: readonly ImageInput[]): Promise<(Classification | PplcnetError)[]> => {
    assertOpen('classifyBatch');
    return infer(await Promise.all(inputs.map((i) => prepareHere(i).catch((err: unknown) => asError(i, err)))));
  };

  const workerCount = options.workers ?? Math.max(1, Math.min(2, availableParallelism() - 1));
  if (!Number.isInteger(workerCount) || workerCount < 0 || workerCount > 64) throw invalidOption('workers', 'an integer from 0 to 64', workerCount);
  let pool: PreprocessPool | undefined;

  async function* classifyStream(inputs: Iterable<ImageInput>, streamOptions: { batchSize?: number } = {}): AsyncGenerator<(Classification | PplcnetError)[]> {
    assertOpen('classifyStream');
    const batchSize = streamOptions.batchSize ?? 8;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw invalidOption('batchSize', 'a positive integer', batchSize);
    const all = [...inputs];
    if (workerCount > 0 && all.length > batchSize) pool ??= new PreprocessPool(workerCount);
    const start = (i: ImageInput): Promise<Ready | PplcnetError> =>
      (pool ? pool.prepare(i, nameOf(i), preprocess, options.maxPixels).then((r) => ({ name: nameOf(i), ...r })) : prepareHere(i)).catch((err: unknown) => asError(i, err));
    // keep two batches in preparation ahead of the one running
    const batches: Promise<(Ready | PplcnetError)[]>[] = [];
    const queue = (k: number): void => {
      if (k * batchSize < all.length && !batches[k]) batches[k] = Promise.all(all.slice(k * batchSize, (k + 1) * batchSize).map(start));
    };
    for (let k = 0; k * batchSize < all.length; k++) {
      queue(k);
      queue(k + 1);
      queue(k + 2);
      const ready = await batches[k]!;
      delete batches[k];
      yield await infer(ready);
    }
  }

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await pool?.close();
    pool = undefined;
    await session.release();
  };

  return {
    name: metadata.name ?? resolved.name,
    provider,
    metadata,
    preprocess,
    get labels() {
      return resolvedLabels;
    },
    get lastLogits() {
      return lastLogits;
    },
    inputName,
    outputNames: [...session.outputNames],
    prepare(input: ImageInput, name = nameOf(input)): Promise<PreparedInput> {
      if (workerCount > 0) pool ??= new PreprocessPool(workerCount);
      const p = pool ? pool.prepare(input, name, preprocess) : prepareImage(input, preprocess, name);
      return p.then(
        (r) => ({ name, ...r }),
        (err: unknown) => {
          throw err instanceof PplcnetError ? err : new PplcnetError('E_IMAGE', `${name}: ${(err as Error).message}`);
        },
      );
    },
    classifyPrepared: (prepared) => infer([...prepared] as (Ready | PplcnetError)[]),
    classifyBatch,
    classifyStream,
    get workers() {
      return pool?.size ?? 0;
    },
    async classify(input: ImageInput): Promise<Classification> {
      const [r] = await classifyBatch([input]);
      if (r instanceof Error) throw r;
      return r!;
    },
    run,
    close,
    [Symbol.asyncDispose]: close,
  };
}
