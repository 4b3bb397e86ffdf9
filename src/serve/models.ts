/**
 * A loaded model as the service holds it: its classifier, its batcher (one onnxruntime run per batch) and
 * what the metadata endpoints say about it.
 */
import type { Classification, Classifier, PreparedInput } from '../classifier.js';
import { preprocessOutputSize } from '../image/preprocess.js';
import { Batcher } from './batcher.js';
import type { ServeMetrics } from './metrics.js';

export interface ServedModel {
  readonly name: string;
  readonly classifier: Classifier;
  readonly batcher: Batcher<PreparedInput, Classification>;
  /** The network input (h, w) when fixed by the preprocessing, else undefined. */
  readonly inputSize: readonly [number, number] | undefined;
  /** Classes (the width of `probs`), when known. */
  readonly classes: number | undefined;
}

export interface BatchingOptions {
  maxBatch: number;
  maxDelayMs: number;
}

/** Wrap a classifier for serving: a batcher, and one warm-up run that learns the class count. */
export async function serveModel(name: string, classifier: Classifier, batching: BatchingOptions, metrics?: ServeMetrics): Promise<ServedModel> {
  const size = preprocessOutputSize(classifier.preprocess) ?? classifier.metadata.inputSize;
  let classes = classifier.labels?.length;
  if (size) {
    const [h, w] = size;
    const probs = await classifier.run(new Float32Array(3 * h * w), 1, h, w);
    classes = probs.length;
  }
  const batcher = new Batcher<PreparedInput, Classification>({
    maxBatch: batching.maxBatch,
    maxDelayMs: batching.maxDelayMs,
    run: (items) => classifier.classifyPrepared(items),
    onBatch: (n, ms) => {
      metrics?.batchSize.observe({ model: name }, n);
      metrics?.batchSeconds.observe({ model: name }, ms / 1000);
    },
  });
  return { name, classifier, batcher, inputSize: size ? [size[0], size[1]] : undefined, classes };
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

