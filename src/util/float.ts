/** Number formatting helpers. */

/**
 * A float32 value (as read from a Paddle program or an ONNX tensor) at float32 precision: the shortest
 * decimal that reads back to the same float32, so 0.2f prints as 0.2, not 0.20000000298023224. Numbers
 * that are not float32 values (0.1 as a double) are returned as they are.
 */
export function shortestFloat32(x: number): number {
  if (!Number.isFinite(x) || Number.isInteger(x) || Math.fround(x) !== x) return x;
  for (let p = 1; p <= 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x) return y;
  }
  return x;
}
