/**
 * Legacy Paddle programs (`inference.pdmodel`, Paddle ≤ 2.6): a protobuf `ProgramDesc`
 * (paddle/fluid/framework/framework.proto), read field by field.
 * ProgramDesc: 1 blocks, 4 version{1}. BlockDesc: 1 idx, 2 parent, 3 vars, 4 ops.
 * VarDesc: 1 name, 2 type{1 type, 3 lod_tensor{1 tensor{1 data_type, 2 dims}}}, 3 persistable.
 * OpDesc: 1 inputs, 2 outputs ({1 parameter, 2 arguments}), 3 type, 4 attrs.
 */
import { PplcnetError } from '../errors.js';
import { type Field, fields, int64, repeatedVarints, utf8 } from '../util/protobuf.js';
import { PADDLE_DTYPES } from './pdiparams.js';
import type { AttrValue, Program, ProgramOp, ProgramParameter } from './program.js';

/** Legacy op types → the normalized names PIR uses. */
const TYPES: Readonly<Record<string, string>> = Object.freeze({
  hard_swish: 'hardswish',
  hard_sigmoid: 'hardsigmoid',
  elementwise_add: 'add',
  elementwise_mul: 'multiply',
  matmul_v2: 'matmul',
  flatten_contiguous_range: 'flatten',
  reshape2: 'reshape',
  feed: 'data',
});

/** Attribute types (framework.proto AttrType) and the field that holds each. */
function readAttr(fs: readonly Field[], where: string): [string, AttrValue] {
  const get = (no: number): Field | undefined => fs.find((f) => f.no === no);
  const name = utf8(get(1)?.bytes ?? new Uint8Array());
  const type = Number(get(2)?.int ?? -1n);
  const f32 = (f: Field): number => new DataView(f.bytes.buffer, f.bytes.byteOffset, 4).getFloat32(0, true);
  switch (type) {
    case 0: // INT
      return [name, int64(get(3)?.int ?? 0n)];
    case 1: // FLOAT
      return [name, get(4) ? f32(get(4)!) : 0];
    case 2: // STRING
      return [name, utf8(get(5)?.bytes ?? new Uint8Array())];
    case 3: // INTS
      return [name, repeatedVarints(fs, 6, where).map(int64)];
    case 4: {
      // FLOATS, packed or not
      const out: number[] = [];
      for (const f of fs.filter((x) => x.no === 7)) {
        if (f.wire === 5) out.push(f32(f));
        else if (f.wire === 2) {
          const dv = new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength);
          for (let i = 0; i + 4 <= f.bytes.length; i += 4) out.push(dv.getFloat32(i, true));
        }
      }
      return [name, out];
    }
    case 5: // STRINGS
      return [name, fs.filter((f) => f.no === 8).map((f) => utf8(f.bytes))];
    case 6: // BOOLEAN
      return [name, (get(10)?.int ?? 0n) !== 0n];
    case 7: // BOOLEANS
      return [name, repeatedVarints(fs, 11, where).map((v) => Number(v))];
    case 9: // LONG
      return [name, int64(get(13)?.int ?? 0n)];
    case 11: // LONGS
      return [name, repeatedVarints(fs, 15, where).map(int64)];
    case 15: {
      // FLOAT64
      const f = get(19);
      return [name, f ? new DataView(f.bytes.buffer, f.bytes.byteOffset, 8).getFloat64(0, true) : 0];
    }
    default:
      return [name, undefined];
  }
}

/** Parse a legacy ProgramDesc. */
export function readProgramDesc(buf: Uint8Array, file: string): Program {
  const top = fields(buf, file);
  const blocks = top.filter((f) => f.no === 1 && f.wire === 2);
  if (blocks.length === 0) throw new PplcnetError('E_FORMAT', `${file}: not a Paddle ProgramDesc (no blocks)`);
  const versionField = top.find((f) => f.no === 4);
  const version = versionField ? int64(fields(versionField.bytes, file).find((f) => f.no === 1)?.int ?? 0n) : undefined;
  const block = fields(blocks[0]!.bytes, `${file}: block 0`);
  const parameters: ProgramParameter[] = [];
  let input: Program['input'];
  const shapes = new Map<string, number[]>();
  for (const v of block.filter((f) => f.no === 3)) {
    const vf = fields(v.bytes, `${file}: var`);
    const name = utf8(vf.find((f) => f.no === 1)?.bytes ?? new Uint8Array());
    const persistable = (vf.find((f) => f.no === 3)?.int ?? 0n) !== 0n;
    const vt = vf.find((f) => f.no === 2);
    const vtf = vt ? fields(vt.bytes, `${file}: var '${name}' type`) : [];
    const kind = Number(vtf.find((f) => f.no === 1)?.int ?? -1n);
    if (kind !== 7) continue; // LOD_TENSOR only (feed/fetch lists are not parameters)
    const lod = vtf.find((f) => f.no === 3);
    const tensor = lod ? fields(lod.bytes, `${file}: var '${name}'`).find((f) => f.no === 1) : undefined;
    const tf = tensor ? fields(tensor.bytes, `${file}: var '${name}' tensor`) : [];
    const dtypeCode = Number(tf.find((f) => f.no === 1)?.int ?? -1n);
    const shape = repeatedVarints(tf, 2, `${file}: var '${name}' dims`).map(int64);
    shapes.set(name, shape);
    if (persistable) parameters.push({ name, shape, dtype: PADDLE_DTYPES[dtypeCode]?.name ?? `type ${dtypeCode}` });
  }
  const ops: ProgramOp[] = [];
  const constants = new Map<string, number[]>();
  block
    .filter((f) => f.no === 4)
    .forEach((o, index) => {
      const of = fields(o.bytes, `${file}: op ${index}`);
      const rawType = utf8(of.find((f) => f.no === 3)?.bytes ?? new Uint8Array());
      const slot = (f: Field): [string, string[]] => {
        const sf = fields(f.bytes, `${file}: op ${index} '${rawType}'`);
        return [utf8(sf.find((x) => x.no === 1)?.bytes ?? new Uint8Array()), sf.filter((x) => x.no === 2).map((x) => utf8(x.bytes))];
      };
      const inputs: Record<string, string | undefined> = {};
      for (const f of of.filter((x) => x.no === 1)) {
        const [k, args] = slot(f);
        inputs[k] = args[0];
      }
      const outputs: string[] = [];
      const outSlots: Record<string, string[]> = {};
      for (const f of of.filter((x) => x.no === 2)) {
        const [k, args] = slot(f);
        outSlots[k] = args;
      }
      // the main result first (Out / Output / Y), then the rest
      for (const k of ['Out', 'Output', 'Y']) if (outSlots[k]) outputs.push(...outSlots[k]!);
      for (const [k, v] of Object.entries(outSlots)) if (!['Out', 'Output', 'Y'].includes(k)) outputs.push(...v);
      const attrs: Record<string, AttrValue> = {};
      for (const a of of.filter((x) => x.no === 4)) {
        const [k, v] = readAttr(fields(a.bytes, `${file}: op ${index} attr`), `${file}: op ${index}`);
        attrs[k] = v;
      }
      const type = TYPES[rawType] ?? rawType;
      if (type === 'assign_value' && Array.isArray(attrs.int32_values) && outputs[0]) constants.set(outputs[0], attrs.int32_values as number[]);
      if (type === 'data' && !input && outputs[0]) input = { name: outputs[0], value: outputs[0], shape: shapes.get(outputs[0]) ?? [] };
      ops.push({ type, rawType, inputs, outputs, attrs, where: `op ${index} '${rawType}'` });
    });
  return {
    format: 'program-desc',
    ...(version !== undefined ? { version: formatVersion(version) } : {}),
    parameters,
    ops,
    input,
    constants,
  };
}

/** 2002000 → "2.2.0". */
function formatVersion(v: number): string {
  if (v <= 0) return String(v);
  return `${Math.floor(v / 1000000)}.${Math.floor((v % 1000000) / 1000)}.${v % 1000}`;
}
