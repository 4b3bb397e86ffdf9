/**
 * Paddle's combined parameter file (`inference.pdiparams`, `save_combine`): a concatenation of LoDTensors,
 * each `u32 version, u64 lod_level, [lod data], u32 tensor version, i32 desc size, TensorDesc protobuf,
 * raw little-endian data`, in the sorted order of the program's persistable variable names.
 */
import { PplcnetError } from '../errors.js';
import { float32FromLE, float32ToLE } from '../util/float32.js';
import { fields, int64, repeatedVarints } from '../util/protobuf.js';

/** Paddle VarType data types and their element sizes. */
export const PADDLE_DTYPES: Readonly<Record<number, { name: string; bytes: number }>> = Object.freeze({
  0: { name: 'bool', bytes: 1 },
  1: { name: 'int16', bytes: 2 },
  2: { name: 'int32', bytes: 4 },
  3: { name: 'int64', bytes: 8 },
  4: { name: 'float16', bytes: 2 },
  5: { name: 'float32', bytes: 4 },
  6: { name: 'float64', bytes: 8 },
  20: { name: 'uint8', bytes: 1 },
  21: { name: 'int8', bytes: 1 },
  22: { name: 'bfloat16', bytes: 2 },
});

export interface RawTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  /** The raw little-endian bytes (a view into the file's buffer). */
  readonly bytes: Uint8Array;
}

const MAX_ELEMENTS = 1 << 30;

/** Read every tensor of a combined parameter file, in file order. */
export function readPdiparams(buf: Uint8Array, file: string): RawTensor[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: RawTensor[] = [];
  let pos = 0;
  const need = (n: number, what: string): void => {
    if (pos + n > buf.length) {
      throw new PplcnetError('E_TRUNCATED', `${file}: tensor ${out.length}: ${what} needs ${n} bytes at offset ${pos} but the file ends at ${buf.length}; the file is truncated — download it again`);
    }
  };
  while (pos < buf.length) {
    const index = out.length;
    need(4, 'the LoDTensor version');
    const version = dv.getUint32(pos, true);
    if (version !== 0) throw new PplcnetError('E_FORMAT', `${file}: tensor ${index} at offset ${pos}: LoDTensor version ${version}, expected 0`);
    pos += 4;
    need(8, 'the LoD level');
    const lodLevel = dv.getBigUint64(pos, true);
    pos += 8;
    if (lodLevel > 16n) throw new PplcnetError('E_FORMAT', `${file}: tensor ${index}: LoD level ${lodLevel} is not plausible for a parameter`);
    for (let l = 0; l < Number(lodLevel); l++) {
      need(8, 'a LoD size');
      const size = dv.getBigUint64(pos, true);
      pos += 8;
      if (size > BigInt(buf.length - pos)) throw new PplcnetError('E_TRUNCATED', `${file}: tensor ${index}: LoD of ${size} bytes runs past the end of the file`);
      pos += Number(size);
    }
    need(4, 'the tensor version');
    const tv = dv.getUint32(pos, true);
    if (tv !== 0) throw new PplcnetError('E_FORMAT', `${file}: tensor ${index}: tensor version ${tv}, expected 0`);
    pos += 4;
    need(4, 'the TensorDesc size');
    const descSize = dv.getInt32(pos, true);
    pos += 4;
    if (descSize < 0) throw new PplcnetError('E_FORMAT', `${file}: tensor ${index}: negative TensorDesc size ${descSize}`);
    need(descSize, 'the TensorDesc');
    const desc = fields(buf.subarray(pos, pos + descSize), `${file}: tensor ${index} TensorDesc`);
    pos += descSize;
    const dtypeField = desc.find((f) => f.no === 1);
    const dtypeCode = dtypeField ? Number(dtypeField.int) : -1;
    const dtype = PADDLE_DTYPES[dtypeCode];
    if (!dtype) throw new PplcnetError('E_FORMAT', `${file}: tensor ${index}: unknown data type ${dtypeCode}`);
    const shape = repeatedVarints(desc, 2, `${file}: tensor ${index} dims`).map(int64);
    let n = 1;
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0 || d > MAX_ELEMENTS) throw new PplcnetError('E_FORMAT', `${file}: tensor ${index}: dimension ${d} in ${JSON.stringify(shape)} is not plausible`);
      n *= d;
      if (n > MAX_ELEMENTS) throw new PplcnetError('E_FORMAT', `${file}: tensor ${index}: shape ${JSON.stringify(shape)} is too large`);
    }
    const size = n * dtype.bytes;
    need(size, `the data of a ${dtype.name} tensor ${JSON.stringify(shape)}`);
    out.push({ dtype: dtype.name, shape, bytes: buf.subarray(pos, pos + size) });
    pos += size;
  }
  return out;
}

/** Little-endian float32 bytes → Float32Array (copied, aligned). */
export function toFloat32(t: RawTensor, what: string): Float32Array {
  if (t.dtype !== 'float32') throw new PplcnetError('E_WEIGHTS', `${what}: data type ${t.dtype}, expected float32`);
  return float32FromLE(t.bytes);
}

/** Write tensors in the combined format (used by tests and fixtures to make inference models). */
export function writePdiparams(tensors: readonly { shape: readonly number[]; data: Float32Array }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const t of tensors) {
    const desc: number[] = [0x08, 5];
    for (const d of t.shape) desc.push(0x10, ...varint(d));
    const head = new Uint8Array(4 + 8 + 4 + 4 + desc.length);
    const dv = new DataView(head.buffer);
    dv.setUint32(0, 0, true);
    dv.setBigUint64(4, 0n, true);
    dv.setUint32(12, 0, true);
    dv.setInt32(16, desc.length, true);
    head.set(desc, 20);
    parts.push(head, float32ToLE(t.data));
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function varint(v: number): number[] {
  const out: number[] = [];
  let x = BigInt.asUintN(64, BigInt(v));
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x > 0n) b |= 0x80;
    out.push(b);
  } while (x > 0n);
  return out;
}

