/**
 * A loaded model as the service holds it: its classifier, its batcher (one onnxruntime run per batch), the
 * inference lanes the batches run in (worker threads with a session each, so that this thread only parses,
 * admits, batches and answers) and what the metadata endpoints say about it.
 */
import { type Classification, type Classifier, type InferenceLanes, type PreparedInput, PplcnetError, preprocessOutputSize } from '../index.js';
import { Batcher } from './batcher.js';
import type { ServeMetrics } from './metrics.js';

export interface ServedModel {
  readonly name: string;
  readonly classifier: Classifier;
  readonly batcher: Batcher<PreparedInput, Classification>;
  /** Where the batches run; undefined: on this thread (`lanes: 0`). */
  readonly lanes: InferenceLanes | undefined;
  /** The network input (h, w) when fixed by the preprocessing, else undefined. */
  readonly inputSize: readonly [number, number] | undefined;
  /** Classes (the width of `probs`), when known. */
  readonly classes: number | undefined;
}

export interface BatchingOptions {
  maxBatch: number;
  maxDelayMs: number;
  /** Inference lanes to open for this model; 0 runs the batches on this thread. */
  lanes: number;
}

/**
 * One zero image through each lane (a batch per lane, as the least busy lane takes each), or through the
 * classifier here: every session has run once before the first request, a lane that cannot load the model
 * fails the start, and the class count is learnt. Undefined when the input size is not fixed.
 */
async function warmUp(classifier: Classifier, lanes: InferenceLanes | undefined, size: readonly number[] | undefined): Promise<number | undefined> {
  if (!size) return undefined;
  const [h, w] = size as [number, number];
  if (!lanes) return (await classifier.run(new Float32Array(3 * h * w), 1, h, w)).length;
  const zero = { name: 'warm-up', data: new Float32Array(3 * h * w), width: w, height: h, decodeMs: 0, preprocessMs: 0 };
  const rows = (await Promise.all(Array.from({ length: lanes.size }, () => lanes.classifyPrepared([zero])))).flat();
  const failed = rows.find((r): r is PplcnetError => r instanceof PplcnetError);
  if (failed) throw failed;
  return (rows[0] as Classification).probs.length;
}

/** Wrap a classifier for serving: its lanes, a batcher, and a warm-up run that learns the class count. */
export async function serveModel(name: string, classifier: Classifier, batching: BatchingOptions, metrics?: ServeMetrics): Promise<ServedModel> {
  const size = preprocessOutputSize(classifier.preprocess) ?? classifier.metadata.inputSize;
  const lanes = batching.lanes > 0 ? classifier.openLanes(batching.lanes) : undefined;
  let classes: number | undefined;
  try {
    classes = (await warmUp(classifier, lanes, size)) ?? classifier.labels?.length;
  } catch (err) {
    await lanes?.close();
    throw err;
  }
  const batcher = new Batcher<PreparedInput, Classification>({
    maxBatch: batching.maxBatch,
    maxDelayMs: batching.maxDelayMs,
    // one batch per lane at a time: the items that arrive meanwhile make the next batches fuller
    maxRunning: lanes?.size ?? 1,
    // the tensors are not used again here: they move to the lane without a copy
    run: (items) => (lanes ? lanes.classifyPrepared(items, { transfer: true }) : classifier.classifyPrepared(items)),
    onBatch: (n, ms) => {
      metrics?.batchSize.observe({ model: name }, n);
      metrics?.batchSeconds.observe({ model: name }, ms / 1000);
    },
  });
  return { name, classifier, batcher, lanes, inputSize: size ? [size[0]!, size[1]!] : undefined, classes };
}

/** What `GET /v1/models` says about a model. */
export function describeModel(m: ServedModel, maxBatch: number): Record<string, unknown> {
  const c = m.classifier;
  const md = c.metadata;
  return {
    name: m.name,
    provider: c.provider,
    input: { name: c.inputName, shape: [-1, 3, m.inputSize?.[0] ?? -1, m.inputSize?.[1] ?? -1], datatype: 'FP32' },
    outputs: c.outputNames,
    classes: m.classes ?? null,
    labels: c.labels?.length ?? 0,
    topk: md.topk ?? 5,
    inputSize: m.inputSize ?? null,
    preprocess: c.preprocess,
    ...(md.architecture ? { architecture: md.architecture } : {}),
    ...(md.source ? { source: md.source } : {}),
    ...(md.license ? { license: md.license } : {}),
    trained: md.trained ?? null,
    maxBatch,
  };
}

