/** Parsers for CLI option values; each throws InvalidArgumentError naming what was expected. @internal */
import { InvalidArgumentError } from './commander.js';

export function parseNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || Number.isNaN(n)) throw new InvalidArgumentError(`Expected a number but received ${JSON.stringify(value)}.`);
  return n;
}

export function parseInteger(value: string): number {
  const n = parseNumber(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`Expected an integer but received ${JSON.stringify(value)}.`);
  return n;
}

export function parsePositiveInteger(value: string): number {
  const n = parseInteger(value);
  if (n < 1) throw new InvalidArgumentError(`Expected a positive integer but received ${JSON.stringify(value)}.`);
  return n;
}

/** `224` or `80x160` (height × width) → [h, w]. */
export function parseInputSize(value: string): [number, number] {
  const m = /^(\d+)(?:[xX×](\d+))?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`Expected a size such as 224 or 80x160 (height x width) but received ${JSON.stringify(value)}.`);
  const h = Number(m[1]);
  const w = m[2] === undefined ? h : Number(m[2]);
  if (h < 1 || w < 1) throw new InvalidArgumentError(`Expected sizes of at least 1 but received ${JSON.stringify(value)}.`);
  return [h, w];
}

/** A JSON array such as `[2,[2,1],[2,1],[2,1],[2,1]]`; entries are checked by the library. */
export function parseStrideList(value: string): unknown[] {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    throw new InvalidArgumentError(`Expected a JSON array of 5 strides such as [2,[2,1],[2,1],[2,1],[2,1]] but received ${JSON.stringify(value)}.`);
  }
  if (!Array.isArray(v)) throw new InvalidArgumentError(`Expected a JSON array of 5 strides but received ${JSON.stringify(value)}.`);
  return v;
}

/** `dynamic` or a positive integer. */
export function parseBatch(value: string): 'dynamic' | number {
  if (value === 'dynamic') return 'dynamic';
  return parsePositiveInteger(value);
}

/** Comma-separated positive integers: `1,2,4`. */
export function parseIntegerList(value: string): number[] {
  return value.split(',').map((s) => parsePositiveInteger(s.trim()));
}

/** Comma-separated non-negative integers: `0,1,2`. */
export function parseIntegerList0(value: string): number[] {
  return value.split(',').map((s) => {
    const n = parseInteger(s.trim());
    if (n < 0) throw new InvalidArgumentError(`Expected non-negative integers but received ${JSON.stringify(value)}.`);
    return n;
  });
}

/** A positive, finite number of seconds. */
export function parseSeconds(value: string): number {
  const s = Number(value);
  if (value.trim() === '' || !(s > 0) || !Number.isFinite(s)) throw new InvalidArgumentError(`Expected a positive number of seconds but received ${JSON.stringify(value)}.`);
  return s;
}
