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

/** A rectangle of the destination image: only these pixels are computed. */
export interface Window {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/**
 * Resize with OpenCV INTER_LINEAR semantics to `width` × `height`. With `window`, only that part of the
 * destination is computed and returned (identical to resizing everything and cropping, with less work).
 */
export function resizeLinear(img: Image8, width: number, height: number, window?: Window): Image8 {
  const { width: sw, height: sh, channels: cn, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`Expected a positive integer destination size but received ${width}x${height}`);
  }
  const win = window ?? { x: 0, y: 0, width, height };
  if (win.x < 0 || win.y < 0 || win.x + win.width > width || win.y + win.height > height) {
    throw new RangeError(`window ${win.width}x${win.height}+${win.x}+${win.y} is outside the ${width}x${height} image`);
  }
  if (width === sw && height === sh) return crop(img, win);
  const scaleX = 1 / (width / sw);
  const scaleY = 1 / (height / sh);
  if (scaleX === 2 && scaleY === 2) return areaHalf(img, win);

  const xt = axisTable(sw, width, true);
  const yt = axisTable(sh, height, false);
  const outW = win.width;
  const rowLen = outW * cn;
  // Horizontal pass of a source row into `r` (fixed-point, exact integers), stored already shifted right by
  // 4 as the vertical pass reads it. Per destination pixel: its two source pixels (byte offsets in a row)
  // and their weights, shared by the pixel's channels.
  const px0 = new Int32Array(outW);
  const px1 = new Int32Array(outW);
  const a0s = new Int32Array(outW);
  const a1s = new Int32Array(outW);
  for (let i = 0; i < outW; i++) {
    const dx = win.x + i;
    const sx = xt.ofs[dx]!;
    px0[i] = sx * cn;
    px1[i] = (sx + 1 < sw ? sx + 1 : sx) * cn;
    a0s[i] = xt.w0[dx]!;
    a1s[i] = xt.w1[dx]!;
  }
  const hpass = (sy: number, r: Int32Array): void => {
    const base = sy * sw * cn;
    if (cn === 3) {
      for (let i = 0, x = 0; i < outW; i++, x += 3) {
        const p0 = base + px0[i]!;
        const p1 = base + px1[i]!;
        const a0 = a0s[i]!;
        const a1 = a1s[i]!;
        r[x] = (data[p0]! * a0 + data[p1]! * a1) >> 4;
        r[x + 1] = (data[p0 + 1]! * a0 + data[p1 + 1]! * a1) >> 4;
        r[x + 2] = (data[p0 + 2]! * a0 + data[p1 + 2]! * a1) >> 4;
      }
      return;
    }
    for (let i = 0; i < outW; i++) {
      const p0 = base + px0[i]!;
      const p1 = base + px1[i]!;
      for (let c = 0; c < cn; c++) r[i * cn + c] = (data[p0 + c]! * a0s[i]! + data[p1 + c]! * a1s[i]!) >> 4;
    }
  };
  // Two rolling buffers hold the horizontal passes of the source rows the current output row reads.
  let rowA = new Int32Array(rowLen);
  let rowB = new Int32Array(rowLen);
  let syA = -1;
  let syB = -1;
  const out = new Uint8Array(outW * win.height * cn);
  const clamped = new Uint8ClampedArray(out.buffer); // stores integers clamped to 0..255
  for (let j = 0; j < win.height; j++) {
    const dy = win.y + j;
    const sy0 = yt.ofs[dy]!;
    const s0 = Math.min(Math.max(sy0, 0), sh - 1);
    const s1 = Math.min(Math.max(sy0 + 1, 0), sh - 1);
    if (s0 !== syA) {
      if (s0 === syB) {
        [rowA, rowB] = [rowB, rowA];
        [syA, syB] = [syB, syA];
      } else {
        hpass(s0, rowA);
        syA = s0;
      }
    }
    if (s1 !== syB) {
      if (s1 === syA) {
        rowB.set(rowA);
      } else {
        hpass(s1, rowB);
      }
      syB = s1;
    }
    const b0 = yt.w0[dy]!;
    const b1 = yt.w1[dy]!;
    const o = j * rowLen;
    for (let x = 0; x < rowLen; x++) clamped[o + x] = (((b0 * rowA[x]!) >> 16) + ((b1 * rowB[x]!) >> 16) + 2) >> 2;
  }
  return { width: outW, height: win.height, channels: cn, data: out };
}

function crop(img: Image8, win: Window): Image8 {
  const { width: w, channels: cn, data } = img;
  if (win.x === 0 && win.y === 0 && win.width === w && win.height === img.height) return { ...img, data: data.slice() };
  const out = new Uint8Array(win.width * win.height * cn);
  for (let y = 0; y < win.height; y++) out.set(data.subarray(((win.y + y) * w + win.x) * cn, ((win.y + y) * w + win.x + win.width) * cn), y * win.width * cn);
  return { width: win.width, height: win.height, channels: cn, data: out };
}

/** OpenCV's fast INTER_AREA for an exact 2× downscale: the rounded mean of each 2×2 block. */
function areaHalf(img: Image8, win: Window): Image8 {
  const { width: sw, channels: cn, data } = img;
  const out = new Uint8Array(win.width * win.height * cn);
  for (let j = 0; j < win.height; j++) {
    const r0 = 2 * (win.y + j) * sw * cn;
    const r1 = r0 + sw * cn;
    for (let i = 0; i < win.width; i++) {
      const p = 2 * (win.x + i) * cn;
      for (let c = 0; c < cn; c++) {
        out[(j * win.width + i) * cn + c] = (data[r0 + p + c]! + data[r0 + p + cn + c]! + data[r1 + p + c]! + data[r1 + p + cn + c]! + 2) >> 2;
      }
    }
  }
  return { width: win.width, height: win.height, channels: cn, data: out };
}

/** PaddleClas `ResizeImage(resize_short=s)`: w' = round(w·s/min(w,h)), h' likewise, Python's round (half to even). */
export function resizeShortSize(width: number, height: number, short: number): [number, number] {
  const p = short / Math.min(width, height);
  return [Math.max(1, roundHalfEven(width * p)), Math.max(1, roundHalfEven(height * p))];
}

/** The PaddleClas `CropImage` window of a w × h image: x0 = (w − cw) // 2, y0 = (h − ch) // 2. */
export function centerWindow(w: number, h: number, cw: number, ch: number, where = 'image'): Window {
  if (w < cw || h < ch) {
    throw new RangeError(`${where}: ${w}x${h} after resizing is smaller than the ${cw}x${ch} crop`);
  }
  return { x: Math.floor((w - cw) / 2), y: Math.floor((h - ch) / 2), width: cw, height: ch };
}

/** Center crop (PaddleClas `CropImage`). */
export function centerCrop(img: Image8, cw: number, ch: number, where = 'image'): Image8 {
  return crop(img, centerWindow(img.width, img.height, cw, ch, where));
}
