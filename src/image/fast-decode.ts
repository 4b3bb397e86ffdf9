/**
 * The opt-in `decode: 'fast'` mode, NOT Paddle-exact: a JPEG far larger than the network input is decoded by
 * libjpeg at 1/8 or 1/4 scale in the DCT domain ("shrink-on-load"), so most of its pixels are never
 * made; the OpenCV-exact resize then brings it to the model's size as usual. Paddle decodes every pixel and
 * resizes once, so the pixels (and the scores) move; how far is measured in `bench/decode-fast.ts`.
 *
 * How the scaled decode is reached. sharp exposes libjpeg's scaling only through `.resize()`: it takes the
 * shrink asked, `min(width / w, height / h)`, and with `fastShrinkOnLoad` reloads the JPEG at 1/8 when that
 * is ≥ 9, at 1/4 from 5, at 1/2 from 3 (its rule "lower shrink-on-load for known libjpeg rounding errors"
 * halves a factor equal to the integer part of the shrink, so 8 needs 9, 4 needs 5 and 2 needs 3), then
 * reduces the rest with the resize kernel. libjpeg's 1/s image is ceil(dim / s) pixels: asking for exactly
 * that gives a shrink ≤ s, so libjpeg runs at s/2 and a 2× kernel reduce follows (with kernel `nearest`, a
 * subsample of the s/2 image, not libjpeg's 1/s one). No sharp option decodes at 1/s with nothing after.
 * So the size asked here is the largest one whose shrink reaches the band of the largest factor possible
 * (`floor(dim / 9)` for 1/8, `/ 5` for 1/4), and it must still be at least the resize target
 * on both axes (the OpenCV resize only downsizes afterwards). What sharp adds after libjpeg is one reduce by
 * 9/8 or 5/4 with its `linear` kernel (a triangle filter, antialiased). The resize target stays the one
 * computed from the full-size image (`resizeAndCrop`'s `from`), so both modes feed the same tensor size.
 */
import type { Sharp } from 'sharp';
import { invalidOption } from '../errors.js';

/** How JPEGs are decoded: `exact` as OpenCV's imread (Paddle-exact); `fast` shrink-on-load (not Paddle-exact). */
export type DecodeMode = 'exact' | 'fast';

export const DECODE_MODES: readonly DecodeMode[] = Object.freeze(['exact', 'fast'] as const);

/** The decode mode from options, checked. */
export function decodeMode(mode: unknown): DecodeMode {
  if (mode === undefined) return 'exact';
  if (mode !== 'exact' && mode !== 'fast') throw invalidOption('decode', `one of ${DECODE_MODES.map((m) => `'${m}'`).join(', ')}`, mode);
  return mode;
}

export { resizeTarget } from './resize.js';

/** libjpeg's scale factors, each with the least shrink at which sharp (fastShrinkOnLoad) decodes at it. */
const SHRINK_BANDS = [
  [8, 9],
  [4, 5],
] as const;

/** The scaled decode of a JPEG: libjpeg's factor, and the size asked of sharp (at least the resize target). */
export interface ShrinkPlan {
  readonly scale: 4 | 8;
  readonly width: number;
  readonly height: number;
}

/**
 * The shrink-on-load for a width × height image (as displayed, after EXIF orientation) resized to `target`
 * afterwards: the largest libjpeg scale whose size asked stays ≥ target on both axes; undefined when even
 * 1/4 would not (the image is decoded exactly). 1/2 is not used: sharp's 3/2 reduce after it cost more than
 * the scaled decode saved (`bench/decode-fast.ts`: a 640×480 JPEG for the text-line model ran slower).
 */
export function shrinkPlan(width: number, height: number, target: readonly [number, number]): ShrinkPlan | undefined {
  for (const [scale, from] of SHRINK_BANDS) {
    const w = Math.floor(width / from);
    const h = Math.floor(height / from);
    if (w >= target[0] && h >= target[1]) return { scale, width: w, height: h };
  }
  return undefined;
}

/** Add the shrink-on-load to a sharp pipeline (which applies EXIF orientation: the size is the displayed one). */
export function withShrinkOnLoad(pipeline: Sharp, plan: ShrinkPlan): Sharp {
  return pipeline.resize(plan.width, plan.height, { fit: 'fill', fastShrinkOnLoad: true, kernel: 'linear' });
}
