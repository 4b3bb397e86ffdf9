/**
 * The library's main entry: `createClassifier({ model })` → `classify(imageOrPath)`. Assembles the parts in
 * `classifier/`: the model and its session (`model.ts`), how the cores are shared (`plan.ts`), preprocessing
 * dispatch (`prepare.ts`), batched runs (`batch.ts`) and streaming (`stream.ts`); top-k and softmax are in
 * `output.ts`.
 */
import { type PplcnetError, invalidOption } from './errors.js';
import type { ImageInput } from './image/decode.js';
import { type DecodeMode, decodeMode } from './image/fast-decode.js';
import { IMAGENET_PREPROCESS, type ModelMetadata } from './metadata.js';
import type { ResolvedModel } from './models/resolve.js';
import { pixelLimit } from './image/limits.js';
import { classifyPrepared } from './classifier/batch.js';
import { createEmbedder } from './classifier/embed.js';
import { type LoadedModel, closedError, loadModel, openModel, readModelMetadata } from './classifier/model.js';
import { inferenceEstimate, planExecution } from './classifier/plan.js';
import { Preparer, asImageError, nameOf } from './classifier/prepare.js';
import { streamBatches } from './classifier/stream.js';
import { LanePool, streamLanes } from './classifier/lanes.js';
import type { Classification, Classifier, ClassifierOptions, InferenceLanes } from './classifier/types.js';

export { type TopClass, overThreshold, softmaxRows, thresholdBinary, topK } from './output.js';
export type { Classification, Classifier, ClassifierOptions, EmbedOptions, InferenceLanes, PreparedInput, PrepareOptions, Timings } from './classifier/types.js';
export { type AttributeResult, l2Normalize, paddleClasAttributes } from './classifier/attributes.js';
export { type ExecutionPlan, planExecution } from './classifier/plan.js';
export { PREFETCH_LIMIT } from './classifier/types.js';

/** `options.prefetch`, checked: an array of image paths and image bytes. */
function checkedPrefetch(p: unknown): ImageInput[] {
  if (!Array.isArray(p) || !p.every((i) => typeof i === 'string' || i instanceof Uint8Array)) {
    throw invalidOption('prefetch', 'an array of image paths (strings) and image bytes (Uint8Array)', p, 'type');
  }
  return p;
}

/** The model resolved and loaded, with the plan of threads, workers and lanes its cost implies. */
async function openParts(options: ClassifierOptions) {
  const decode = decodeMode(options?.decode);
  const resolved = await openModel(options);
  if (options.maxPixels !== undefined) pixelLimit(options);
  const metadata = readModelMetadata(resolved);
  const plan = planExecution(options, inferenceEstimate(metadata));
  // Idle-thread spinning off by default: preprocessing shares the cores with inference (measured in
  // bench/predict-folder.ts: ~10% more images/s on 2 cores).
  const session = { ...options, threads: plan.threads, spinning: plan.spinning };
  const preparer = new Preparer(metadata.preprocess ?? IMAGENET_PREPROCESS, plan.workers, options.maxPixels, decode);
  // the images asked for first are read and decoded off this thread while the session is created on it
  if (options.prefetch !== undefined) await preparer.prefetch(checkedPrefetch(options.prefetch));
  try {
    const model = await loadModel(resolved, metadata, session, { topk: options.topk, threshold: options.threshold, labels: options.labels });
    return { decode, resolved, metadata, plan, session, model, preparer };
  } catch (err) {
    await preparer.close();
    throw err;
  }
}

/** Inference lanes: worker threads with a session each (1 intra-op thread) that prepare and run whole batches. */
function newLanePool(options: ClassifierOptions, count: number, resolved: ResolvedModel, metadata: ModelMetadata, decode: DecodeMode): LanePool {
  return new LanePool(count, {
    resolved: { name: resolved.name, bytes: resolved.bytes, origin: resolved.origin },
    metadata,
    session: { ep: options.ep, interThreads: options.interThreads, graphOpt: options.graphOpt, threads: 1, spinning: false },
    output: { topk: options.topk, threshold: options.threshold, labels: options.labels },
    maxPixels: options.maxPixels,
    decode,
    inFlight: 2,
  });
}

/** A stream on this thread: batches run here, images prepared in the preprocessing workers (when there are any) and here. */
function streamHere(all: readonly ImageInput[], batchSize: number, preparer: Preparer, model: LoadedModel, workersFrom: number): AsyncGenerator<(Classification | PplcnetError)[]> {
  return streamBatches(all, batchSize, { ...preparer.streamSteps(all.length, batchSize, workersFrom), classify: (prepared) => classifyPrepared(model, prepared) });
}

/** `Classifier.openLanes`, and closing every set of lanes still open when the classifier closes. */
function laneOpener(options: ClassifierOptions, resolved: ResolvedModel, metadata: ModelMetadata, decode: DecodeMode, assertOpen: (what: string) => void) {
  const opened = new Set<LanePool>();
  const open = (count: number): InferenceLanes => {
    assertOpen('openLanes');
    if (!Number.isInteger(count) || count < 1 || count > 64) throw invalidOption('count', 'an integer from 1 to 64', count);
    const pool = newLanePool(options, count, resolved, metadata, decode);
    opened.add(pool);
    return {
      size: count,
      classifyPrepared: (prepared, o = {}) => pool.runPrepared(prepared, o.transfer ?? false),
      get failure() {
        return pool.failure;
      },
      close: async () => {
        opened.delete(pool);
        await pool.close();
      },
    };
  };
  return { open, closeAll: () => Promise.all([...opened].map((p) => p.close())).then(() => undefined) };
}

const throwClosed = (what: string, name: string): never => {
  throw closedError(what, name);
};

/**
 * A stream over inference lanes. Until a lane has loaded (or throughout, when the plan makes this thread a
 * lane: `hereLane`), batches also run on this thread with `classifyBatch`: its session is loaded already.
 */
function streamOnLanes(all: readonly ImageInput[], batchSize: number, pool: LanePool, classifyBatch: Classifier['classifyBatch'], hereLane: boolean | undefined): AsyncGenerator<(Classification | PplcnetError)[]> {
  const here = (batch: readonly ImageInput[]) => classifyBatch(batch).catch((err: unknown) => batch.map((i) => asImageError(nameOf(i), err)));
  return streamLanes(all, batchSize, pool, undefined, here, hereLane);
}

export async function createClassifier(options: ClassifierOptions): Promise<Classifier> {
  const { decode, resolved, metadata, plan, session, model, preparer } = await openParts(options);
  let closed = false;
  const assertOpen = (what: string): void => void (closed && throwClosed(what, resolved.name));
  const embedder = createEmbedder(resolved, model.inputName, session, (i) => preparer.here(i), assertOpen);
  const classifyBatch: Classifier['classifyBatch'] = async (inputs) => {
    assertOpen('classifyBatch');
    const prepared = await Promise.all(inputs.map((i) => preparer.here(i).catch((err: unknown) => asImageError(nameOf(i), err))));
    return classifyPrepared(model, prepared);
  };
  let lanes: LanePool | undefined;
  const lanePool = (): LanePool => (lanes ??= newLanePool(options, plan.lanes, resolved, metadata, decode));
  async function* classifyStream(inputs: Iterable<ImageInput>, streamOptions: { batchSize?: number } = {}): AsyncGenerator<(Classification | PplcnetError)[]> {
    assertOpen('classifyStream');
    const batchSize = streamOptions.batchSize ?? plan.batchSize;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw invalidOption('batchSize', 'a positive integer', batchSize);
    const all = [...inputs];
    if (plan.lanes > 0 && all.length > batchSize) {
      for await (const rows of streamOnLanes(all, batchSize, lanePool(), classifyBatch, plan.hereLane)) {
        yield rows;
        if (closed) return; // closed while the stream was read: the rest is not run
      }
      return;
    }
    yield* streamHere(all, batchSize, preparer, model, plan.streamWorkersFrom);
  }
  const lanesOpened = laneOpener(options, resolved, metadata, decode, assertOpen);
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await preparer.close();
    await Promise.all([lanes?.close(), lanesOpened.closeAll()]);
    await model.release();
    await embedder.release();
  };
  return {
    name: model.name,
    provider: model.provider,
    metadata,
    preprocess: model.preprocess,
    plan,
    decode,
    get labels() {
      return model.labels;
    },
    get lastLogits() {
      return model.lastLogits;
    },
    multiLabel: model.head.multiLabel,
    head: model.head,
    threshold: model.head.threshold,
    inputName: model.inputName,
    outputNames: model.outputNames,
    embed: embedder.embed,
    prepare(input, name = nameOf(input), prepareOptions = {}) {
      preparer.startWorkers();
      if (prepareOptions.maxPixels !== undefined) pixelLimit(prepareOptions);
      return preparer.anywhere(input, name, prepareOptions.transfer ?? false, prepareOptions.maxPixels);
    },
    classifyPrepared: (prepared) => classifyPrepared(model, prepared),
    openLanes: lanesOpened.open,
    classifyBatch,
    classifyStream,
    get workers() {
      return preparer.workers;
    },
    async classify(input) {
      const [r] = await classifyBatch([input]);
      if (r instanceof Error) throw r;
      return r!;
    },
    run: async (data, n, h, w) => {
      assertOpen('run');
      return model.run(data, n, h, w);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
