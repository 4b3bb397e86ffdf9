/**
 * A model's preprocessing, from an RGB uint8 image to the float32 CHW tensor it reads:
 * resize (OpenCV INTER_LINEAR), center crop, channel order, normalization in float32 as Paddle does.
 */
import type { Preprocess } from '../metadata.js';
import { type ImageInput, decodeImage } from './decode.js';
import type { DecodeOptions } from './limits.js';
import { toTensor } from './pipeline.js';

export { normalizeInto, prepareInto, preparedSize, preprocessOutputSize, resizeAndCrop, toTensor } from './pipeline.js';

/** One image ready for the network: a [3, H, W] float32 tensor, and where the time went. */
export interface PreparedImage {
  data: Float32Array;
  width: number;
  height: number;
  decodeMs: number;
  /** Resize, crop and normalize. */
  preprocessMs: number;
  /** Time spent waiting for a preprocessing worker before the work began. [0] */
  queueMs?: number;
  /** What the decoder ignored and the user should know (bytes after a PNG's or JPEG's end). */
  warnings?: readonly string[];
}

/**
 * Decode, resize, crop and normalize one image into a new [3, H, W] tensor. Failures are E_IMAGE errors naming
 * it; `options.maxPixels` is the pixel limit ({@link MAX_PIXELS} by default); `options.decode` `'fast'` decodes large
 * JPEGs at reduced scale (not Paddle-exact).
 */
export async function preprocess(input: ImageInput, p: Preprocess, name = typeof input === 'string' ? input : `<${input.length} bytes>`, options?: DecodeOptions): Promise<PreparedImage> {
  const t0 = performance.now();
  const decoded = await decodeImage(input, name, options?.decode === 'fast' ? { ...options, resize: p.resize } : options);
  const t1 = performance.now();
  return { ...toTensor(decoded, p, name, decoded.scaledFrom), decodeMs: t1 - t0, preprocessMs: performance.now() - t1, ...(decoded.warnings ? { warnings: decoded.warnings } : {}) };
}
