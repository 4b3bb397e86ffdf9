/**
 * The Node-free part of a model's preprocessing, shared by the Node classifier and the browser build
 * (`pplcnet/web`): resize (OpenCV INTER_LINEAR) and center crop of an RGB uint8 image, then channel order and
 * normalization into float32 CHW exactly as Paddle computes it. Imports no Node built-in.
 */
import { PplcnetError } from '../errors.js';
import type { Preprocess } from '../metadata.js';
import { type Image8, type Normalization, type PlaneSteps, type Window, centerWindow, lookupInto, resizeLinear, resizeNormalizeInto, resizeTarget } from './resize.js';

/** The network input size (h, w) a preprocessing produces. */
export function preprocessOutputSize(p: Preprocess): [number, number] | undefined {
  if (p.crop) return [p.crop.height, p.crop.width];
  if (p.resize.mode === 'exact') return [p.resize.height, p.resize.width];
  return undefined; // resize_short without a crop: depends on the image
}

/** The size of an image (or of the full-size image a reduced-scale decode came from). */
type Size = { readonly width: number; readonly height: number };

/**
 * The size an image is resized to and the window of it kept (the crop, or all of it). `from`: the size the
 * resize target is computed from, when the image is a reduced-scale decode of a larger one. [img's size]
 */
function resizeGeometry(from: Size, p: Preprocess, where: string): { w: number; h: number; window: Window } {
  const [w, h] = resizeTarget(from.width, from.height, p.resize);
  const window = p.crop ? centerWindow(w, h, p.crop.width, p.crop.height, where) : { x: 0, y: 0, width: w, height: h };
  return { w, h, window };
}

/**
 * Resize and crop (uint8, RGB); only the pixels inside the crop are computed. `from`: the size the resize
 * target is computed from, when `img` is a reduced-scale decode of a larger image. [img's size]
 */
export function resizeAndCrop(img: Image8, p: Preprocess, where = 'image', from: Size = img): Image8 {
  const { w, h, window } = resizeGeometry(from, p, where);
  return resizeLinear(img, w, h, window);
}

/**
 * Per output channel: the float32 steps Paddle takes from a byte, and a lookup table of their result over
 * the 256 byte values. Paddle: ((v·scale) − mean) / std; PaddleX: v·α + β with α = scale/std, β = −mean/std
 * (written here as v·α − (−β), the same float32 result).
 */
function normalizationOf(p: Preprocess): Normalization {
  const f = Math.fround;
  const steps = [0, 1, 2].map((c): PlaneSteps => {
    if (p.normalization === 'paddlex') return { a: f(p.scale / p.std[c]!), b: -f(-p.mean[c]! / p.std[c]!), c: 1 };
    return { a: f(p.scale), b: f(p.mean[c]!), c: f(p.std[c]!) };
  }) as [PlaneSteps, PlaneSteps, PlaneSteps];
  const divide = p.normalization !== 'paddlex';
  const tables = steps.map(({ a, b, c }) => {
    const lut = new Float32Array(256);
    for (let v = 0; v < 256; v++) lut[v] = divide ? f(f(f(v * a) - b) / c) : f(f(v * a) - b);
    return lut;
  }) as [Float32Array, Float32Array, Float32Array];
  return { tables, steps, divide, bgr: p.channelOrder === 'bgr' };
}

/** The normalization of each preprocessing object seen, computed once. */
const NORMALIZATIONS = new WeakMap<Preprocess, Normalization>();

function normalization(p: Preprocess): Normalization {
  let n = NORMALIZATIONS.get(p);
  if (!n) NORMALIZATIONS.set(p, (n = normalizationOf(p)));
  return n;
}

/**
 * Resize, crop and normalize in one pass into `out` at `offset` (CHW float32, the model's channel order):
 * the same values as {@link resizeAndCrop} then {@link normalizeInto}, without the intermediate bytes.
 * Returns the size written (width, height).
 */
export function prepareInto(img: Image8, p: Preprocess, out: Float32Array, offset = 0, where = 'image', from: Size = img): { width: number; height: number } {
  const { w, h, window } = resizeGeometry(from, p, where);
  resizeNormalizeInto(img, w, h, window, normalization(p), out, offset);
  return { width: window.width, height: window.height };
}

/** The tensor size `prepareInto` writes for an image of `width` × `height` (throws when the crop does not fit). */
export function preparedSize(width: number, height: number, p: Preprocess, where = 'image'): { width: number; height: number } {
  const { window } = resizeGeometry({ width, height }, p, where);
  return { width: window.width, height: window.height };
}

/**
 * Normalize an RGB uint8 image into `out` at `offset` as CHW float32, in the model's channel order: one pass
 * over the interleaved pixels, each byte read once, three table lookups per pixel.
 */
export function normalizeInto(img: Image8, p: Preprocess, out: Float32Array, offset = 0): void {
  lookupInto(img, normalization(p), out, offset);
}

/**
 * A decoded image → its new [3, H, W] tensor (resize, crop, normalize in one pass). A crop that does not fit
 * is an E_IMAGE error naming `where`. `from`: as for {@link resizeAndCrop}.
 */
export function toTensor(img: Image8, p: Preprocess, where = 'image', from: Size = img): { data: Float32Array; width: number; height: number } {
  let size: { width: number; height: number };
  try {
    size = preparedSize(from.width, from.height, p, where);
  } catch (err) {
    throw new PplcnetError('E_IMAGE', (err as Error).message);
  }
  const data = new Float32Array(3 * size.width * size.height);
  prepareInto(img, p, data, 0, where, from);
  return { data, ...size };
}
