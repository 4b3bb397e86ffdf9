/**
 * The WebAssembly version of the fused resize + normalize loop (linear.wat): same tables, same integer and
 * float32 steps as the JavaScript in resize.ts, 4-6x less CPU (docs/performance.md, "A folder against the machine's
 * limit"). Imports no Node built-in: the browser build runs it too. When WebAssembly (with SIMD) is
 * unavailable, or a job would need more than {@link MAX_BYTES}, `wasmResizeNormalize` returns false and the
 * caller runs the JavaScript loops.
 */
import { LINEAR_WASM } from './linear-wasm-bytes.js';

interface Kernel {
  readonly memory: WebAssembly.Memory;
  readonly resizeNormalize: (...args: number[]) => void;
}

/** This thread's instance; null when WebAssembly (with SIMD) is unavailable. */
let kernel: Kernel | null | undefined;

function instantiate(): Kernel | null {
  try {
    const bytes = Uint8Array.from(atob(LINEAR_WASM), (c) => c.charCodeAt(0));
    // under 1 kB: synchronous compilation is allowed everywhere, browsers' main threads included
    const exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as unknown as Kernel;
    return { memory: exports.memory, resizeNormalize: exports.resizeNormalize };
  } catch {
    return null; // no WebAssembly, or no SIMD
  }
}

/**
 * The most memory the module may hold (per thread, kept between images): the source rows a resize reads
 * (two per output row at most, e.g. 448 rows of a 16383-wide image: 22 MB), the tables and the output.
 * Anything larger runs in JavaScript, which reads the source where it is.
 */
const MAX_BYTES = 48 << 20;
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
 * Run the fused loop into `out` at `offset` (three planes of n × rows float32); false (nothing written)
 * when WebAssembly is unavailable or the job is larger than {@link MAX_BYTES}.
 */
export function wasmResizeNormalize(job: LinearJob, out: Float32Array, offset: number): boolean {
  const n = job.xtab.length / 4;
  const rows = job.ytab.length / 4;
  // only the source rows the window reads are copied in, one after the other: `compact` maps each to its place
  const compact = new Map<number, number>();
  for (let j = 0; j < 2 * rows; j++) {
    const sy = job.ytab[4 * (j >> 1) + (j & 1)]!;
    if (!compact.has(sy)) compact.set(sy, compact.size);
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
  const need = sOff + compact.size * rowBytes + 16; // 16: the last pixel's 4-byte load reads one byte past
  if (need > MAX_BYTES) return false;
  if (kernel === undefined) kernel = instantiate();
  if (!kernel) return false;
  const k = kernel;
  const have = k.memory.buffer.byteLength;
  if (need > have) {
    try {
      k.memory.grow(Math.ceil((need - have) / PAGE));
    } catch {
      return false; // the memory could not grow (a browser's limit): JavaScript runs
    }
  }
  const buf = k.memory.buffer;
  new Int32Array(buf, xOff, 4 * n).set(job.xtab);
  const y = new Int32Array(buf, yOff, 4 * rows);
  y.set(job.ytab);
  for (let j = 0; j < rows; j++) {
    y[4 * j] = compact.get(y[4 * j]!)!;
    y[4 * j + 1] = compact.get(y[4 * j + 1]!)!;
  }
  const pi = new Int32Array(buf, pOff, 12);
  const pf = new Float32Array(buf, pOff, 12);
  job.channels.forEach((ch, c) => {
    pi[4 * c] = 4 * plane * ch.plane;
    pf[4 * c + 1] = ch.a;
    pf[4 * c + 2] = ch.b;
    pf[4 * c + 3] = ch.c;
  });
  const src = new Uint8Array(buf, sOff, compact.size * rowBytes);
  for (const [sy, at] of compact) src.set(job.data.subarray(sy * rowBytes, (sy + 1) * rowBytes), at * rowBytes);
  k.resizeNormalize(sOff, rowBytes, xOff, n, yOff, rows, aOff, bOff, stride, oOff, pOff, job.divide ? 1 : 0);
  out.set(new Float32Array(buf, oOff, 3 * plane), offset);
  return true;
}
