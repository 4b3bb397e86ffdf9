/**
 * The WebAssembly version of the fused resize + normalize loop (linear.wat): same tables, same integer and
 * float32 steps as the JavaScript in resize.ts, 3-5x less CPU (bench/folder-limit.ts). Imports no Node
 * built-in: the browser build runs it too. When WebAssembly (with SIMD) is unavailable, `load()` returns
 * undefined and the caller runs the JavaScript loops.
 */
import { LINEAR_WASM } from './linear-wasm-bytes.js';

interface Kernel {
  readonly memory: WebAssembly.Memory;
  readonly resizeNormalize: (...args: number[]) => void;
}

let compiled: WebAssembly.Module | null | undefined;
let shared: Kernel | undefined;

function instantiate(): Kernel | undefined {
  if (compiled === undefined) {
    try {
      const bytes = Uint8Array.from(atob(LINEAR_WASM), (c) => c.charCodeAt(0));
      compiled = new WebAssembly.Module(bytes); // 838 bytes: synchronous compilation is allowed everywhere
    } catch {
      compiled = null; // no WebAssembly, or no SIMD
    }
  }
  if (!compiled) return undefined;
  const exports = new WebAssembly.Instance(compiled, {}).exports as unknown as Kernel;
  return { memory: exports.memory, resizeNormalize: exports.resizeNormalize };
}

/** Memory a thread keeps between images (enough for a 12-megapixel photo); bigger jobs get their own. */
const KEEP_BYTES = 48 << 20;
const PAGE = 65536;

/** Per source channel: the output plane it goes to, and its normalization y = (v·A − B) [/ C]. */
export interface ChannelSteps {
  readonly plane: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

export interface LinearJob {
  /** Source pixels, RGB interleaved. */
  readonly data: Uint8Array;
  readonly width: number;
  /** Per output column: byte offset in a row of its two source pixels, their weights. */
  readonly xtab: Int32Array;
  /** Per output row: its two source rows (clamped), their weights. */
  readonly ytab: Int32Array;
  readonly channels: readonly [ChannelSteps, ChannelSteps, ChannelSteps];
  /** Whether normalization divides by C (Paddle's NormalizeImage) or not (PaddleX's scale-and-shift). */
  readonly divide: boolean;
}

const align = (n: number): number => (n + 15) & ~15;

/**
 * Run the fused loop into `out` at `offset` (three planes of n × rows float32); false when WebAssembly
 * is unavailable (nothing written).
 */
export function wasmResizeNormalize(job: LinearJob, out: Float32Array, offset: number): boolean {
  const n = job.xtab.length / 4;
  const rows = job.ytab.length / 4;
  // only the source rows the window reads are copied in
  let lo = Infinity;
  let hi = -1;
  for (let j = 0; j < rows; j++) {
    lo = Math.min(lo, job.ytab[4 * j]!, job.ytab[4 * j + 1]!);
    hi = Math.max(hi, job.ytab[4 * j]!, job.ytab[4 * j + 1]!);
  }
  const rowBytes = job.width * 3;
  const stride = align(4 * n);
  const plane = n * rows;
  const xOff = 0;
  const yOff = xOff + align(16 * n);
  const pOff = yOff + align(16 * rows);
  const aOff = pOff + 48;
  const bOff = aOff + 3 * stride;
  const oOff = bOff + 3 * stride;
  const sOff = oOff + align(12 * plane);
  const need = sOff + (hi - lo + 1) * rowBytes + 16;
  if (shared === undefined && compiled !== null) shared = instantiate();
  if (!shared) return false;
  const k = need <= KEEP_BYTES ? shared : instantiate()!;
  const have = k.memory.buffer.byteLength;
  if (need > have) k.memory.grow(Math.ceil((need - have) / PAGE));
  const buf = k.memory.buffer;
  new Int32Array(buf, xOff, 4 * n).set(job.xtab);
  const y = new Int32Array(buf, yOff, 4 * rows);
  y.set(job.ytab);
  for (let j = 0; j < rows; j++) {
    y[4 * j] -= lo;
    y[4 * j + 1] -= lo;
  }
  const pi = new Int32Array(buf, pOff, 12);
  const pf = new Float32Array(buf, pOff, 12);
  job.channels.forEach((ch, c) => {
    pi[4 * c] = 4 * plane * ch.plane;
    pf[4 * c + 1] = ch.a;
    pf[4 * c + 2] = ch.b;
    pf[4 * c + 3] = ch.c;
  });
  new Uint8Array(buf, sOff, (hi - lo + 1) * rowBytes).set(job.data.subarray(lo * rowBytes, (hi + 1) * rowBytes));
  k.resizeNormalize(sOff, rowBytes, xOff, n, yOff, rows, aOff, bOff, stride, oOff, pOff, job.divide ? 1 : 0);
  out.set(new Float32Array(buf, oOff, 3 * plane), offset);
  return true;
}
