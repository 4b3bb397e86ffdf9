/**
 * Paddle 3 PIR programs (`inference.json`): `program.regions[0].blocks[0].ops`, parameter ops (`"#": "p"`)
 * naming persistable values, compute ops (`"1.conv2d"`, …) with attributes `A: [{N, AT: {"#", D}}]`,
 * inputs `I: [{"%": id}]` and outputs `O: [{"%": id, TT}]`.
 */
import { PplcnetError } from '../errors.js';
import { type AttrValue, type Program, type ProgramOp, type ProgramParameter, baseParameterName } from './program.js';

/** Positional input slots of the PIR ops PP-LCNet uses. */
const SLOTS: Readonly<Record<string, readonly string[]>> = Object.freeze({
  conv2d: ['Input', 'Filter'],
  depthwise_conv2d: ['Input', 'Filter'],
  batch_norm: ['X', 'Mean', 'Variance', 'Scale', 'Bias'],
  add: ['X', 'Y'],
  multiply: ['X', 'Y'],
  matmul: ['X', 'Y'],
  pool2d: ['X', 'KernelSize'],
  reshape: ['X', 'Shape'],
  dropout: ['X', 'SeedTensor', 'P'],
  scale: ['X', 'Scale'],
  fetch: ['X'],
});

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

function attrValue(at: Json | undefined): AttrValue {
  const a = obj(at);
  if (!a) return undefined;
  const d = a.D;
  if (a['#'] === '0.a_array' && Array.isArray(d)) {
    const items = d.map((x) => obj(x)?.D);
    if (items.every((x) => typeof x === 'number')) return items as number[];
    if (items.every((x) => typeof x === 'string')) return items as string[];
    return undefined;
  }
  if (a['#'] === '1.a_intarray' && Array.isArray(d)) return d.filter((x): x is number => typeof x === 'number');
  if (typeof d === 'number' || typeof d === 'string' || typeof d === 'boolean') return d;
  return undefined;
}

/** Parse a PIR program from its JSON text. */
export function readPirProgram(text: string, file: string): Program {
  let root: Json;
  try {
    root = JSON.parse(text) as Json;
  } catch (err) {
    throw new PplcnetError('E_FORMAT', `${file}: not valid JSON (${(err as Error).message})`);
  }
  const base = obj(obj(root)?.base_code);
  if (!base || base.magic !== 'pir') {
    throw new PplcnetError('E_FORMAT', `${file}: not a Paddle PIR program (base_code.magic is ${JSON.stringify(base?.magic ?? null)}, expected "pir")`);
  }
  const regions = obj(obj(root)?.program)?.regions;
  const block = Array.isArray(regions) ? obj(obj(regions[0])?.blocks && (obj(regions[0])!.blocks as Json[])[0]) : undefined;
  const rawOps = block?.ops;
  if (!Array.isArray(rawOps)) throw new PplcnetError('E_FORMAT', `${file}: program.regions[0].blocks[0].ops is missing`);

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
      const shape = Array.isArray(d[1]) ? d[1].map(Number) : [];
      names.set(id, name);
      parameters.push({ name, shape, dtype });
      return;
    }
    if (typeof kind !== 'string') throw new PplcnetError('E_FORMAT', `${file}: op ${index} has no type`);
    const type = kind.replace(/^\d+\./, '').replace(/_$/, '');
    const attrs: Record<string, AttrValue> = {};
    for (const a of Array.isArray(o.A) ? o.A : []) {
      const e = obj(a);
      if (e && typeof e.N === 'string') attrs[e.N] = attrValue(e.AT);
    }
    const slots = SLOTS[type] ?? [];
    const inputs: Record<string, string | undefined> = {};
    (Array.isArray(o.I) ? o.I : []).forEach((i, k) => {
      inputs[slots[k] ?? (k === 0 ? 'X' : `in${k}`)] = valueName(obj(i)?.['%']);
    });
    const outs = (Array.isArray(o.O) ? o.O : [o.O]).map((x) => valueName(obj(x)?.['%']) ?? '');
    const struct = typeof attrs.struct_name === 'string' ? ` (${attrs.struct_name})` : '';
    ops.push({ type, rawType: kind, inputs, outputs: outs, attrs, where: `op ${index} '${kind}'${struct}` });
    if (type === 'full_int_array' && Array.isArray(attrs.value) && outs[0]) constants.set(outs[0], attrs.value as number[]);
    if (type === 'data' && !input) {
      const shape = Array.isArray(attrs.shape) ? (attrs.shape as number[]) : [];
      input = { name: typeof attrs.name === 'string' ? attrs.name : 'x', value: outs[0] ?? '', shape };
    }
  });
  // full_int_array values are arrays of {"#": "0.a_i64", D} in the raw file; attrValue flattened them.
  return { format: 'pir-json', version: String(base.version ?? ''), parameters, ops, input, constants };
}
