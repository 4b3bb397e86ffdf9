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

/**
 * Resize and crop (uint8, RGB); only the pixels inside the crop are computed. `from`: the size the resize
 * target is computed from, when `img` is a reduced-scale decode of a larger image. [img's size]
 */
export function resizeAndCrop(img: Image8, p: Preprocess, where = 'image', from: { readonly width: number; readonly height: number } = img): Image8 {
  const [w, h] = p.resize.mode === 'short' ? resizeShortSize(from.width, from.height, p.resize.size) : [p.resize.width, p.resize.height];
  const window = p.crop ? centerWindow(w, h, p.crop.width, p.crop.height, where) : undefined;
  return resizeLinear(img, w, h, window);
}

/** Per output channel: a lookup table over the 256 byte values, computed with Paddle's float32 steps. */
function channelTables(p: Preprocess): [Float32Array, Float32Array, Float32Array] {
  const f = Math.fround;
  const tables = [0, 1, 2].map((c) => {
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
    return lut;
  });
  return tables as [Float32Array, Float32Array, Float32Array];
}

/** The tables of each preprocessing object seen, computed once. */
const TABLES = new WeakMap<Preprocess, [Float32Array, Float32Array, Float32Array]>();

/**
 * Normalize an RGB uint8 image into `out` at `offset` as CHW float32, in the model's channel order: one pass
 * over the interleaved pixels, each byte read once, three table lookups per pixel.
 */
export function normalizeInto(img: Image8, p: Preprocess, out: Float32Array, offset = 0): void {
  let tables = TABLES.get(p);
  if (!tables) TABLES.set(p, (tables = channelTables(p)));
  const [t0, t1, t2] = tables;
  const plane = img.width * img.height;
  // output channel 0 reads R (rgb) or B (bgr); channel 2 the other one
  const s0 = p.channelOrder === 'bgr' ? 2 : 0;
  const s2 = 2 - s0;
  const { data } = img;
  const o1 = offset + plane;
  const o2 = offset + 2 * plane;
  for (let i = 0, j = 0; i < plane; i++, j += 3) {
    out[offset + i] = t0[data[j + s0]!]!;
    out[o1 + i] = t1[data[j + 1]!]!;
    out[o2 + i] = t2[data[j + s2]!]!;
  }
}
