/** Shapes: dimensions that are fixed sizes or symbolic names. */

/** A dimension: a fixed size, or a symbolic name such as `"N"` for a dynamic batch. */
export type Dim = number | string;

export function shapeToString(shape: readonly Dim[]): string {
  return `[${shape.join(',')}]`;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
