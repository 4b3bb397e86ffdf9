/**
 * Legacy Paddle programs (`inference.pdmodel`, Paddle ≤ 2.6): a protobuf `ProgramDesc`
 * (paddle/fluid/framework/framework.proto), read field by field.
 * ProgramDesc: 1 blocks, 4 version{1}. BlockDesc: 1 idx, 2 parent, 3 vars, 4 ops.
 * VarDesc: 1 name, 2 type{1 type, 3 lod_tensor{1 tensor{1 data_type, 2 dims}}}, 3 persistable.
 * OpDesc: 1 inputs, 2 outputs ({1 parameter, 2 arguments}), 3 type, 4 attrs.
 */
import { PplcnetError } from '../errors.js';
import { type Field, WIRE, field, fields, int64, repeatedVarints, utf8 } from '../util/protobuf.js';
import { PADDLE_DTYPES } from './pdiparams.js';
import { LEGACY_OP_TYPES } from './paddle-names.js';
import { PROGRAM_LIMITS } from './pir.js';
import type { AttrValue, Program, ProgramOp, ProgramParameter } from './program.js';

const WIRE_NAMES = ['a varint', 'a fixed64', 'a length-delimited field', '', '', 'a fixed32'];
const wireName = (w: number): string => WIRE_NAMES[w] || `wire type ${w}`;

/**
 * How each attribute type (framework.proto AttrType) is stored: the field holding its value and the wire
 * types it may use (a repeated scalar may be packed into one length-delimited field).
 */
const ATTR_TYPES: Readonly<Record<number, { name: string; field: number; wires: readonly number[]; repeated?: boolean }>> = Object.freeze({
  0: { name: 'INT', field: 3, wires: [WIRE.varint] },
  1: { name: 'FLOAT', field: 4, wires: [WIRE.fixed32] },
  2: { name: 'STRING', field: 5, wires: [WIRE.bytes] },
  3: { name: 'INTS', field: 6, wires: [WIRE.varint, WIRE.bytes], repeated: true },
  4: { name: 'FLOATS', field: 7, wires: [WIRE.fixed32, WIRE.bytes], repeated: true },
  5: { name: 'STRINGS', field: 8, wires: [WIRE.bytes], repeated: true },
  6: { name: 'BOOLEAN', field: 10, wires: [WIRE.varint] },
  7: { name: 'BOOLEANS', field: 11, wires: [WIRE.varint, WIRE.bytes], repeated: true },
  9: { name: 'LONG', field: 13, wires: [WIRE.varint] },
  11: { name: 'LONGS', field: 15, wires: [WIRE.varint, WIRE.bytes], repeated: true },
  15: { name: 'FLOAT64', field: 19, wires: [WIRE.fixed64] },
});

/**
 * One attribute (OpDesc.Attr: 1 name, 2 type, then the value in the field its type names). The value field
 * must be present with the wire type and length its type implies; anything else is an error naming the op,
 * the attribute, what was expected and what was found. Types PP-LCNet never reads (blocks, variables) are
 * kept as unreadable.
 */
function readAttr(fs: readonly Field[], where: string): [string, AttrValue] {
  const nameField = fs.find((f) => f.no === 1);
  if (!nameField || nameField.wire !== WIRE.bytes) {
    throw new PplcnetError('E_PROGRAM', `${where}: an attribute without a name (expected field 1 as a string, found ${nameField ? wireName(nameField.wire) : 'nothing'})`);
  }
  const name = utf8(nameField.bytes);
  const at = `${where}: attribute '${name}'`;
  const typeField = fs.find((f) => f.no === 2);
  if (!typeField || typeField.wire !== WIRE.varint) {
    throw new PplcnetError('E_PROGRAM', `${at}: expected its type (field 2, a varint) but found ${typeField ? wireName(typeField.wire) : 'nothing'}`);
  }
  const code = Number(BigInt.asIntN(32, typeField.int));
  const spec = ATTR_TYPES[code];
  if (!spec) return [name, { unreadable: `an attribute of type ${code}` }];
  const values = fs.filter((f) => f.no === spec.field);
  const bad = (expected: string, f: Field | undefined): never => {
    const what = !f ? 'nothing' : f.wire === WIRE.bytes ? `${f.bytes.length} bytes (length-delimited)` : wireName(f.wire);
    throw new PplcnetError('E_PROGRAM', `${at}: expected ${expected} for a ${spec.name} attribute but found ${what}`);
  };
  const wrongWire = values.find((f) => !spec.wires.includes(f.wire));
  if (wrongWire) bad(`field ${spec.field} as ${spec.wires.map(wireName).join(' or ')}`, wrongWire);
  if (!spec.repeated && values.length !== 1) bad(`exactly one field ${spec.field}`, values.length ? values[1] : undefined);
  const f = values[0]!;
  switch (spec.name) {
    case 'INT':
    case 'LONG':
      return [name, int64(f.int)];
    case 'FLOAT':
      return [name, float32At(f.bytes, 0)];
    case 'FLOAT64':
      return [name, new DataView(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength).getFloat64(0, true)];
    case 'STRING':
      return [name, utf8(f.bytes)];
    case 'BOOLEAN':
      return [name, f.int !== 0n];
    case 'INTS':
    case 'LONGS':
      return [name, repeatedVarints(values, spec.field, at).map(int64)];
    case 'BOOLEANS':
      return [name, repeatedVarints(values, spec.field, at).map((v) => (v !== 0n ? 1 : 0))];
    case 'STRINGS':
      return [name, values.map((v) => utf8(v.bytes))];
    default: {
      // FLOATS, one fixed32 per value or packed
      const out: number[] = [];
      for (const v of values) {
        if (v.bytes.length % 4 !== 0) bad('packed floats (a multiple of 4 bytes)', v);
        for (let i = 0; i < v.bytes.length; i += 4) out.push(float32At(v.bytes, i));
      }
      return [name, out];
    }
  }
}

function float32At(b: Uint8Array, offset: number): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getFloat32(offset, true);
}

const text = (fs: readonly Field[], no: number, where: string): string => utf8(field(fs, no, WIRE.bytes, where)?.bytes ?? new Uint8Array());
const sub = (fs: readonly Field[], no: number, where: string): Field[] => {
  const f = field(fs, no, WIRE.bytes, where);
  return f ? fields(f.bytes, where) : [];
};

/** BlockDesc.vars: LoD tensors' shapes by name, and the persistable ones as parameters. */
function readVars(block: readonly Field[], file: string): { parameters: ProgramParameter[]; shapes: Map<string, number[]> } {
  const parameters: ProgramParameter[] = [];
  const shapes = new Map<string, number[]>();
  const vars = block.filter((f) => f.no === 3);
  if (vars.length > PROGRAM_LIMITS.maxOps) throw new PplcnetError('E_FORMAT', `${file}: ${vars.length} variables, more than the ${PROGRAM_LIMITS.maxOps} a PP-LCNet program can have`);
  for (const v of vars) {
    if (v.wire !== WIRE.bytes) throw new PplcnetError('E_FORMAT', `${file}: block 0: a variable is not a message`);
    const vf = fields(v.bytes, `${file}: var`);
    const name = text(vf, 1, `${file}: var name`);
    const persistable = (field(vf, 3, WIRE.varint, `${file}: var '${name}' persistable`)?.int ?? 0n) !== 0n;
    const vtf = sub(vf, 2, `${file}: var '${name}' type`);
    const kind = Number(field(vtf, 1, WIRE.varint, `${file}: var '${name}' type`)?.int ?? -1n);
    if (kind !== 7) continue; // LOD_TENSOR only (feed/fetch lists are not parameters)
    const tf = sub(sub(vtf, 3, `${file}: var '${name}'`), 1, `${file}: var '${name}' tensor`);
    const dtypeCode = Number(field(tf, 1, WIRE.varint, `${file}: var '${name}' data type`)?.int ?? -1n);
    const shape = repeatedVarints(tf, 2, `${file}: var '${name}' dims`).map(int64);
    if (shape.length > 8 || !shape.every((d) => d >= -1 && d <= PROGRAM_LIMITS.maxDim) || (persistable && !shape.every((d) => d >= 0))) {
      throw new PplcnetError('E_PROGRAM', `${file}: var '${name}': expected a shape of at most 8 non-negative integer dimensions but found ${JSON.stringify(shape.slice(0, 9))}`);
    }
    shapes.set(name, shape);
    if (persistable) parameters.push({ name, shape, dtype: PADDLE_DTYPES[dtypeCode]?.name ?? `type ${dtypeCode}` });
  }
  return { parameters, shapes };
}

/** OpDesc.Var: a slot name and its argument names. */
function readSlot(f: Field, where: string): [string, string[]] {
  if (f.wire !== WIRE.bytes) throw new PplcnetError('E_FORMAT', `${where}: not a message`);
  const sf = fields(f.bytes, where);
  const args = sf.filter((x) => x.no === 2);
  if (args.some((x) => x.wire !== WIRE.bytes)) throw new PplcnetError('E_FORMAT', `${where}: an argument is not a string`);
  return [text(sf, 1, where), args.map((x) => utf8(x.bytes))];
}

/** One OpDesc: inputs by slot (first argument), outputs (the main result first), attributes. */
function readOp(o: Field, index: number, file: string): ProgramOp {
  if (o.wire !== WIRE.bytes) throw new PplcnetError('E_FORMAT', `${file}: op ${index} is not a message`);
  const of = fields(o.bytes, `${file}: op ${index}`);
  const rawType = text(of, 3, `${file}: op ${index} type`);
  const where = `${file}: op ${index} '${rawType}'`;
  const inputs: Record<string, string | undefined> = {};
  for (const f of of.filter((x) => x.no === 1)) {
    const [k, args] = readSlot(f, `${where} slot`);
    inputs[k] = args[0];
  }
  const outSlots: Record<string, string[]> = {};
  for (const f of of.filter((x) => x.no === 2)) {
    const [k, args] = readSlot(f, `${where} slot`);
    outSlots[k] = args;
  }
  const outputs: string[] = [];
  const main = ['Out', 'Output', 'Y'];
  for (const k of main) for (const v of outSlots[k] ?? []) outputs.push(v);
  for (const [k, vs] of Object.entries(outSlots)) if (!main.includes(k)) for (const v of vs) outputs.push(v);
  const attrs: Record<string, AttrValue> = {};
  for (const a of of.filter((x) => x.no === 4)) {
    if (a.wire !== WIRE.bytes) throw new PplcnetError('E_PROGRAM', `${where}: an attribute is not a message`);
    const [k, v] = readAttr(fields(a.bytes, `${where} attr`), where);
    attrs[k] = v;
  }
  return { type: LEGACY_OP_TYPES[rawType] ?? rawType, rawType, inputs, outputs, attrs, where: `op ${index} '${rawType}'` };
}

/** Parse a legacy ProgramDesc. */
export function readProgramDesc(buf: Uint8Array, file: string): Program {
  if (buf.length > PROGRAM_LIMITS.maxBytes) {
    throw new PplcnetError('E_FORMAT', `${file}: ${buf.length} bytes, more than the ${PROGRAM_LIMITS.maxBytes} a PP-LCNet program can take`);
  }
  const top = fields(buf, file);
  const blocks = top.filter((f) => f.no === 1 && f.wire === WIRE.bytes);
  if (blocks.length === 0) throw new PplcnetError('E_FORMAT', `${file}: not a Paddle ProgramDesc (no blocks)`);
  const versionField = field(top, 4, WIRE.bytes, `${file}: version`);
  const versionValue = versionField ? field(fields(versionField.bytes, file), 1, WIRE.varint, `${file}: version`) : undefined;
  const version = versionField ? int64(versionValue?.int ?? 0n) : undefined;
  const block = fields(blocks[0]!.bytes, `${file}: block 0`);
  const { parameters, shapes } = readVars(block, file);
  const opFields = block.filter((f) => f.no === 4);
  if (opFields.length > PROGRAM_LIMITS.maxOps) throw new PplcnetError('E_FORMAT', `${file}: ${opFields.length} ops, more than the ${PROGRAM_LIMITS.maxOps} a PP-LCNet program can have`);
  const ops = opFields.map((o, index) => readOp(o, index, file));
  const constants = new Map<string, number[]>();
  let input: Program['input'];
  for (const op of ops) {
    const ints = op.attrs.int32_values;
    const out = op.outputs[0];
    if (op.type === 'assign_value' && Array.isArray(ints) && ints.every((x) => typeof x === 'number') && out) constants.set(out, ints as number[]);
    if (op.type === 'data' && !input && out) input = { name: out, value: out, shape: shapes.get(out) ?? [] };
  }
  return { format: 'program-desc', ...(version !== undefined ? { version: formatVersion(version) } : {}), parameters, ops, input, constants };
}

/** 2002000 → "2.2.0". */
function formatVersion(v: number): string {
  if (v <= 0) return String(v);
  return `${Math.floor(v / 1000000)}.${Math.floor((v % 1000000) / 1000)}.${v % 1000}`;
}
