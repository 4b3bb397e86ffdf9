/**
 * Typed reads of op attributes. Every attribute the converter reads must be present: Paddle's serializers
 * (PIR JSON and ProgramDesc alike) write every attribute of these ops, defaults included, so an absent one
 * means a damaged or hand-edited file, and filling in a default could convert it silently wrong. An absent
 * attribute, or a present one of the wrong kind or length, is an E_PROGRAM error naming the op, the
 * attribute, what was expected and what was found.
 *
 * Where PIR and ProgramDesc name an attribute differently (`trans_y` / `transpose_y`), the reader passes
 * every name it accepts; the first one present is read.
 */
import { PplcnetError } from '../errors.js';
import type { AttrValue, ProgramOp } from './program.js';

/** One attribute name, or the names it has in the formats the reader accepts. */
export type AttrNames = string | readonly string[];

function shown(v: AttrValue | undefined): string {
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) return (v as { unreadable: string }).unreadable;
  const text = typeof v === 'string' ? `the string ${JSON.stringify(v)}` : Array.isArray(v) ? `${JSON.stringify(v)} (${v.length} items)` : `${typeof v} ${String(v)}`;
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

const list = (names: AttrNames): readonly string[] => (typeof names === 'string' ? [names] : names);

/** Reads the attributes of one op of one file. */
export class Attrs {
  constructor(
    private readonly op: ProgramOp,
    private readonly file: string,
  ) {}

  private fail(name: string, expected: string, v: AttrValue | undefined): never {
    throw new PplcnetError('E_PROGRAM', `${this.file}: ${this.op.where}: attribute '${name}': expected ${expected} but found ${shown(v)}`);
  }

  /** The error for an attribute that is absent under every name it may have. */
  missing(names: AttrNames, expected: string): never {
    const n = list(names);
    const called = n.length === 1 ? `'${n[0]}'` : `'${n[0]}' (or ${n.slice(1).map((x) => `'${x}'`).join(', ')})`;
    throw new PplcnetError(
      'E_PROGRAM',
      `${this.file}: ${this.op.where}: attribute ${called} is missing; expected ${expected}. Paddle writes every attribute of a '${this.op.rawType}' op, defaults included, so the file is damaged or was edited: export the model again (no default is assumed)`,
    );
  }

  has(names: AttrNames): boolean {
    return list(names).some((n) => Object.hasOwn(this.op.attrs, n));
  }

  /** The first of `names` present, with its value; absent → {@link missing}. */
  private get(names: AttrNames, expected: string): [string, AttrValue] {
    for (const n of list(names)) if (Object.hasOwn(this.op.attrs, n)) return [n, this.op.attrs[n]!];
    return this.missing(names, expected);
  }

  /** A finite number. */
  number(names: AttrNames): number {
    const [n, v] = this.get(names, 'a finite number');
    return typeof v === 'number' && Number.isFinite(v) ? v : this.fail(n, 'a finite number', v);
  }

  /** An integer. */
  int(names: AttrNames): number {
    const [n, v] = this.get(names, 'an integer');
    return Number.isSafeInteger(v) ? (v as number) : this.fail(n, 'an integer', v);
  }

  /** A list of integers with `min`..`max` items. */
  ints(names: AttrNames, min: number, max: number): readonly number[] {
    const expected = `${min === max ? min : `${min} to ${max}`} integers`;
    const [n, v] = this.get(names, expected);
    const ok = Array.isArray(v) && v.length >= min && v.length <= max && v.every((x) => Number.isSafeInteger(x));
    return ok ? (v as readonly number[]) : this.fail(n, expected, v);
  }

  string(names: AttrNames): string {
    const [n, v] = this.get(names, 'a string');
    return typeof v === 'string' ? v : this.fail(n, 'a string', v);
  }

  /** A boolean (legacy programs may also write 0/1). */
  bool(names: AttrNames): boolean {
    const [n, v] = this.get(names, 'a boolean');
    if (typeof v === 'boolean') return v;
    if (v === 0 || v === 1) return v === 1;
    return this.fail(n, 'a boolean', v);
  }
}
