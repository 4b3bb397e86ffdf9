/**
 * Typed reads of op attributes. An absent attribute takes Paddle's default; a present one of the wrong
 * kind or length is an error naming the op, the attribute, what was expected and what was found — never a
 * silent default.
 */
import { PplcnetError } from '../errors.js';
import type { AttrValue, ProgramOp } from './program.js';

function shown(v: AttrValue | undefined): string {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) return (v as { unreadable: string }).unreadable;
  const text = typeof v === 'string' ? `the string ${JSON.stringify(v)}` : Array.isArray(v) ? `${JSON.stringify(v)} (${v.length} items)` : `${typeof v} ${String(v)}`;
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** Reads the attributes of one op of one file. */
export class Attrs {
  constructor(
    private readonly op: ProgramOp,
    private readonly file: string,
  ) {}

  private fail(name: string, expected: string, v: AttrValue | undefined): never {
    throw new PplcnetError('E_PROGRAM', `${this.file}: ${this.op.where}: attribute '${name}': expected ${expected} but found ${shown(v)}`);
  }

  has(name: string): boolean {
    return Object.hasOwn(this.op.attrs, name);
  }

  /** A finite number. */
  number(name: string, fallback: number): number;
  number(name: string, fallback?: undefined): number | undefined;
  number(name: string, fallback?: number): number | undefined {
    if (!this.has(name)) return fallback;
    const v = this.op.attrs[name];
    return typeof v === 'number' && Number.isFinite(v) ? v : this.fail(name, 'a finite number', v);
  }

  /** An integer. */
  int(name: string, fallback: number): number {
    if (!this.has(name)) return fallback;
    const v = this.op.attrs[name];
    return Number.isSafeInteger(v) ? (v as number) : this.fail(name, 'an integer', v);
  }

  /** A list of integers with `min`..`max` items. */
  ints(name: string, min: number, max: number, fallback: readonly number[]): readonly number[];
  ints(name: string, min: number, max: number): readonly number[] | undefined;
  ints(name: string, min: number, max: number, fallback?: readonly number[]): readonly number[] | undefined {
    if (!this.has(name)) return fallback;
    const v = this.op.attrs[name];
    const ok = Array.isArray(v) && v.length >= min && v.length <= max && v.every((x) => Number.isSafeInteger(x));
    return ok ? (v as readonly number[]) : this.fail(name, `${min === max ? min : `${min} to ${max}`} integers`, v);
  }

  string(name: string): string | undefined {
    if (!this.has(name)) return undefined;
    const v = this.op.attrs[name];
    return typeof v === 'string' ? v : this.fail(name, 'a string', v);
  }

  /** A boolean (legacy programs may also write 0/1). */
  bool(name: string, fallback: boolean): boolean {
    if (!this.has(name)) return fallback;
    const v = this.op.attrs[name];
    if (typeof v === 'boolean') return v;
    if (v === 0 || v === 1) return v === 1;
    return this.fail(name, 'a boolean', v);
  }
}
