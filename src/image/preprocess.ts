/**
 * A model's preprocessing, from an RGB uint8 image to the float32 CHW tensor it reads:
 * resize (OpenCV INTER_LINEAR), center crop, channel order, normalization in float32 as Paddle does.
 */
import { PplcnetError } from '../errors.js';
import type { Preprocess } from '../metadata.js';
import { type ImageInput, decodeImage } from './decode.js';
import type { DecodeOptions } from './limits.js';
import { type Image8, centerWindow, resizeLinear, resizeShortSize } from './resize.js';

/** The network input size (h, w) a preprocessing produces. */
export function preprocessOutputSize(p: Preprocess): [number, number] | undefined {
  if (p.crop) return [p.crop.height, p.crop.width];
  if (p.resize.mode === 'exact') return [p.resize.height, p.resize.width];
  return undefined; // resize_short without a crop: depends on the image
}

/** Resize and crop (uint8, RGB); only the pixels inside the crop are computed. */
export function resizeAndCrop(img: Image8, p: Preprocess, where = 'image'): Image8 {
  const [w, h] = p.resize.mode === 'short' ? resizeShortSize(img.width, img.height, p.resize.size) : [p.resize.width, p.resize.height];
  const window = p.crop ? centerWindow(w, h, p.crop.width, p.crop.height, where) : undefined;
  return resizeLinear(img, w, h, window);
}

/** Normalize an RGB uint8 image into `out` at `offset` as CHW float32, in the model's channel order. */
export function normalizeInto(img: Image8, p: Preprocess, out: Float32Array, offset = 0): void {
  const f = Math.fround;
  const plane = img.width * img.height;
  const order = p.channelOrder === 'bgr' ? [2, 1, 0] : [0, 1, 2];
  const { data } = img;
  // Per output channel c: a lookup table over the 256 possible byte values, computed with Paddle's float32 steps.
  for (let c = 0; c < 3; c++) {
    const lut = new Float32Array(256);
    if (p.normalization === 'paddlex') {
      const alpha = f(p.scale / p.std[c]!);
      const beta = f(-p.mean[c]! / p.std[c]!);
      for (let v = 0; v < 256; v++) lut[v] = f(f(v * alpha) + beta);
    } else {
      const scale = f(p.scale);
      const mean = f(p.mean[c]!);
      const std = f(p.std[c]!);
      for (let v = 0; v < 256; v++) lut[v] = f(f(f(v * scale) - mean) / std);
    }
    const src = order[c]!;
    const base = offset + c * plane;
    for (let i = 0; i < plane; i++) out[base + i] = lut[data[i * 3 + src]!]!;
  }
}

/** One image ready for the network: a [3, H, W] float32 tensor, and where the time went. */
export interface PreparedImage {
  data: Float32Array;
  width: number;
  height: number;
  decodeMs: number;
  /** Resize, crop and normalize. */
  preprocessMs: number;
}

/**
 * Decode, resize, crop and normalize one image into a new [3, H, W] tensor. Failures are E_IMAGE errors naming
 * it; `options.maxPixels` is the pixel limit ({@link MAX_PIXELS} by default).
 */
export async function preprocess(input: ImageInput, p: Preprocess, name = typeof input === 'string' ? input : `<${input.length} bytes>`, options?: DecodeOptions): Promise<PreparedImage> {
  const t0 = performance.now();
  const decoded = await decodeImage(input, name, options);
  const t1 = performance.now();
  let img: Image8;
  try {
    img = resizeAndCrop(decoded, p, name);
  } catch (err) {
    throw new PplcnetError('E_IMAGE', (err as Error).message);
  }
  const data = new Float32Array(3 * img.width * img.height);
  normalizeInto(img, p, data);
  return { data, width: img.width, height: img.height, decodeMs: t1 - t0, preprocessMs: performance.now() - t1 };
}
