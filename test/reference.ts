/**
 * Naive float64 reference implementations of the ops PP-LCNet uses, written from their definitions,
 * independent of ONNX Runtime. NCHW layout throughout.
 */
export interface Tensor {
  data: Float64Array | Float32Array;
  shape: number[];
}

export function conv2d(
  x: Tensor,
  w: Tensor,
  b: ArrayLike<number> | undefined,
  stride: [number, number],
  pad: [number, number],
  groups: number,
): Tensor {
  const [n, c, h, wd] = x.shape as [number, number, number, number];
  const [m, cpg, kh, kw] = w.shape as [number, number, number, number];
  const oh = Math.floor((h + 2 * pad[0] - kh) / stride[0]) + 1;
  const ow = Math.floor((wd + 2 * pad[1] - kw) / stride[1]) + 1;
  const out = new Float64Array(n * m * oh * ow);
  const mpg = m / groups;
  for (let b0 = 0; b0 < n; b0++)
    for (let o = 0; o < m; o++) {
      const g = Math.floor(o / mpg);
      for (let y = 0; y < oh; y++)
        for (let xx = 0; xx < ow; xx++) {
          let s = b ? b[o]! : 0;
          for (let ci = 0; ci < cpg; ci++) {
            const cin = g * cpg + ci;
            for (let ky = 0; ky < kh; ky++) {
              const iy = y * stride[0] - pad[0] + ky;
              if (iy < 0 || iy >= h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = xx * stride[1] - pad[1] + kx;
                if (ix < 0 || ix >= wd) continue;
                s += x.data[((b0 * c + cin) * h + iy) * wd + ix]! * w.data[((o * cpg + ci) * kh + ky) * kw + kx]!;
              }
            }
          }
          out[((b0 * m + o) * oh + y) * ow + xx] = s;
        }
    }
  return { data: out, shape: [n, m, oh, ow] };
}

export function batchNorm(x: Tensor, gamma: ArrayLike<number>, beta: ArrayLike<number>, mean: ArrayLike<number>, variance: ArrayLike<number>, eps: number): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++)
      for (let k = 0; k < h * w; k++) {
        const idx = (i * c + ch) * h * w + k;
        out[idx] = ((x.data[idx]! - mean[ch]!) / Math.sqrt(variance[ch]! + eps)) * gamma[ch]! + beta[ch]!;
      }
  return { data: out, shape: [...x.shape] };
}

export function map(x: Tensor, f: (v: number) => number): Tensor {
  return { data: Float64Array.from(x.data, f), shape: [...x.shape] };
}

export const relu = (v: number): number => Math.max(0, v);
export const relu6 = (v: number): number => Math.min(6, Math.max(0, v));
/** Paddle's hardswish: x · relu6(x + 3) / 6. */
export const hardswish = (v: number): number => (v * relu6(v + 3)) / 6;
export const hardsigmoid = (slope: number, offset: number) => (v: number): number => Math.min(1, Math.max(0, slope * v + offset));

export function globalAvgPool(x: Tensor): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const out = new Float64Array(n * c);
  for (let i = 0; i < n * c; i++) {
    let s = 0;
    for (let k = 0; k < h * w; k++) s += x.data[i * h * w + k]!;
    out[i] = s / (h * w);
  }
  return { data: out, shape: [n, c, 1, 1] };
}

/** x [N,C,H,W] times s [N,C,1,1], broadcast. */
export function scaleChannels(x: Tensor, s: Tensor): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < n * c; i++) for (let k = 0; k < h * w; k++) out[i * h * w + k] = x.data[i * h * w + k]! * s.data[i]!;
  return { data: out, shape: [...x.shape] };
}

/** y = x · W + b with W stored [in, out] (Paddle's Linear). x is [N, in]. */
export function linear(x: Tensor, w: ArrayLike<number>, b: ArrayLike<number>, inF: number, outF: number): Tensor {
  const n = x.data.length / inF;
  const out = new Float64Array(n * outF);
  for (let i = 0; i < n; i++)
    for (let o = 0; o < outF; o++) {
      let s = b[o]!;
      for (let k = 0; k < inF; k++) s += x.data[i * inF + k]! * w[k * outF + o]!;
      out[i * outF + o] = s;
    }
  return { data: out, shape: [n, outF] };
}

export function softmaxRows(x: ArrayLike<number>, cols: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    let m = -Infinity;
    for (let c = 0; c < cols; c++) m = Math.max(m, x[r * cols + c]!);
    let s = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(x[r * cols + c]! - m);
    for (let c = 0; c < cols; c++) out[r * cols + c] = Math.exp(x[r * cols + c]! - m) / s;
  }
  return out;
}
