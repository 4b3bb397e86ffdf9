/**
 * A pickle reader that never executes anything. It interprets protocol 0–4 opcodes into plain values;
 * the only globals it accepts are the few that numpy arrays and Paddle state dicts need, and those map to
 * fixed data constructors here (nothing is looked up or called). Any other global is refused by name.
 * Every length is checked against the bytes left, and nesting, memo and stack sizes are bounded, so a
 * hostile or corrupt file ends in a PplcnetError, never in a crash, hang or runaway allocation.
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

export function unpickle(buf: Uint8Array, file: string): PickleValue {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  const stack: StackItem[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  const fail = (message: string, code: 'E_PICKLE' | 'E_TRUNCATED' | 'E_UNSAFE_PICKLE' | 'E_WEIGHTS' = 'E_PICKLE'): never => {
    throw new PplcnetError(code, `${file}: ${message} (pickle byte ${pos})`);
  };
  const need = (n: number): void => {
    if (n < 0 || pos + n > buf.length) fail(`needs ${n} more bytes but only ${buf.length - pos} remain; the file is truncated or corrupt`, 'E_TRUNCATED');
  };
  const u8 = (): number => {
    need(1);
    return buf[pos++]!;
  };
  const u16 = (): number => {
    need(2);
    const v = dv.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = dv.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = dv.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(buf.length)) fail(`length ${v} is larger than the file`, 'E_TRUNCATED');
    return Number(v);
  };
  const bytes = (n: number): Uint8Array => {
    need(n);
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const line = (): string => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated text line', 'E_TRUNCATED');
    const s = new TextDecoder('latin1').decode(buf.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const utf8 = (b: Uint8Array): string => {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(b);
    } catch {
      return fail('invalid UTF-8 in a string');
    }
  };
  const push = (v: StackItem): void => {
    if (stack.length >= PICKLE_LIMITS.maxStack) fail('stack too deep');
    stack.push(v);
  };
  const pop = (): PickleValue => {
    if (stack.length === 0 || (marks.length && stack.length <= marks.at(-1)!)) fail('stack underflow');
    const v = stack.pop()!;
    if (v === MARK) fail('unexpected mark');
    return v as PickleValue;
  };
  const top = (): PickleValue => {
    if (stack.length === 0) fail('stack underflow');
    const v = stack[stack.length - 1]!;
    if (v === MARK) fail('unexpected mark');
    return v as PickleValue;
  };
  const popMark = (): PickleValue[] => {
    const m = marks.pop();
    if (m === undefined) fail('no mark on the stack');
    const items = stack.splice(m!);
    return items as PickleValue[];
  };
  const memoPut = (i: number, v: PickleValue): void => {
    if (memo.size >= PICKLE_LIMITS.maxMemo && !memo.has(i)) fail('memo too large');
    memo.set(i, v);
  };
  const memoGet = (i: number): PickleValue => {
    if (!memo.has(i)) fail(`memo entry ${i} is missing`);
    return memo.get(i)!;
  };
  const global = (module: string, name: string): Global => {
    const allowed = ALLOWED[`${module} ${name}`];
    if (!allowed) {
      fail(`refusing the pickle global '${module}.${name}': a weights file only needs numpy arrays, and pplcnet never runs code from a file. If this file should hold weights, it is not a plain PaddleClas state dict`, 'E_UNSAFE_PICKLE');
    }
    return { kind: 'global', name: allowed! };
  };
  const dictSet = (d: Map<PickleValue, PickleValue>, k: PickleValue, v: PickleValue): void => {
    if (d.size >= PICKLE_LIMITS.maxDictItems && !d.has(k)) {
      fail(`a dict with more than ${PICKLE_LIMITS.maxDictItems.toLocaleString('en-US')} entries; a PP-LCNet state dict has a few hundred keys`, 'E_WEIGHTS');
    }
    d.set(k, v);
  };
  const setItems = (target: PickleValue, items: PickleValue[]): void => {
    if (!(target instanceof Map)) fail('SETITEM(S) on something that is not a dict');
    if (items.length % 2) fail('odd number of items for a dict');
    for (let i = 0; i < items.length; i += 2) dictSet(target as Map<PickleValue, PickleValue>, items[i]!, items[i + 1]!);
  };
  const appendTo = (target: PickleValue, items: PickleValue[]): void => {
    if (!Array.isArray(target)) fail('APPEND(S) on something that is not a list');
    for (const it of items) (target as PickleValue[]).push(it);
  };
  const reduce = (fn: PickleValue, args: PickleValue): PickleValue => {
    if (!fn || typeof fn !== 'object' || !('kind' in fn) || fn.kind !== 'global') return fail('REDUCE of something that is not an allowed global');
    const a = args instanceof PyTuple ? args.items : fail('REDUCE arguments are not a tuple');
    switch ((fn as Global).name) {
      case 'reconstruct':
        // _reconstruct(ndarray, (0,), b'b'): an empty array, filled by BUILD
        return { kind: 'ndarray', dtype: '', shape: [], fortran: false, data: new Uint8Array(0), filled: false };
      case 'dtype': {
        const code = a[0];
        if (typeof code !== 'string') return fail('numpy.dtype argument is not a string');
        const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(code);
        if (!m) return fail(`numpy dtype '${code}' is not supported`);
        return { kind: 'dtype', code: m[2] === '?' ? 'b1' : `${m[2]}${m[3]}`, order: m[1] || '=' };
      }
      case 'OrderedDict': {
        const d = new Map<PickleValue, PickleValue>();
        const init = a[0];
        if (init !== undefined) {
          const pairs = Array.isArray(init) ? init : init instanceof PyTuple ? init.items : fail('OrderedDict argument is not a list of pairs');
          for (const p of pairs as PickleValue[]) {
            const kv = p instanceof PyTuple ? p.items : Array.isArray(p) ? p : fail('OrderedDict item is not a pair');
            if ((kv as PickleValue[]).length !== 2) fail('OrderedDict item is not a pair');
            dictSet(d, (kv as PickleValue[])[0]!, (kv as PickleValue[])[1]!);
          }
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
        if (!dt || typeof dt !== 'object' || !('kind' in dt) || dt.kind !== 'dtype' || !(raw instanceof Uint8Array)) return fail('numpy scalar with unexpected arguments');
        return scalarValue(dt as NpDtype, raw, fail);
      }
      default:
        return fail(`'${(fn as Global).name}' cannot be called`);
    }
  };
  const build = (target: PickleValue, state: PickleValue): void => {
    if (target && typeof target === 'object' && 'kind' in target && target.kind === 'ndarray') {
      const s = state instanceof PyTuple ? state.items : fail('ndarray state is not a tuple');
      const [, shapeV, dtV, fortranV, rawV] = s as PickleValue[];
      const shape = shapeV instanceof PyTuple ? shapeV.items : fail('ndarray shape is not a tuple');
      if ((shape as PickleValue[]).length > PICKLE_LIMITS.maxDims) fail('ndarray has too many dimensions');
      const dims = (shape as PickleValue[]).map((d) =>
        typeof d === 'number' && Number.isInteger(d) && d >= 0 ? d : fail(`ndarray dimension ${String(d)}${d instanceof PyFloat ? ' (a float)' : ''} is not valid; expected a non-negative integer`),
      );
      if (!dtV || typeof dtV !== 'object' || !('kind' in dtV) || dtV.kind !== 'dtype') return fail('ndarray dtype is missing');
      const dt = dtV as NpDtype;
      const size = ITEMSIZE[dt.code];
      if (!size) return fail(`ndarray dtype '${dt.code}' is not supported`);
      let n = 1;
      for (const d of dims) {
        n *= d;
        if (n * size > buf.length) fail(`ndarray of shape [${dims.join(',')}] is larger than the file`, 'E_TRUNCATED');
      }
      let raw: Uint8Array;
      if (rawV instanceof Uint8Array) raw = rawV;
      else if (typeof rawV === 'string') {
        raw = new Uint8Array(rawV.length);
        for (let i = 0; i < rawV.length; i++) raw[i] = rawV.charCodeAt(i) & 0xff;
      } else if (Array.isArray(rawV)) return fail('ndarray of Python objects (dtype=object) is not supported');
      else return fail('ndarray data is missing');
      if (raw.length !== n * size) fail(`ndarray of shape [${dims.join(',')}] and dtype ${dt.code} needs ${n * size} bytes but holds ${raw.length}`);
      const arr = target as NdArray;
      arr.dtype = `${dt.order === '>' ? '>' : '<'}${dt.code}`;
      arr.shape = dims;
      arr.fortran = fortranV === true;
      arr.data = raw;
      arr.filled = true;
      return;
    }
    if (target && typeof target === 'object' && 'kind' in target && target.kind === 'dtype') {
      // dtype state: (version, byteorder, subarray, names, fields, elsize, alignment, flags)
      const s = state instanceof PyTuple ? state.items : fail('dtype state is not a tuple');
      const order = (s as PickleValue[])[1];
      if (typeof order === 'string') (target as NpDtype).order = order;
      return;
    }
    if (target instanceof Map && state instanceof Map) {
      for (const [k, v] of state) dictSet(target, k, v);
      return;
    }
    fail('BUILD on an object that has no state');
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol newer than 5');
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: {
        // STOP
        const v = pop();
        if (stack.length !== 0) fail('data left on the stack at STOP');
        return v;
      }
      case 0x28: // MARK
        if (marks.length >= PICKLE_LIMITS.maxDepth) fail('nesting too deep');
        marks.push(stack.length);
        break;
      case 0x7d: // EMPTY_DICT
        push(new Map());
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x29: // EMPTY_TUPLE
        push(new PyTuple([]));
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x4a: // BININT
        push(i32());
        break;
      case 0x49: {
        // INT (text)
        const s = line();
        if (s === '01') push(true);
        else if (s === '00') push(false);
        else if (/^-?\d+$/.test(s)) push(Number(s));
        else fail('bad INT');
        break;
      }
      case 0x4c: {
        // LONG (text)
        const s = line().replace(/L$/, '');
        if (!/^-?\d+$/.test(s)) fail('bad LONG');
        push(Number(s));
        break;
      }
      case 0x8a: // LONG1
      case 0x8b: {
        // LONG4
        const n = op === 0x8a ? u8() : i32();
        if (n < 0 || n > 64) fail(`integer of ${n} bytes`);
        const b = bytes(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
        if (n > 0 && b[n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: {
        // BINFLOAT (big-endian double)
        need(8);
        push(new PyFloat(dv.getFloat64(pos, false)));
        pos += 8;
        break;
      }
      case 0x46: // FLOAT (text)
        push(new PyFloat(Number(line())));
        break;
      case 0x58: // BINUNICODE
        push(utf8(bytes(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(utf8(bytes(u8())));
        break;
      case 0x8d: // BINUNICODE8
        push(utf8(bytes(u64())));
        break;
      case 0x56: // UNICODE (raw-unicode-escape text)
        push(line().replace(/\\u([0-9a-fA-F]{4})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))));
        break;
      case 0x54: // BINSTRING (Python 2 str)
      case 0x55: {
        // SHORT_BINSTRING
        const n = op === 0x54 ? i32() : u8();
        push(new TextDecoder('latin1').decode(bytes(n)));
        break;
      }
      case 0x42: // BINBYTES
        push(bytes(u32()));
        break;
      case 0x43: // SHORT_BINBYTES
        push(bytes(u8()));
        break;
      case 0x8e: // BINBYTES8
        push(bytes(u64()));
        break;
      case 0x96: // BYTEARRAY8
        push(bytes(u64()));
        break;
      case 0x74: {
        // TUPLE
        push(new PyTuple(popMark()));
        break;
      }
      case 0x85: // TUPLE1
        push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        push(new PyTuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        push(new PyTuple([a, b, c]));
        break;
      }
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x64: {
        // DICT
        const d = new Map<PickleValue, PickleValue>();
        setItems(d, popMark());
        push(d);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        appendTo(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendTo(top(), items);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x8f: // EMPTY_SET
        push([]);
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        appendTo(top(), items);
        break;
      }
      case 0x91: // FROZENSET
        push(popMark());
        break;
      case 0x30: // POP
        if (stack.length && stack[stack.length - 1] === MARK) {
          stack.pop();
          marks.pop();
        } else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x71: // BINPUT
        memoPut(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memoPut(u32(), top());
        break;
      case 0x70: {
        // PUT
        const s = line();
        if (!/^\d+$/.test(s)) fail('bad PUT');
        memoPut(Number(s), top());
        break;
      }
      case 0x94: // MEMOIZE
        memoPut(memo.size, top());
        break;
      case 0x68: // BINGET
        push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        push(memoGet(u32()));
        break;
      case 0x67: {
        // GET
        const s = line();
        if (!/^\d+$/.test(s)) fail('bad GET');
        push(memoGet(Number(s)));
        break;
      }
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        push(global(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(global(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        push(reduce(fn, args));
        break;
      }
      case 0x81: {
        // NEWOBJ: cls.__new__(cls, *args) — only for allowed globals, treated like REDUCE
        const args = pop();
        const cls = pop();
        push(reduce(cls, args));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        build(top(), state);
        break;
      }
      case 0x97: // NEXT_BUFFER
      case 0x98: // READONLY_BUFFER
        fail('out-of-band pickle buffers (protocol 5) are not supported');
        break;
      case 0x69: // INST
      case 0x6f: // OBJ
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: // EXT4
      case 0x92: // NEWOBJ_EX
      case 0x50: // PERSID
      case 0x51: // BINPERSID
        fail(`pickle opcode 0x${op.toString(16)} creates arbitrary objects and is refused`, 'E_UNSAFE_PICKLE');
        break;
      default:
        fail(`unknown pickle opcode 0x${op.toString(16)}; this is not a pickle, or it is corrupt`);
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
