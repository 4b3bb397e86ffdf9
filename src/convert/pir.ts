/**
 * Paddle 3 PIR programs (`inference.json`): `program.regions[0].blocks[0].ops`, parameter ops (`"#": "p"`)
 * naming persistable values, compute ops (`"1.conv2d"`, …) with attributes `A: [{N, AT: {"#", D}}]`,
 * inputs `I: [{"%": id}]` and outputs `O: [{"%": id, TT}]`.
 */
import { PplcnetError } from '../errors.js';
import { PIR_INPUT_SLOTS } from './paddle-names.js';
import { type AttrValue, type Program, type ProgramOp, type ProgramParameter, baseParameterName } from './program.js';

const DTYPES: Readonly<Record<string, string>> = Object.freeze({
  '0.t_f32': 'float32',
  '0.t_f64': 'float64',
  '0.t_f16': 'float16',
  '0.t_bf16': 'bfloat16',
  '0.t_i64': 'int64',
  '0.t_i32': 'int32',
  '0.t_ui8': 'uint8',
  '0.t_i8': 'int8',
  '0.t_bool': 'bool',
});

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function obj(v: Json | undefined): Record<string, Json> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

/** Scalar attribute types and what their `D` must hold. */
const SCALARS: Readonly<Record<string, { expected: string; ok: (d: Json) => boolean }>> = Object.freeze({
  '0.a_i32': { expected: 'an integer', ok: (d) => Number.isSafeInteger(d) },
  '0.a_i64': { expected: 'an integer', ok: (d) => Number.isSafeInteger(d) },
  '0.a_f32': { expected: 'a finite number', ok: (d) => typeof d === 'number' && Number.isFinite(d) },
  '0.a_f64': { expected: 'a finite number', ok: (d) => typeof d === 'number' && Number.isFinite(d) },
  '0.a_str': { expected: 'a string', ok: (d) => typeof d === 'string' },
  '1.a_dtype': { expected: 'a string', ok: (d) => typeof d === 'string' },
  '0.a_bool': { expected: 'a boolean', ok: (d) => typeof d === 'boolean' },
});

const MAX_ARRAY = 1024;

/** Short description of a JSON value for error messages (never the whole value). */
function found(v: Json | undefined): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? 'nothing';
  } catch {
    text = Array.isArray(v) ? 'a deeply nested array' : 'a deeply nested object';
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Decode `{"#": type, "D": data}`. A known type holding the wrong kind of data is an error naming the
 * attribute; an unknown type is kept as unreadable (it fails only if the interpreter reads it).
 */
function attrValue(at: Json | undefined, where: () => string, nested = false): AttrValue {
  const a = obj(at);
  const bad = (expected: string, d: Json | undefined): never => {
    throw new PplcnetError('E_PROGRAM', `${where()}: expected ${expected} but found ${found(d)}`);
  };
  if (!a) return bad('an attribute {"#": type, "D": value}', at);
  const type = a['#'];
  const d = a.D;
  if (typeof type !== 'string') return bad('an attribute type "#"', type);
  const scalar = SCALARS[type];
  if (scalar) return scalar.ok(d) ? (d as number | string | boolean) : bad(`${scalar.expected} for a ${type} attribute`, d);
  if (type === '1.a_intarray') {
    if (!Array.isArray(d) || d.length > MAX_ARRAY || !d.every((x) => Number.isSafeInteger(x))) return bad('an array of integers for a 1.a_intarray attribute', d);
    return d as number[];
  }
  if (type === '0.a_array') {
    // Paddle's array attributes hold scalars; arrays of arrays are not decoded (nor recursed into)
    if (nested) return { unreadable: 'an array inside an array' };
    if (!Array.isArray(d) || d.length > MAX_ARRAY) return bad(`an array of at most ${MAX_ARRAY} items for a 0.a_array attribute`, d);
    const items = d.map((x, k) => attrValue(x, () => `${where()}[${k}]`, true));
    if (items.every((x) => typeof x === 'number')) return items as number[];
    if (items.every((x) => typeof x === 'string')) return items as string[];
    return { unreadable: `an array of ${[...new Set(items.map((x) => (typeof x === 'object' ? 'unreadable items' : `${typeof x}s`)))].join(' and ')}` };
  }
  return { unreadable: `an attribute of type ${found(type)}` };
}

/** Bounds on what a PP-LCNet program can hold (a PP-LCNet program has a few hundred ops and parameters). */
export const PROGRAM_LIMITS = Object.freeze({ maxBytes: 64 << 20, maxOps: 20_000, maxDim: 1 << 30 });

/** A parameter shape: every dimension a non-negative integer. */
function parameterShape(d: Json | undefined, where: string): number[] {
  if (!Array.isArray(d) || d.length > 8 || !d.every((x) => Number.isSafeInteger(x) && (x as number) >= 0 && (x as number) <= PROGRAM_LIMITS.maxDim)) {
    throw new PplcnetError('E_PROGRAM', `${where}: expected a shape of at most 8 non-negative integer dimensions but found ${found(d)}`);
  }
  return d as number[];
}

/** Parse a PIR program from its JSON text. */
export function readPirProgram(text: string, file: string): Program {
  if (text.length > PROGRAM_LIMITS.maxBytes) {
    throw new PplcnetError('E_FORMAT', `${file}: ${text.length} characters, more than the ${PROGRAM_LIMITS.maxBytes} a PP-LCNet program can take`);
  }
  let root: Json;
  try {
    root = JSON.parse(text) as Json;
  } catch (err) {
    throw new PplcnetError('E_FORMAT', `${file}: not valid JSON (${(err as Error).message})`);
  }
  return readPirJson(root, file);
}

/** Read a PIR program from its parsed JSON (`unknown`: nothing about its shape is assumed). */
export function readPirJson(json: unknown, file: string): Program {
  const root = json as Json;
  const base = obj(obj(root)?.base_code);
  if (!base || base.magic !== 'pir') {
    throw new PplcnetError('E_FORMAT', `${file}: not a Paddle PIR program (base_code.magic is ${found(base?.magic ?? null)}, expected "pir")`);
  }
  const regions = obj(obj(root)?.program)?.regions;
  const blocks = Array.isArray(regions) ? obj(regions[0])?.blocks : undefined;
  const block = Array.isArray(blocks) ? obj(blocks[0]) : undefined;
  const rawOps = block?.ops;
  if (!Array.isArray(rawOps)) throw new PplcnetError('E_FORMAT', `${file}: program.regions[0].blocks[0].ops is missing`);
  if (rawOps.length > PROGRAM_LIMITS.maxOps) throw new PplcnetError('E_FORMAT', `${file}: ${rawOps.length} ops, more than the ${PROGRAM_LIMITS.maxOps} a PP-LCNet program can have`);

  const names = new Map<number, string>(); // value id → parameter name
  const parameters: ProgramParameter[] = [];
  const ops: ProgramOp[] = [];
  const constants = new Map<string, number[]>();
  let input: Program['input'];
  const valueName = (id: Json | undefined): string | undefined => {
    if (typeof id !== 'number') return undefined;
    return names.get(id) ?? `%${id}`;
  };

  rawOps.forEach((raw, index) => {
    const o = obj(raw);
    if (!o) throw new PplcnetError('E_FORMAT', `${file}: op ${index} is not an object`);
    const kind = o['#'];
    if (kind === 'p') {
      const a = Array.isArray(o.A) ? o.A : [];
      const name = typeof a[3] === 'string' ? baseParameterName(a[3]) : undefined;
      const out = obj(o.O);
      const id = out?.['%'];
      const d = obj(out?.TT)?.D;
      if (!name || typeof id !== 'number' || !Array.isArray(d)) throw new PplcnetError('E_FORMAT', `${file}: parameter op ${index} lacks a name, value id or type`);
      const dtype = DTYPES[String(obj(d[0])?.['#'])] ?? String(obj(d[0])?.['#']);
      const shape = parameterShape(d[1], `${file}: parameter op ${index} '${name}'`);
      names.set(id, name);
      parameters.push({ name, shape, dtype });
      return;
    }
    if (typeof kind !== 'string') throw new PplcnetError('E_FORMAT', `${file}: op ${index} has no type`);
    const type = kind.replace(/^\d+\./, '').replace(/_$/, '');
    const attrs: Record<string, AttrValue> = {};
    for (const a of Array.isArray(o.A) ? o.A : []) {
      const e = obj(a);
      if (e && typeof e.N === 'string') attrs[e.N] = attrValue(e.AT, () => `${file}: op ${index} '${kind}': attribute '${String(e.N)}'`);
    }
    const slots = PIR_INPUT_SLOTS[type] ?? [];
    const inputs: Record<string, string | undefined> = {};
    (Array.isArray(o.I) ? o.I : []).forEach((i, k) => {
      inputs[slots[k] ?? (k === 0 ? 'X' : `in${k}`)] = valueName(obj(i)?.['%']);
    });
    const outs = (Array.isArray(o.O) ? o.O : [o.O]).map((x) => valueName(obj(x)?.['%']) ?? '');
    const struct = typeof attrs.struct_name === 'string' ? ` (${attrs.struct_name})` : '';
    ops.push({ type, rawType: kind, inputs, outputs: outs, attrs, where: `op ${index} '${kind}'${struct}` });
    const numbers = (v: AttrValue | undefined): number[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : undefined);
    const value = numbers(attrs.value);
    if (type === 'full_int_array' && value && outs[0]) constants.set(outs[0], value);
    if (type === 'data' && !input) {
      // the input's name and shape (which sets the model's input size): both must be there, none is assumed
      const shape = numbers(attrs.shape);
      const name = attrs.name;
      if (!shape || typeof name !== 'string') {
        const [attr, expected] = !shape ? ['shape', 'the input shape, an array of integers'] : ['name', "the input's name, a string"];
        throw new PplcnetError('E_PROGRAM', `${file}: op ${index} '${kind}': attribute '${attr}' ${Object.hasOwn(attrs, attr) ? `is ${found(attrs[attr] as Json)}` : 'is missing'}; expected ${expected}. Paddle writes it for every input, so the file is damaged or was edited: export the model again`);
      }
      input = { name, value: outs[0] ?? '', shape };
    }
  });
  // full_int_array values are arrays of {"#": "0.a_i64", D} in the raw file; attrValue flattened them.
  return { format: 'pir-json', version: String(base.version ?? ''), parameters, ops, input, constants };
}
