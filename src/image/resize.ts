/**
 * OpenCV `cv::resize(…, INTER_LINEAR)` on 8-bit images, reproduced bit for bit: per-axis source positions
 * `(d + 0.5)·scale − 0.5` computed in float32, 11-bit fixed-point weights rounded half to even, edge clamping,
 * an exact integer horizontal pass and OpenCV's vertical pass `((b0·(S0>>4))>>16 + (b1·(S1>>4))>>16 + 2)>>2`.
 * Like OpenCV, an exact 2× downscale on both axes is a 2×2 box average (INTER_AREA), and equal sizes copy.
 * No antialiasing: this is what PaddleClas and PaddleX feed their models.
 */
import type { Preprocess } from '../metadata.js';
import { type ChannelSteps, wasmResizeNormalize } from './linear-wasm.js';

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
 * Per destination column of `win`: the byte offsets (within a row) of its two source pixels and their
 * weights, interleaved as [p0, p1, a0, a1] so the horizontal pass reads one table.
 */
function columnTable(sw: number, width: number, cn: number, win: Window): Int32Array {
  const xt = axisTable(sw, width, true);
  const tab = new Int32Array(4 * win.width);
  for (let i = 0; i < win.width; i++) {
    const dx = win.x + i;
    const sx = xt.ofs[dx]!;
    tab[4 * i] = sx * cn;
    tab[4 * i + 1] = (sx + 1 < sw ? sx + 1 : sx) * cn;
    tab[4 * i + 2] = xt.w0[dx]!;
    tab[4 * i + 3] = xt.w1[dx]!;
  }
  return tab;
}

/**
 * The horizontal pass of one source row (starting at byte `base`) into `r`: exact fixed-point integers,
 * already shifted right by 4 as the vertical pass reads them. Top-level functions over typed arrays (not
 * closures) keep V8's optimized code monomorphic: about twice as fast as the first version.
 */
function hpass3(data: Uint8Array, base: number, tab: Int32Array, n: number, r: Int32Array): void {
  for (let i = 0, t = 0, x = 0; i < n; i++, t += 4, x += 3) {
    const p0 = base + tab[t]!;
    const p1 = base + tab[t + 1]!;
    const a0 = tab[t + 2]!;
    const a1 = tab[t + 3]!;
    r[x] = (data[p0]! * a0 + data[p1]! * a1) >> 4;
    r[x + 1] = (data[p0 + 1]! * a0 + data[p1 + 1]! * a1) >> 4;
    r[x + 2] = (data[p0 + 2]! * a0 + data[p1 + 2]! * a1) >> 4;
  }
}

function hpassN(data: Uint8Array, base: number, tab: Int32Array, n: number, cn: number, r: Int32Array): void {
  for (let i = 0, t = 0; i < n; i++, t += 4) {
    const p0 = base + tab[t]!;
    const p1 = base + tab[t + 1]!;
    for (let c = 0; c < cn; c++) r[i * cn + c] = (data[p0 + c]! * tab[t + 2]! + data[p1 + c]! * tab[t + 3]!) >> 4;
  }
}

/**
 * What the vertical pass does with each destination row `j` of the window: blend the horizontal passes of
 * its two source rows, `(((b0·r0[x]) >> 16) + ((b1·r1[x]) >> 16) + 2) >> 2` (then saturate to 0..255).
 */
type RowSink = (j: number, r0: Int32Array, r1: Int32Array, b0: number, b1: number) => void;

/** Check the sizes; undefined when the general two-pass path applies, else the special case to take. */
function resizeCase(img: Image8, width: number, height: number, win: Window): 'copy' | 'half' | undefined {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`Expected a positive integer destination size but received ${width}x${height}`);
  }
  if (win.x < 0 || win.y < 0 || win.x + win.width > width || win.y + win.height > height) {
    throw new RangeError(`window ${win.width}x${win.height}+${win.x}+${win.y} is outside the ${width}x${height} image`);
  }
  if (width === img.width && height === img.height) return 'copy';
  if (1 / (width / img.width) === 2 && 1 / (height / img.height) === 2) return 'half';
  return undefined;
}

/**
 * Per destination row of `win`: its two source rows (clamped to the image) and their weights, interleaved
 * as [s0, s1, b0, b1]; the JavaScript loops and the WebAssembly module read the same table.
 */
function rowTable(sh: number, height: number, win: Window): Int32Array {
  const yt = axisTable(sh, height, false);
  const tab = new Int32Array(4 * win.height);
  for (let j = 0; j < win.height; j++) {
    const dy = win.y + j;
    const sy0 = yt.ofs[dy]!;
    tab[4 * j] = Math.min(Math.max(sy0, 0), sh - 1);
    tab[4 * j + 1] = Math.min(Math.max(sy0 + 1, 0), sh - 1);
    tab[4 * j + 2] = yt.w0[dy]!;
    tab[4 * j + 3] = yt.w1[dy]!;
  }
  return tab;
}

/** The two passes of INTER_LINEAR over the window, each destination row handed to `sink`. */
function linearRows(img: Image8, width: number, height: number, win: Window, sink: RowSink): void {
  const { width: sw, height: sh, channels: cn, data } = img;
  const ytab = rowTable(sh, height, win);
  const tab = columnTable(sw, width, cn, win);
  const n = win.width;
  const rowLen = n * cn;
  const hpass = (sy: number, r: Int32Array): void => {
    if (cn === 3) hpass3(data, sy * sw * 3, tab, n, r);
    else hpassN(data, sy * sw * cn, tab, n, cn, r);
  };
  // Two rolling buffers hold the horizontal passes of the source rows the current output row reads.
  let rowA = new Int32Array(rowLen);
  let rowB = new Int32Array(rowLen);
  let syA = -1;
  let syB = -1;
  for (let j = 0; j < win.height; j++) {
    const s0 = ytab[4 * j]!;
    const s1 = ytab[4 * j + 1]!;
    if (s0 !== syA) {
      if (s0 === syB) {
        const t = rowA;
        rowA = rowB;
        rowB = t;
        syB = syA;
        syA = s0;
      } else {
        hpass(s0, rowA);
        syA = s0;
      }
    }
    if (s1 !== syB) {
      if (s1 === syA) rowB.set(rowA);
      else hpass(s1, rowB);
      syB = s1;
    }
    sink(j, rowA, rowB, ytab[4 * j + 2]!, ytab[4 * j + 3]!);
  }
}

/** The vertical blend of one row into bytes (a Uint8ClampedArray store saturates as OpenCV does). */
function blendRow(out: Uint8ClampedArray, o: number, r0: Int32Array, r1: Int32Array, b0: number, b1: number, len: number): void {
  for (let x = 0; x < len; x++) out[o + x] = (((b0 * r0[x]!) >> 16) + ((b1 * r1[x]!) >> 16) + 2) >> 2;
}

/**
 * Resize with OpenCV INTER_LINEAR semantics to `width` × `height`. With `window`, only that part of the
 * destination is computed and returned (identical to resizing everything and cropping, with less work).
 */
export function resizeLinear(img: Image8, width: number, height: number, window?: Window): Image8 {
  const win = window ?? { x: 0, y: 0, width, height };
  const special = resizeCase(img, width, height, win);
  if (special === 'copy') return crop(img, win);
  if (special === 'half') return areaHalf(img, win);
  const cn = img.channels;
  const rowLen = win.width * cn;
  const out = new Uint8ClampedArray(rowLen * win.height);
  linearRows(img, width, height, win, (j, r0, r1, b0, b1) => blendRow(out, j * rowLen, r0, r1, b0, b1, rowLen));
  return { width: win.width, height: win.height, channels: cn, data: new Uint8Array(out.buffer) };
}

/**
 * The vertical blend of one RGB row, saturated, then looked up in the three channel tables into three
 * float32 planes (`o0`, `o1`, `o2`: where this row starts in each); `s0` is the source channel of plane 0
 * (0 for RGB, 2 for BGR order).
 */
function blendNormalizeRow(
  out: Float32Array, o0: number, o1: number, o2: number, s0: number,
  t0: Float32Array, t1: Float32Array, t2: Float32Array,
  r0: Int32Array, r1: Int32Array, b0: number, b1: number, n: number,
): void {
  const s2 = 2 - s0;
  for (let i = 0, x = 0; i < n; i++, x += 3) {
    let v0 = (((b0 * r0[x + s0]!) >> 16) + ((b1 * r1[x + s0]!) >> 16) + 2) >> 2;
    let v1 = (((b0 * r0[x + 1]!) >> 16) + ((b1 * r1[x + 1]!) >> 16) + 2) >> 2;
    let v2 = (((b0 * r0[x + s2]!) >> 16) + ((b1 * r1[x + s2]!) >> 16) + 2) >> 2;
    if (v0 > 255) v0 = 255;
    if (v1 > 255) v1 = 255;
    if (v2 > 255) v2 = 255;
    out[o0 + i] = t0[v0]!;
    out[o1 + i] = t1[v1]!;
    out[o2 + i] = t2[v2]!;
  }
}

/**
 * How bytes become the network's floats, per output plane k: `tables[k][byte]` (for the JavaScript loops)
 * and the float32 steps that made them, y = (v·a − b), then y / c when `divide` (for WebAssembly, which
 * computes rather than looks up: the same float32 operations, so the same values).
 */
export interface Normalization {
  readonly tables: readonly [Float32Array, Float32Array, Float32Array];
  readonly steps: readonly [PlaneSteps, PlaneSteps, PlaneSteps];
  readonly divide: boolean;
  /** Plane 0 reads B and plane 2 reads R (else R and B). */
  readonly bgr: boolean;
}

export interface PlaneSteps {
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

/**
 * Resize (INTER_LINEAR) an RGB image, keep `window`, and write it normalized into `out` at `offset` as three
 * float32 planes: the same values as {@link resizeLinear} followed by the table lookup, in one pass and
 * without the intermediate bytes — in WebAssembly where available, else in JavaScript.
 */
export function resizeNormalizeInto(img: Image8, width: number, height: number, window: Window, norm: Normalization, out: Float32Array, offset: number): void {
  if (img.channels !== 3) throw new RangeError(`Expected an RGB image (3 channels) but received ${img.channels} channel(s)`);
  if (resizeCase(img, width, height, window) !== undefined) return lookupInto(resizeLinear(img, width, height, window), norm, out, offset);
  const plane = window.width * window.height;
  const [t0, t1, t2] = norm.tables;
  const s0 = norm.bgr ? 2 : 0;
  if (!jsOnly && resizeNormalizeWasm(img, width, height, window, norm, out, offset)) return;
  const n = window.width;
  linearRows(img, width, height, window, (j, r0, r1, b0, b1) => {
    const o = offset + j * n;
    blendNormalizeRow(out, o, o + plane, o + 2 * plane, s0, t0, t1, t2, r0, r1, b0, b1, n);
  });
}

/**
 * Normalize an RGB image's bytes into `out` at `offset` as three float32 planes: one pass over the interleaved
 * pixels, each byte read once, three table lookups per pixel (plane 0 reads R, or B in BGR order).
 */
export function lookupInto(img: Image8, norm: Normalization, out: Float32Array, offset: number): void {
  const [t0, t1, t2] = norm.tables;
  const plane = img.width * img.height;
  const s0 = norm.bgr ? 2 : 0;
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

/** Tests set this to run the JavaScript loops where WebAssembly would run. @internal */
let jsOnly = false;
export function useJavaScriptLoops(on: boolean): void {
  jsOnly = on;
}

function resizeNormalizeWasm(img: Image8, width: number, height: number, win: Window, norm: Normalization, out: Float32Array, offset: number): boolean {
  const ytab = rowTable(img.height, height, win);
  // source channel c goes to plane c (RGB) or 2 − c (BGR), with that plane's steps
  const plane = (c: number): number => (norm.bgr ? 2 - c : c);
  const channel = (c: number): ChannelSteps => ({ plane: plane(c), ...norm.steps[plane(c)]! });
  return wasmResizeNormalize(
    { data: img.data, width: img.width, xtab: columnTable(img.width, width, 3, win), ytab, channels: [channel(0), channel(1), channel(2)], divide: norm.divide },
    out,
    offset,
  );
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

/** The size a resize (`short`: PaddleClas ResizeImage resize_short; `exact`: w × h) asks of a width × height image. */
export function resizeTarget(width: number, height: number, resize: Preprocess['resize']): [number, number] {
  return resize.mode === 'short' ? resizeShortSize(width, height, resize.size) : [resize.width, resize.height];
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
