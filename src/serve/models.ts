/**
 * A loaded model as the service holds it: its classifier, its batcher (one onnxruntime run per batch) and
 * what the metadata endpoints say about it.
 */
import sharp from 'sharp';
import type { Classification, Classifier, PreparedInput } from '../classifier.js';
import { PplcnetError } from '../errors.js';
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
    maxBatch,
  };
}

/**
 * Refuse an image whose header declares more than `maxPixels` pixels, before anything is decoded. The header
 * is read by sharp (libvips reads no pixels for it) or, for BMP, from its info header.
 */
export async function checkPixels(bytes: Uint8Array, maxPixels: number, name: string): Promise<void> {
  let width: number | undefined;
  let height: number | undefined;
  if (bytes.length >= 26 && bytes[0] === 0x42 && bytes[1] === 0x4d) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const core = dv.getUint32(14, true) === 12;
    width = core ? dv.getUint16(18, true) : Math.abs(dv.getInt32(18, true));
    height = core ? dv.getUint16(20, true) : Math.abs(dv.getInt32(22, true));
  } else {
    try {
      const meta = await sharp(bytes, { limitInputPixels: false }).metadata();
      width = meta.width;
      height = meta.height;
    } catch {
      return; // not an image sharp can read: the decoder says why
    }
  }
  if (width !== undefined && height !== undefined && width * height > maxPixels) {
    throw new PplcnetError(
      'E_IMAGE',
      `${name}: ${width}×${height} is ${(width * height / 1e6).toFixed(1)} megapixels, over the limit of ${(maxPixels / 1e6).toFixed(1)} (--max-pixels); send a smaller image`,
    );
  }
}
