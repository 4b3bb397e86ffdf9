/**
 * The Node-free part of a model's preprocessing, shared by the Node classifier and the browser build
 * (`pplcnet/web`): resize (OpenCV INTER_LINEAR) and center crop of an RGB uint8 image, then channel order and
 * normalization into float32 CHW exactly as Paddle computes it. Imports no Node built-in.
 */
import type { Preprocess } from '../metadata.js';
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
