/**
 * OpenCV `cv::resize(…, INTER_LINEAR)` on 8-bit images, reproduced bit for bit: per-axis source positions
 * `(d + 0.5)·scale − 0.5` computed in float32, 11-bit fixed-point weights rounded half to even, edge clamping,
 * an exact integer horizontal pass and OpenCV's vertical pass `((b0·(S0>>4))>>16 + (b1·(S1>>4))>>16 + 2)>>2`.
 * Like OpenCV, an exact 2× downscale on both axes is a 2×2 box average (INTER_AREA), and equal sizes copy.
 * No antialiasing: this is what PaddleClas and PaddleX feed their models.
 */

/** An interleaved 8-bit image (HWC). */
export interface Image8 {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly data: Uint8Array;
}

const COEF_BITS = 11;
const COEF_SCALE = 1 << COEF_BITS;
const f32 = Math.fround;

/** Round half to even, as cvRound / lrint do. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function saturateShort(v: number): number {
  return Math.max(-32768, Math.min(32767, roundHalfEven(v)));
}

/** Source index and the two fixed-point weights for each destination index along one axis. */
function axisTable(src: number, dst: number, clampWeights: boolean): { ofs: Int32Array; w0: Int32Array; w1: Int32Array } {
  const scale = 1 / (dst / src); // OpenCV: scale = 1/inv_scale, inv_scale = dst/src
  const ofs = new Int32Array(dst);
  const w0 = new Int32Array(dst);
  const w1 = new Int32Array(dst);
  for (let d = 0; d < dst; d++) {
    let f = f32((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f = f32(f - s);
    if (clampWeights) {
      if (s < 0) {
        f = 0;
        s = 0;
      }
      if (s >= src - 1) {
        f = 0;
        s = src - 1;
      }
    }
    ofs[d] = s;
    w0[d] = saturateShort(f32(f32(1 - f) * COEF_SCALE));
    w1[d] = saturateShort(f32(f * COEF_SCALE));
  }
  return { ofs, w0, w1 };
}

/** Resize with OpenCV INTER_LINEAR semantics. `width`/`height` are the destination size. */
export function resizeLinear(img: Image8, width: number, height: number): Image8 {
  const { width: sw, height: sh, channels: cn, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`Expected a positive integer destination size but received ${width}x${height}`);
  }
  if (width === sw && height === sh) return { width, height, channels: cn, data: data.slice() };
  const scaleX = 1 / (width / sw);
  const scaleY = 1 / (height / sh);
  if (scaleX === 2 && scaleY === 2) return areaHalf(img, width, height);

  const xt = axisTable(sw, width, true);
  const yt = axisTable(sh, height, false);
  const rowLen = width * cn;
  // Horizontal pass per needed source row, cached by source row index.
  const cache = new Map<number, Int32Array>();
  const hrow = (sy: number): Int32Array => {
    let r = cache.get(sy);
    if (r) return r;
    r = new Int32Array(rowLen);
    const base = sy * sw * cn;
    for (let dx = 0; dx < width; dx++) {
      const sx = xt.ofs[dx]!;
      const a0 = xt.w0[dx]!;
      const a1 = xt.w1[dx]!;
      const p = base + sx * cn;
      const q = sx + 1 < sw ? p + cn : p;
      for (let c = 0; c < cn; c++) r[dx * cn + c] = data[p + c]! * a0 + data[q + c]! * a1;
    }
    cache.set(sy, r);
    return r;
  };
  const out = new Uint8Array(width * height * cn);
  for (let dy = 0; dy < height; dy++) {
    const sy0 = yt.ofs[dy]!;
    const r0 = hrow(Math.min(Math.max(sy0, 0), sh - 1));
    const r1 = hrow(Math.min(Math.max(sy0 + 1, 0), sh - 1));
    const b0 = yt.w0[dy]!;
    const b1 = yt.w1[dy]!;
    const o = dy * rowLen;
    for (let x = 0; x < rowLen; x++) {
      const v = (((b0 * (r0[x]! >> 4)) >> 16) + ((b1 * (r1[x]! >> 4)) >> 16) + 2) >> 2;
      out[o + x] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    if (dy > 0 && yt.ofs[dy - 1]! < sy0) {
      // rows above the window are no longer needed
      for (const k of cache.keys()) if (k < sy0) cache.delete(k);
    }
  }
  return { width, height, channels: cn, data: out };
}

/** OpenCV's fast INTER_AREA for an exact 2× downscale: the rounded mean of each 2×2 block. */
function areaHalf(img: Image8, width: number, height: number): Image8 {
  const { width: sw, channels: cn, data } = img;
  const out = new Uint8Array(width * height * cn);
  for (let y = 0; y < height; y++) {
    const r0 = 2 * y * sw * cn;
    const r1 = r0 + sw * cn;
    for (let x = 0; x < width; x++) {
      const p = 2 * x * cn;
      for (let c = 0; c < cn; c++) {
        out[(y * width + x) * cn + c] = (data[r0 + p + c]! + data[r0 + p + cn + c]! + data[r1 + p + c]! + data[r1 + p + cn + c]! + 2) >> 2;
      }
    }
  }
  return { width, height, channels: cn, data: out };
}

/** PaddleClas `ResizeImage(resize_short=s)`: w' = round(w·s/min(w,h)), h' likewise, Python's round (half to even). */
export function resizeShortSize(width: number, height: number, short: number): [number, number] {
  const p = short / Math.min(width, height);
  return [Math.max(1, roundHalfEven(width * p)), Math.max(1, roundHalfEven(height * p))];
}

/** Center crop (PaddleClas `CropImage`): x0 = (w − cw) // 2, y0 = (h − ch) // 2. */
export function centerCrop(img: Image8, cw: number, ch: number, where = 'image'): Image8 {
  const { width: w, height: h, channels: cn, data } = img;
  if (w < cw || h < ch) {
    throw new RangeError(`${where}: ${w}x${h} after resizing is smaller than the ${cw}x${ch} crop`);
  }
  const x0 = Math.floor((w - cw) / 2);
  const y0 = Math.floor((h - ch) / 2);
  const out = new Uint8Array(cw * ch * cn);
  for (let y = 0; y < ch; y++) out.set(data.subarray(((y0 + y) * w + x0) * cn, ((y0 + y) * w + x0 + cw) * cn), y * cw * cn);
  return { width: cw, height: ch, channels: cn, data: out };
}
