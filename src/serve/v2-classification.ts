/**
 * The v2 classification extension (Triton's): an output asked for with `"parameters": {"classification": K}`
 * answers, for each batch row, the K highest values of that output as BYTES strings `"<value>:<index>[:<label>]"`,
 * shape [batch, K]. The value is written as C's `std::to_string(float)` writes it (`printf("%f")`: six decimals,
 * halfway cases to even), which is what Triton's clients parse; the label is the model's class name, and is left
 * out when the model has no labels.
 */
import { ServeError } from './errors.js';

/** Digits of `%f`: six after the point. */
const DECIMALS = 6;

/**
 * `v` as `printf("%f", v)` writes it. `toFixed` rounds halfway cases away from zero where printf rounds them to
 * even, and switches to exponent notation from 1e21, so both are handled here; -0 keeps its sign as in C.
 */
export function cFixed(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v < 0 ? '-inf' : 'inf';
  const sign = v < 0 || Object.is(v, -0) ? '-' : '';
  const a = Math.abs(v);
  // from 2^53 on every double is an integer, exactly as BigInt writes it
  if (a >= 2 ** 53) return `${sign}${BigInt(a).toString()}.${'0'.repeat(DECIMALS)}`;
  // a value exactly halfway between two 6-decimal numbers is an odd multiple of 1/128 (2^-7 · 5^6 / 10^6 · 2):
  // a·128 is then an odd integer, and a·10^6 = k·7812.5 is exact in a double for the values checked
  const halfway = Number.isInteger(a * 128) && (a * 128) % 2 === 1 && a < 2 ** 30;
  if (!halfway) return `${sign}${a.toFixed(DECIMALS)}`;
  const floor = Math.floor(a * 10 ** DECIMALS);
  const units = floor % 2 === 0 ? floor : floor + 1;
  const whole = Math.floor(units / 10 ** DECIMALS);
  const frac = String(units % 10 ** DECIMALS).padStart(DECIMALS, '0');
  return `${sign}${whole}.${frac}`;
}

/** The `k` best classes of one row as Triton writes them, highest value first (ties by index). */
export function classificationStrings(row: ArrayLike<number>, k: number, labels: readonly string[] | undefined): string[] {
  const idx = Array.from({ length: row.length }, (_, i) => i);
  idx.sort((a, b) => row[b]! - row[a]! || a - b);
  return idx.slice(0, Math.min(k, row.length)).map((i) => {
    const label = labels?.[i];
    return label === undefined ? `${cFixed(row[i]!)}:${i}` : `${cFixed(row[i]!)}:${i}:${label}`;
  });
}

/** A request's `classification` parameter, checked: a positive integer, or undefined when not given. */
export function classificationCount(value: unknown, output: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ServeError('E_BAD_REQUEST', `output '${output}' has "classification": ${JSON.stringify(value)}; expected a positive integer (how many classes to answer per row)`);
  }
  return value;
}
