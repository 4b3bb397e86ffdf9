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
import { ATTRIBUTE_POSTPROCESSES, type AttributePostprocess, IMAGENET_PREPROCESS, type ModelMetadata, type Preprocess, parseMetadata } from './metadata.js';
import { exposeOutputs } from './onnx/expose-outputs.js';
import { readMetadataProps } from './onnx/metadata-props.js';
import { type TopClass, asProbabilities, overThreshold, thresholdBinary, topK } from './output.js';
import { type SessionOptions, createSession, ort } from './runtime/session.js';
import { type ModelSource, type ResolveOptions, resolveModel } from './models/resolve.js';

export { type TopClass, overThreshold, softmaxRows, thresholdBinary, topK } from './output.js';

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
  /**
   * Score threshold: a multi-label model reports every class whose score reaches it; a binary model whose
   * source defines one (PaddleClas `ThreshOutput`) reports class 1 when its probability reaches it.
   * [the model's recorded threshold, else 0.5]
   */
  threshold?: number;
  /** Class names that replace the model's (index = class id); their count must equal the class count. */
  labels?: readonly string[];
}

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

export interface Classification {
  /** The file name, or `<n bytes>` for an in-memory image. */
  readonly input: string;
  readonly topk: readonly TopClass[];
  /**
   * Multi-label models only: every class whose score reaches the threshold, by class id. Scores are the
   * per-class sigmoid probabilities (they do not sum to 1).
   */
  readonly labels?: readonly TopClass[];
  /**
   * Multi-label models whose source defines one (`pplcnet.postprocess`): PaddleClas's readable attributes and
   * 0/1 output (`PersonAttribute`, `VehicleAttribute`, `TableAttribute` of attr_rec.py), at its own thresholds.
   */
  readonly attributes?: AttributeResult;
  /** Every class's probability (per-class scores for a multi-label model). */
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
  /** Whether the model is multi-label (a sigmoid head: independent per-class scores). */
  readonly multiLabel: boolean;
  /** The threshold in use (see {@link ClassifierOptions.threshold}). */
  readonly threshold: number;
  readonly inputName: string;
  /**
   * The pooled feature vector of one image (a path or encoded bytes), as a retrieval index would store it.
   * The first call opens a second onnxruntime session on the same model with its feature values exposed
   * as outputs (the weights are the model's; nothing is rebuilt or written).
   */
  embed(input: ImageInput, options?: EmbedOptions): Promise<Float32Array>;
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
  const multiLabel = session.outputNames.includes('scores') && (metadata.head === 'sigmoid' || !session.outputNames.includes('probs'));
  const outputName = multiLabel ? 'scores' : session.outputNames.includes('probs') ? 'probs' : session.outputNames[0]!;
  const threshold = options.threshold ?? metadata.threshold ?? 0.5;
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) throw invalidOption('threshold', 'a number from 0 to 1', threshold);
  // ThreshOutput applies to a binary single-label model whose source defines a threshold (or given one)
  const binaryThreshold = !multiLabel && (options.threshold !== undefined || metadata.threshold !== undefined);
  const preprocess = metadata.preprocess ?? IMAGENET_PREPROCESS;
  const topk = options.topk ?? metadata.topk ?? 5;
  if (!Number.isInteger(topk) || topk < 1) throw invalidOption('topk', 'a positive integer', topk);
  // labels from the metadata; a 1000-class model without any gets the ImageNet-1k names on first run
  let resolvedLabels = options.labels ?? metadata.labels;
  if (options.labels !== undefined && (!Array.isArray(options.labels) || !options.labels.every((l) => typeof l === 'string'))) {
    throw invalidOption('labels', 'an array of strings', options.labels, 'type');
  }

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
    if (options.labels && options.labels.length !== cols) {
      throw new PplcnetError('E_MODEL', `${options.labels.length} labels given for a model of ${cols} classes (${options.model}); give one label per class`);
    }
    if (outputName === 'probs' || outputName === 'scores') return values;
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
          topk: binaryThreshold && cols === 2 ? thresholdBinary(row, threshold, resolvedLabels).slice(0, topk) : topK(row, topk, resolvedLabels),
          ...(multiLabel ? { labels: overThreshold(row, threshold, resolvedLabels) } : {}),
          ...(multiLabel && metadata.postprocess ? { attributes: paddleClasAttributes(metadata.postprocess, row) } : {}),
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

  // the embedding session: the same model with its feature values as outputs, opened on first use
  let featureSession: Promise<Awaited<ReturnType<typeof createSession>>['session']> | undefined;
  const embed = async (input: ImageInput, embedOptions: EmbedOptions = {}): Promise<Float32Array> => {
    assertOpen('embed');
    const layer = embedOptions.layer ?? 'embedding';
    if (layer !== 'embedding' && layer !== 'gap') throw invalidOption('layer', "'embedding' or 'gap'", layer);
    featureSession ??= (async () => {
      // pplcnet's builder names the fc input `flatten` and the pooled last block `avg_pool`
      const bytes = exposeOutputs(resolved.bytes, ['flatten', 'avg_pool'], resolved.path ?? resolved.name);
      return (await createSession(bytes, { ...options, spinning: options.spinning ?? false, notice: () => {} })).session;
    })();
    const fs = await featureSession;
    assertOpen('embed');
    const p = await prepareHere(input);
    const out = await fs.run({ [inputName]: new ort.Tensor('float32', p.data, [1, 3, p.height, p.width]) });
    const v = Float32Array.from(out[layer === 'gap' ? 'avg_pool' : 'flatten']!.data as Float32Array);
    if (embedOptions.normalize) l2Normalize(v);
    return v;
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await pool?.close();
    pool = undefined;
    await session.release();
    const fs = featureSession;
    featureSession = undefined;
    if (fs) await (await fs.catch(() => undefined))?.release();
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
    multiLabel,
    threshold,
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
    embed,
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

/** Divide `v` by its L2 norm, in place (a zero vector stays zero). */
export function l2Normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] = v[i]! / n;
  return v;
}

/*
 * PaddleClas's attribute post-processing (`ppcls/data/postprocess/attr_rec.py`), reproduced from its source
 * over the per-class sigmoid scores: `PersonAttribute` (PA-100K's 26), `VehicleAttribute` (10 colours, 9
 * types), `TableAttribute` (6 yes/no). Same comparisons (strict `>` except the vehicle's `>=`), same argmax
 * (first index on ties), same group names and strings, same default thresholds.
 */

/** What PaddleClas returns per image: readable `attributes` and the 0/1 `output` vector. */
export interface AttributeResult {
  readonly attributes: readonly string[];
  readonly output: readonly number[];
}

const CLASS_COUNT: Record<AttributePostprocess, number> = { PersonAttribute: 26, VehicleAttribute: 19, TableAttribute: 6 };

function argmax(v: ArrayLike<number>, from: number, to: number): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (v[i]! > v[best]!) best = i;
  return best - from;
}

/** `PersonAttribute(threshold=0.5, glasses_threshold=0.3, hold_threshold=0.6)`. */
function person(res: ArrayLike<number>, threshold = 0.5, glassesThreshold = 0.3, holdThreshold = 0.6): AttributeResult {
  const ages = ['AgeLess18', 'Age18-60', 'AgeOver60'];
  const directions = ['Front', 'Side', 'Back'];
  const bags = ['HandBag', 'ShoulderBag', 'Backpack'];
  const uppers = ['UpperStride', 'UpperLogo', 'UpperPlaid', 'UpperSplice'];
  const lowers = ['LowerStripe', 'LowerPattern', 'LongCoat', 'Trousers', 'Shorts', 'Skirt&Dress'];
  const out: string[] = [];
  out.push(res[22]! > threshold ? 'Female' : 'Male');
  out.push(ages[argmax(res, 19, 22)]!);
  out.push(directions[argmax(res, 23, 26)]!);
  out.push(`Glasses: ${res[1]! > glassesThreshold ? 'True' : 'False'}`);
  out.push(`Hat: ${res[0]! > threshold ? 'True' : 'False'}`);
  out.push(`HoldObjectsInFront: ${res[18]! > holdThreshold ? 'True' : 'False'}`);
  const bag = argmax(res, 15, 18);
  out.push(res[15 + bag]! > threshold ? bags[bag]! : 'No bag');
  let upper = `Upper: ${res[3]! > res[2]! ? 'LongSleeve' : 'ShortSleeve'}`;
  uppers.forEach((u, i) => {
    if (res[4 + i]! > threshold) upper += ` ${u}`;
  });
  out.push(upper);
  let lower = 'Lower: ';
  let hasLower = false;
  lowers.forEach((l, i) => {
    if (res[8 + i]! > threshold) {
      lower += ` ${l}`;
      hasLower = true;
    }
  });
  if (!hasLower) lower += ` ${lowers[argmax(res, 8, 14)]}`;
  out.push(lower);
  out.push(res[14]! > threshold ? 'Boots' : 'No boots');
  const thresholds = Array.from({ length: res.length }, (_, i) => (i === 1 ? glassesThreshold : i === 18 ? holdThreshold : 0.5));
  return { attributes: out, output: thresholds.map((t, i) => (res[i]! > t ? 1 : 0)) };
}

/** `VehicleAttribute(color_threshold=0.5, type_threshold=0.5)`; the probability printed as Python prints a float. */
function vehicle(res: ArrayLike<number>, colorThreshold = 0.5, typeThreshold = 0.5): AttributeResult {
  const colors = ['yellow', 'orange', 'green', 'gray', 'red', 'blue', 'white', 'golden', 'brown', 'black'];
  const types = ['sedan', 'suv', 'van', 'hatchback', 'mpv', 'pickup', 'bus', 'truck', 'estate'];
  const c = argmax(res, 0, 10);
  const t = argmax(res, 10, 19);
  const color = res[c]! >= colorThreshold ? `Color: (${colors[c]}, prob: ${pyFloat(res[c]!)})` : 'Color unknown';
  const type = res[10 + t]! >= typeThreshold ? `Type: (${types[t]}, prob: ${pyFloat(res[10 + t]!)})` : 'Type unknown';
  return { attributes: [`${color}, ${type}`], output: Array.from({ length: 19 }, (_, i) => (res[i]! > (i < 10 ? colorThreshold : typeThreshold) ? 1 : 0)) };
}

/** `TableAttribute` (every threshold 0.5; the source compares obstruction and angle against number_threshold). */
function table(res: ArrayLike<number>, threshold = 0.5): AttributeResult {
  const pairs: [string, string][] = [['Scanned', 'Photo'], ['Little', 'Numerous'], ['Black-and-White', 'Multicolor'], ['Clear', 'Blurry'], ['Without-Obstacles', 'With-Obstacles'], ['Horizontal', 'Tilted']];
  return { attributes: pairs.map(([yes, no], i) => (res[i]! > threshold ? yes : no)), output: pairs.map((_, i) => (res[i]! > threshold ? 1 : 0)) };
}

/** Python's repr of a float (shortest round trip; JS writes the same digits for numbers in [1e-4, 1e16)). */
function pyFloat(x: number): string {
  const s = String(x);
  return Number.isInteger(x) ? `${s}.0` : s;
}

/**
 * PaddleClas's readable attributes for one image's per-class sigmoid scores. Thresholds are the defaults of
 * the deploy configs (`deploy/configs/PULC/person_attribute/inference_person_attribute.yaml`: 0.5, glasses
 * 0.3, hold 0.6; vehicle and table: 0.5).
 */
export function paddleClasAttributes(kind: AttributePostprocess, scores: ArrayLike<number>): AttributeResult {
  if (!ATTRIBUTE_POSTPROCESSES.includes(kind)) throw invalidOption('postprocess', `one of ${ATTRIBUTE_POSTPROCESSES.join(', ')}`, kind);
  if (scores.length !== CLASS_COUNT[kind]) throw invalidOption('scores', `${CLASS_COUNT[kind]} scores for ${kind}`, scores.length);
  return kind === 'PersonAttribute' ? person(scores) : kind === 'VehicleAttribute' ? vehicle(scores) : table(scores);
}
