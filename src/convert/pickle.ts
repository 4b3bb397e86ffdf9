/**
 * A pickle reader that never executes anything. It interprets protocol 0–4 opcodes into plain values;
 * the only globals it accepts are the few that numpy arrays and Paddle state dicts need, and those map to
 * fixed data constructors here (nothing is looked up or called). Any other global is refused by name.
 * Every length is checked against the bytes left, and nesting, memo and stack sizes are bounded, so a
 * hostile or corrupt file ends in a PplcnetError, never in a crash, hang or runaway allocation.
 *
 * Protocol 4 frames are checked as PEP 3154 defines them: a FRAME's length must fit the bytes that follow,
 * an opcode that starts inside a frame must end inside it (operands never straddle a frame's end), a new
 * frame may begin only where the previous one ends, and STOP must be the last byte of its frame. A file
 * with a byte removed or added inside a frame (which Python's `pickle.load` refuses as "pickle data was
 * truncated" or misreads) therefore fails here instead of yielding shifted values.
 */
import { PplcnetError } from '../errors.js';

/** A numpy array as pickled: dtype, shape, and its raw bytes (C order, little-endian after checks). */
export interface NdArray {
  readonly kind: 'ndarray';
  dtype: string;
  shape: number[];
  fortran: boolean;
  data: Uint8Array;
  /** Set once `__setstate__` data arrived. */
  filled: boolean;
}

export interface NpDtype {
  readonly kind: 'dtype';
  /** numpy type string without byte order: `f4`, `i8`, `b1`, … */
  code: string;
  /** `<` little, `>` big, `|` not applicable, `=` native (little here). */
  order: string;
}

/** A Python float (kept distinct from ints, so `(4.0,)` is not taken for a shape). */
export class PyFloat {
  constructor(readonly value: number) {}
  toString(): string {
    return Number.isInteger(this.value) ? this.value.toFixed(1) : String(this.value);
  }
}

/** A tuple (kept distinct from lists so `(name, ndarray)` values can be recognized). */
export class PyTuple {
  constructor(readonly items: PickleValue[]) {}
}

export type PickleValue =
  | null
  | boolean
  | number
  | PyFloat
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PyTuple
  | Map<PickleValue, PickleValue>
  | NdArray
  | NpDtype
  | Global;

/** An allowed global, by its (normalized) name. */
export interface Global {
  readonly kind: 'global';
  readonly name: AllowedGlobal;
}

type AllowedGlobal = 'reconstruct' | 'ndarray' | 'dtype' | 'scalar' | 'OrderedDict' | 'encode';

const ALLOWED: Readonly<Record<string, AllowedGlobal>> = Object.freeze({
  'numpy.core.multiarray _reconstruct': 'reconstruct',
  'numpy._core.multiarray _reconstruct': 'reconstruct',
  'numpy.core.multiarray scalar': 'scalar',
  'numpy._core.multiarray scalar': 'scalar',
  'numpy ndarray': 'ndarray',
  'numpy dtype': 'dtype',
  'collections OrderedDict': 'OrderedDict',
  '_codecs encode': 'encode',
});

/**
 * Bounds on what a pickle may build. A PP-LCNet state dict has a few hundred keys; a dict is refused as
 * soon as it grows past `maxDictItems`, before anything is done with its values.
 */
export const PICKLE_LIMITS = Object.freeze({ maxDepth: 64, maxStack: 1 << 20, maxMemo: 1 << 20, maxDims: 32, maxDictItems: 10_000 });

const MARK = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

/** numpy dtype codes and their item sizes. */
const ITEMSIZE: Readonly<Record<string, number>> = Object.freeze({
  f2: 2, f4: 4, f8: 8, i1: 1, i2: 2, i4: 4, i8: 8, u1: 1, u2: 2, u4: 4, u8: 8, b1: 1,
});

type FailCode = 'E_PICKLE' | 'E_TRUNCATED' | 'E_UNSAFE_PICKLE' | 'E_WEIGHTS';
type Fail = (message: string, code?: FailCode) => never;

const isKind = (v: PickleValue | undefined, kind: string): boolean => v !== null && typeof v === 'object' && 'kind' in v && v.kind === kind;

/** The byte cursor: every read checked against the bytes left. */
class Bytes {
  pos = 0;
  private readonly dv: DataView;
  constructor(
    readonly buf: Uint8Array,
    private readonly file: string,
  ) {
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail: Fail = (message, code = 'E_PICKLE') => {
    throw new PplcnetError(code, `${this.file}: ${message} (pickle byte ${this.pos})`);
  };

  /** End (exclusive) of the frame being read, or -1 outside frames. */
  private frameEnd = -1;
  /** Where the current opcode started. */
  private opStart = 0;

  need(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) this.fail(`needs ${n} more bytes but only ${this.buf.length - this.pos} remain; the file is truncated or corrupt`, 'E_TRUNCATED');
    if (this.frameEnd >= 0 && this.pos + n > this.frameEnd) this.straddle();
  }

  private straddle(): never {
    return this.fail(
      `the opcode at byte ${this.opStart} runs past the end of its frame (byte ${this.frameEnd}); pickle data was truncated or corrupt — Python's pickle.load refuses such a file too. Save the weights again`,
    );
  }

  /** Reads the next opcode, leaving a frame whose bytes are all consumed. */
  opcode(): number {
    if (this.pos === this.frameEnd) this.frameEnd = -1;
    this.opStart = this.pos;
    return this.u8();
  }

  /** FRAME: its length must fit the bytes that follow, and it may begin only where the previous one ended. */
  frame(): void {
    if (this.frameEnd >= 0) this.fail(`a new frame begins at byte ${this.opStart}, before the end of the current one (byte ${this.frameEnd}); the file is corrupt`);
    const lenAt = this.pos;
    this.need(8);
    const len = this.dv.getBigUint64(lenAt, true);
    this.pos += 8;
    const left = this.buf.length - this.pos;
    if (len > BigInt(left)) this.fail(`a FRAME of ${len} bytes but only ${left} follow: pickle data was truncated (the file is cut short or corrupt); save the weights again`);
    this.frameEnd = this.pos + Number(len);
  }

  /** STOP must end its frame: bytes left in it mean the frame's length and its contents disagree. */
  stop(): void {
    if (this.frameEnd >= 0 && this.pos !== this.frameEnd) {
      this.fail(`STOP at byte ${this.opStart} leaves ${this.frameEnd - this.pos} bytes of its frame unread; the frame's length and its contents disagree (the file is corrupt)`);
    }
  }

  private fixed<T>(n: number, read: (at: number) => T): T {
    this.need(n);
    const v = read(this.pos);
    this.pos += n;
    return v;
  }

  u8 = (): number => this.fixed(1, (at) => this.buf[at]!);
  u16 = (): number => this.fixed(2, (at) => this.dv.getUint16(at, true));
  u32 = (): number => this.fixed(4, (at) => this.dv.getUint32(at, true));
  i32 = (): number => this.fixed(4, (at) => this.dv.getInt32(at, true));
  f64be = (): number => this.fixed(8, (at) => this.dv.getFloat64(at, false));

  /** An 8-byte length, which must fit the file. */
  u64(): number {
    const v = this.fixed(8, (at) => this.dv.getBigUint64(at, true));
    if (v > BigInt(this.buf.length)) this.fail(`length ${v} is larger than the file`, 'E_TRUNCATED');
    return Number(v);
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  line(): string {
    const end = this.buf.indexOf(0x0a, this.pos);
    if (end < 0) this.fail('unterminated text line', 'E_TRUNCATED');
    if (this.frameEnd >= 0 && end >= this.frameEnd) this.straddle();
    const s = new TextDecoder('latin1').decode(this.buf.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }

  utf8(b: Uint8Array): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(b);
    } catch {
      return this.fail('invalid UTF-8 in a string');
    }
  }
}

/** The pickle machine's stack, marks and memo, each bounded. */
class Machine {
  readonly stack: StackItem[] = [];
  readonly marks: number[] = [];
  private readonly memo = new Map<number, PickleValue>();
  constructor(private readonly fail: Fail) {}

  push(v: StackItem): void {
    if (this.stack.length >= PICKLE_LIMITS.maxStack) this.fail('stack too deep');
    this.stack.push(v);
  }

  pop(): PickleValue {
    if (this.stack.length === 0 || (this.marks.length && this.stack.length <= this.marks.at(-1)!)) this.fail('stack underflow');
    const v = this.stack.pop()!;
    if (v === MARK) this.fail('unexpected mark');
    return v as PickleValue;
  }

  top(): PickleValue {
    if (this.stack.length === 0) this.fail('stack underflow');
    const v = this.stack[this.stack.length - 1]!;
    if (v === MARK) this.fail('unexpected mark');
    return v as PickleValue;
  }

  mark(): void {
    if (this.marks.length >= PICKLE_LIMITS.maxDepth) this.fail('nesting too deep');
    this.marks.push(this.stack.length);
  }

  popMark(): PickleValue[] {
    const m = this.marks.pop();
    if (m === undefined) return this.fail('no mark on the stack');
    return this.stack.splice(m) as PickleValue[];
  }

  memoPut(i: number, v: PickleValue): void {
    if (this.memo.size >= PICKLE_LIMITS.maxMemo && !this.memo.has(i)) this.fail('memo too large');
    this.memo.set(i, v);
  }

  memoNext(v: PickleValue): void {
    this.memoPut(this.memo.size, v);
  }

  memoGet(i: number): PickleValue {
    if (!this.memo.has(i)) this.fail(`memo entry ${i} is missing`);
    return this.memo.get(i)!;
  }

  dictSet(d: Map<PickleValue, PickleValue>, k: PickleValue, v: PickleValue): void {
    if (d.size >= PICKLE_LIMITS.maxDictItems && !d.has(k)) {
      this.fail(`a dict with more than ${PICKLE_LIMITS.maxDictItems.toLocaleString('en-US')} entries; a PP-LCNet state dict has a few hundred keys`, 'E_WEIGHTS');
    }
    d.set(k, v);
  }

  setItems(target: PickleValue, items: PickleValue[]): void {
    if (!(target instanceof Map)) this.fail('SETITEM(S) on something that is not a dict');
    if (items.length % 2) this.fail('odd number of items for a dict');
    for (let i = 0; i < items.length; i += 2) this.dictSet(target as Map<PickleValue, PickleValue>, items[i]!, items[i + 1]!);
  }

  appendTo(target: PickleValue, items: PickleValue[]): void {
    if (!Array.isArray(target)) this.fail('APPEND(S) on something that is not a list');
    for (const it of items) (target as PickleValue[]).push(it);
  }
}

function allowedGlobal(module: string, name: string, fail: Fail): Global {
  const allowed = ALLOWED[`${module} ${name}`];
  if (!allowed) {
    fail(`refusing the pickle global '${module}.${name}': a weights file only needs numpy arrays, and pplcnet never runs code from a file. If this file should hold weights, it is not a plain PaddleClas state dict`, 'E_UNSAFE_PICKLE');
  }
  return { kind: 'global', name: allowed! };
}

/** Call an allowed global: each maps to a fixed data constructor, nothing is looked up. */
function reduce(m: Machine, fn: PickleValue, args: PickleValue, fail: Fail): PickleValue {
  if (!isKind(fn, 'global')) return fail('REDUCE of something that is not an allowed global');
  const a = args instanceof PyTuple ? args.items : fail('REDUCE arguments are not a tuple');
  switch ((fn as Global).name) {
    case 'reconstruct':
      // _reconstruct(ndarray, (0,), b'b'): an empty array, filled by BUILD (numpy refuses other arguments too)
      // numpy writes the dtype code b'b' (a placeholder dtype; BUILD sets the real one)
      const code = a[2] instanceof Uint8Array ? new TextDecoder('latin1').decode(a[2]) : a[2];
      if (a.length !== 3 || !isKind(a[0], 'global') || (a[0] as Global).name !== 'ndarray' || !(a[1] instanceof PyTuple) || code !== 'b') {
        return fail("numpy _reconstruct with arguments other than (numpy.ndarray, shape, b'b')");
      }
      return { kind: 'ndarray', dtype: '', shape: [], fortran: false, data: new Uint8Array(0), filled: false };
    case 'dtype': {
      const code = a[0];
      if (typeof code !== 'string') return fail('numpy.dtype argument is not a string');
      const match = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(code);
      if (!match) return fail(`numpy dtype '${code}' is not supported`);
      return { kind: 'dtype', code: match[2] === '?' ? 'b1' : `${match[2]}${match[3]}`, order: match[1] || '=' };
    }
    case 'OrderedDict': {
      const d = new Map<PickleValue, PickleValue>();
      const init = a[0];
      if (init === undefined) return d;
      const pairs = Array.isArray(init) ? init : init instanceof PyTuple ? init.items : fail('OrderedDict argument is not a list of pairs');
      for (const p of pairs) {
        const kv = p instanceof PyTuple ? p.items : Array.isArray(p) ? p : fail('OrderedDict item is not a pair');
        if (kv.length !== 2) fail('OrderedDict item is not a pair');
        m.dictSet(d, kv[0]!, kv[1]!);
      }
      return d;
    }
    case 'encode': {
      // _codecs.encode(str, 'latin1'): how protocol 2 writes bytes
      const [s, enc] = a;
      if (typeof s !== 'string' || (enc !== 'latin1' && enc !== 'latin-1')) return fail("_codecs.encode with arguments other than (str, 'latin1')");
      const out = new Uint8Array(s.length);
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        if (c > 255) fail('_codecs.encode: character outside latin1');
        out[i] = c;
      }
      return out;
    }
    case 'scalar': {
      // numpy.core.multiarray.scalar(dtype, bytes) → a number
      const [dt, raw] = a;
      if (!isKind(dt, 'dtype') || !(raw instanceof Uint8Array)) return fail('numpy scalar with unexpected arguments');
      return scalarValue(dt as NpDtype, raw, fail);
    }
    default:
      return fail(`'${(fn as Global).name}' cannot be called`);
  }
}

/** ndarray.__setstate__((version, shape, dtype, fortran, data)): checked against the file's size. */
function buildArray(arr: NdArray, state: PickleValue, fileSize: number, fail: Fail): void {
  const s = state instanceof PyTuple ? state.items : fail('ndarray state is not a tuple');
  // numpy takes (version, shape, dtype, fortran, data) with version 0 or 1, or the same without the version
  if (s.length !== 5 && s.length !== 4) fail(`ndarray state of ${s.length} items, expected 5 (or 4)`);
  if (s.length === 5 && s[0] !== 0 && s[0] !== 1) fail(`ndarray state version ${String(s[0])}, expected 1`);
  const [shapeV, dtV, fortranV, rawV] = s.slice(s.length - 4);
  if (typeof fortranV !== 'boolean' && !Number.isSafeInteger(fortranV)) fail(`ndarray Fortran flag is not a boolean`);
  const shape = shapeV instanceof PyTuple ? shapeV.items : fail('ndarray shape is not a tuple');
  if (shape.length > PICKLE_LIMITS.maxDims) fail('ndarray has too many dimensions');
  const dims = shape.map((d) =>
    typeof d === 'number' && Number.isInteger(d) && d >= 0 ? d : fail(`ndarray dimension ${String(d)}${d instanceof PyFloat ? ' (a float)' : ''} is not valid; expected a non-negative integer`),
  );
  if (!isKind(dtV, 'dtype')) return fail('ndarray dtype is missing');
  const dt = dtV as NpDtype;
  const size = ITEMSIZE[dt.code];
  if (!size) return fail(`ndarray dtype '${dt.code}' is not supported`);
  let n = 1;
  for (const d of dims) {
    n *= d;
    if (n * size > fileSize) fail(`ndarray of shape [${dims.join(',')}] is larger than the file`, 'E_TRUNCATED');
  }
  let raw: Uint8Array;
  if (rawV instanceof Uint8Array) raw = rawV;
  else if (typeof rawV === 'string') {
    raw = new Uint8Array(rawV.length);
    for (let i = 0; i < rawV.length; i++) raw[i] = rawV.charCodeAt(i) & 0xff;
  } else if (Array.isArray(rawV)) return fail('ndarray of Python objects (dtype=object) is not supported');
  else return fail('ndarray data is missing');
  if (raw.length !== n * size) fail(`ndarray of shape [${dims.join(',')}] and dtype ${dt.code} needs ${n * size} bytes but holds ${raw.length}`);
  arr.dtype = `${dt.order === '>' ? '>' : '<'}${dt.code}`;
  arr.shape = dims;
  arr.fortran = fortranV === true;
  arr.data = raw;
  arr.filled = true;
}

/** BUILD: set an object's state (arrays, dtypes, dicts; nothing else has state). */
function build(m: Machine, target: PickleValue, state: PickleValue, fileSize: number, fail: Fail): void {
  if (isKind(target, 'ndarray')) return buildArray(target as NdArray, state, fileSize, fail);
  if (isKind(target, 'dtype')) {
    // dtype state: (version, byteorder, subarray, names, fields, elsize, alignment, flags)
    const s = state instanceof PyTuple ? state.items : fail('dtype state is not a tuple');
    const order = s[1];
    if (typeof order === 'string') (target as NpDtype).order = order;
    return;
  }
  if (target instanceof Map && state instanceof Map) {
    for (const [k, v] of state) m.dictSet(target, k, v);
    return;
  }
  fail('BUILD on an object that has no state');
}

/** Opcodes that push a constant, a number or a string/bytes value. Returns false for any other. */
function valueOp(op: number, r: Bytes, m: Machine): boolean {
  switch (op) {
    case 0x7d: // EMPTY_DICT
      m.push(new Map());
      return true;
    case 0x5d: // EMPTY_LIST
    case 0x8f: // EMPTY_SET
      m.push([]);
      return true;
    case 0x29: // EMPTY_TUPLE
      m.push(new PyTuple([]));
      return true;
    case 0x4e: // NONE
      m.push(null);
      return true;
    case 0x88: // NEWTRUE
    case 0x89: // NEWFALSE
      m.push(op === 0x88);
      return true;
    case 0x4b: // BININT1
      m.push(r.u8());
      return true;
    case 0x4d: // BININT2
      m.push(r.u16());
      return true;
    case 0x4a: // BININT
      m.push(r.i32());
      return true;
    case 0x47: // BINFLOAT (big-endian double)
      m.push(new PyFloat(r.f64be()));
      return true;
    case 0x58: // BINUNICODE
      m.push(r.utf8(r.bytes(r.u32())));
      return true;
    case 0x8c: // SHORT_BINUNICODE
      m.push(r.utf8(r.bytes(r.u8())));
      return true;
    case 0x8d: // BINUNICODE8
      m.push(r.utf8(r.bytes(r.u64())));
      return true;
    case 0x54: // BINSTRING (Python 2 str)
    case 0x55: // SHORT_BINSTRING
      m.push(new TextDecoder('latin1').decode(r.bytes(op === 0x54 ? r.i32() : r.u8())));
      return true;
    case 0x42: // BINBYTES
      m.push(r.bytes(r.u32()));
      return true;
    case 0x43: // SHORT_BINBYTES
      m.push(r.bytes(r.u8()));
      return true;
    case 0x8e: // BINBYTES8
    case 0x96: // BYTEARRAY8
      m.push(r.bytes(r.u64()));
      return true;
    default:
      return textValueOp(op, r, m);
  }
}

/** Protocol 0 text values and long integers. Returns false for any other opcode. */
function textValueOp(op: number, r: Bytes, m: Machine): boolean {
  switch (op) {
    case 0x49: {
      // INT (text)
      const s = r.line();
      if (s === '01') m.push(true);
      else if (s === '00') m.push(false);
      else if (/^-?\d+$/.test(s)) m.push(Number(s));
      else r.fail('bad INT');
      return true;
    }
    case 0x4c: {
      // LONG (text)
      const s = r.line().replace(/L$/, '');
      if (!/^-?\d+$/.test(s)) r.fail('bad LONG');
      m.push(Number(s));
      return true;
    }
    case 0x8a: // LONG1
    case 0x8b: {
      // LONG4
      const n = op === 0x8a ? r.u8() : r.i32();
      if (n < 0 || n > 64) r.fail(`integer of ${n} bytes`);
      const b = r.bytes(n);
      let v = 0n;
      for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
      if (n > 0 && b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
      m.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
      return true;
    }
    case 0x46: // FLOAT (text)
      m.push(new PyFloat(Number(r.line())));
      return true;
    case 0x56: // UNICODE (raw-unicode-escape text)
      m.push(r.line().replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))));
      return true;
    default:
      return false;
  }
}

/** Opcodes that build or fill tuples, lists, dicts and sets. Returns false for any other. */
function containerOp(op: number, m: Machine): boolean {
  switch (op) {
    case 0x28: // MARK
      m.mark();
      return true;
    case 0x74: // TUPLE
      m.push(new PyTuple(m.popMark()));
      return true;
    case 0x85: // TUPLE1
    case 0x86: // TUPLE2
    case 0x87: {
      // TUPLE3
      const items: PickleValue[] = [];
      for (let k = op - 0x84; k > 0; k--) items.unshift(m.pop());
      m.push(new PyTuple(items));
      return true;
    }
    case 0x6c: // LIST
    case 0x91: // FROZENSET
      m.push(m.popMark());
      return true;
    case 0x64: {
      // DICT
      const d = new Map<PickleValue, PickleValue>();
      m.setItems(d, m.popMark());
      m.push(d);
      return true;
    }
    case 0x61: {
      // APPEND
      const v = m.pop();
      m.appendTo(m.top(), [v]);
      return true;
    }
    case 0x65: // APPENDS
    case 0x90: {
      // ADDITEMS
      const items = m.popMark();
      m.appendTo(m.top(), items);
      return true;
    }
    case 0x73: {
      // SETITEM
      const v = m.pop();
      const k = m.pop();
      m.setItems(m.top(), [k, v]);
      return true;
    }
    case 0x75: {
      // SETITEMS
      const items = m.popMark();
      m.setItems(m.top(), items);
      return true;
    }
    default:
      return false;
  }
}

/** Stack and memo opcodes. Returns false for any other. */
function memoOp(op: number, r: Bytes, m: Machine): boolean {
  const index = (s: string, what: string): number => (/^\d+$/.test(s) ? Number(s) : r.fail(`bad ${what}`));
  switch (op) {
    case 0x30: // POP
      if (m.stack.length && m.stack[m.stack.length - 1] === MARK) {
        m.stack.pop();
        m.marks.pop();
      } else m.pop();
      return true;
    case 0x31: // POP_MARK
      m.popMark();
      return true;
    case 0x32: // DUP
      m.push(m.top());
      return true;
    case 0x71: // BINPUT
      m.memoPut(r.u8(), m.top());
      return true;
    case 0x72: // LONG_BINPUT
      m.memoPut(r.u32(), m.top());
      return true;
    case 0x70: // PUT
      m.memoPut(index(r.line(), 'PUT'), m.top());
      return true;
    case 0x94: // MEMOIZE
      m.memoNext(m.top());
      return true;
    case 0x68: // BINGET
      m.push(m.memoGet(r.u8()));
      return true;
    case 0x6a: // LONG_BINGET
      m.push(m.memoGet(r.u32()));
      return true;
    case 0x67: // GET
      m.push(m.memoGet(index(r.line(), 'GET')));
      return true;
    default:
      return false;
  }
}

/** Globals, calls and BUILD; refused opcodes. Returns false for an unknown opcode. */
function callOp(op: number, r: Bytes, m: Machine): boolean {
  switch (op) {
    case 0x63: {
      // GLOBAL "module\nname\n"
      const module = r.line();
      m.push(allowedGlobal(module, r.line(), r.fail));
      return true;
    }
    case 0x93: {
      // STACK_GLOBAL
      const name = m.pop();
      const module = m.pop();
      if (typeof module !== 'string' || typeof name !== 'string') r.fail('STACK_GLOBAL needs two strings');
      m.push(allowedGlobal(module as string, name as string, r.fail));
      return true;
    }
    case 0x52: // REDUCE
    case 0x81: {
      // NEWOBJ: cls.__new__(cls, *args) — only for allowed globals, treated like REDUCE
      const args = m.pop();
      const fn = m.pop();
      m.push(reduce(m, fn, args, r.fail));
      return true;
    }
    case 0x62: {
      // BUILD
      const state = m.pop();
      build(m, m.top(), state, r.buf.length, r.fail);
      return true;
    }
    case 0x97: // NEXT_BUFFER
    case 0x98: // READONLY_BUFFER
      return r.fail('out-of-band pickle buffers (protocol 5) are not supported');
    case 0x69: // INST
    case 0x6f: // OBJ
    case 0x82: // EXT1
    case 0x83: // EXT2
    case 0x84: // EXT4
    case 0x92: // NEWOBJ_EX
    case 0x50: // PERSID
    case 0x51: // BINPERSID
      return r.fail(`pickle opcode 0x${op.toString(16)} creates arbitrary objects and is refused`, 'E_UNSAFE_PICKLE');
    default:
      return false;
  }
}

export function unpickle(buf: Uint8Array, file: string): PickleValue {
  const r = new Bytes(buf, file);
  const m = new Machine(r.fail);
  for (;;) {
    const op = r.opcode();
    if (op === 0x80) {
      // PROTO
      if (r.u8() > 5) r.fail('pickle protocol newer than 5');
    } else if (op === 0x95) {
      r.frame();
    } else if (op === 0x2e) {
      // STOP
      r.stop();
      const v = m.pop();
      if (m.stack.length !== 0) r.fail('data left on the stack at STOP');
      return v;
    } else if (!(valueOp(op, r, m) || containerOp(op, m) || memoOp(op, r, m) || callOp(op, r, m))) {
      r.fail(`unknown pickle opcode 0x${op.toString(16)}; this is not a pickle, or it is corrupt`);
    }
  }
}

function scalarValue(dt: NpDtype, raw: Uint8Array, fail: (m: string) => never): number {
  const size = ITEMSIZE[dt.code];
  if (!size || raw.length !== size) return fail(`numpy scalar of dtype ${dt.code} with ${raw.length} bytes`);
  const le = dt.order !== '>';
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  switch (dt.code) {
    case 'f4':
      return v.getFloat32(0, le);
    case 'f8':
      return v.getFloat64(0, le);
    case 'i4':
      return v.getInt32(0, le);
    case 'i8':
      return Number(v.getBigInt64(0, le));
    case 'u1':
    case 'i1':
    case 'b1':
      return raw[0]!;
    default:
      return fail(`numpy scalar of dtype ${dt.code} is not supported`);
  }
}
