/**
 * A minimal, bounds-checked protobuf wire-format reader, for the formats read field by field
 * (Paddle's TensorDesc and ProgramDesc, ONNX metadata). Every length is checked against the buffer, and
 * callers check each field's wire type before using it.
 *
 * Kept instead of protobufjs: the few fields read need no schema, a decoder that knows only those fields
 * cannot be made to allocate for others, and a wire-type mismatch here is an error naming the field,
 * where protobufjs would skip it or coerce it to a default.
 */
import { PplcnetError } from '../errors.js';

export const WIRE = Object.freeze({ varint: 0, fixed64: 1, bytes: 2, fixed32: 5 });

export interface Field {
  /** Field number. */
  no: number;
  wire: number;
  /** Varint value (as a bigint, lossless); for fixed32/64 the raw bits. */
  int: bigint;
  /** Payload of a length-delimited field. */
  bytes: Uint8Array;
}

export class ProtoReader {
  pos: number;
  private readonly end: number;
  constructor(
    private readonly buf: Uint8Array,
    private readonly where: string,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  private fail(message: string): never {
    throw new PplcnetError('E_FORMAT', `${this.where}: ${message} at byte ${this.pos}`);
  }

  varint(): bigint {
    const start = this.pos;
    const small = this.smallVarint();
    if (small !== undefined) return BigInt(small);
    this.pos = start;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result & 0xffffffffffffffffn;
      shift += 7n;
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** A varint of at most 7 bytes (49 bits) as a number, without BigInt; undefined when longer. */
  private smallVarint(): number | undefined {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) this.fail('truncated varint');
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) return v;
      scale *= 128;
    }
    return undefined;
  }

  /** A varint that must fit a JS safe integer (lengths, enums, field tags). */
  uint(): number {
    const start = this.pos;
    const small = this.smallVarint();
    if (small !== undefined) return small;
    this.pos = start;
    const v = this.varint();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`value ${v} is too large`);
    return Number(v);
  }

  take(n: number): Uint8Array {
    if (n < 0 || this.pos + n > this.end) this.fail(`length ${n} runs past the end (${this.end - this.pos} bytes left)`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** Read the next field, or undefined at the end. */
  next(): Field | undefined {
    if (this.done) return undefined;
    const tag = this.uint();
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    if (no === 0) this.fail('field number 0');
    switch (wire) {
      case WIRE.varint:
        return { no, wire, int: this.varint(), bytes: EMPTY };
      case WIRE.fixed64: {
        const b = this.take(8);
        return { no, wire, int: new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true), bytes: b };
      }
      case WIRE.bytes:
        return { no, wire, int: 0n, bytes: this.take(this.uint()) };
      case WIRE.fixed32: {
        const b = this.take(4);
        return { no, wire, int: BigInt(new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true)), bytes: b };
      }
      default:
        return this.fail(`unsupported wire type ${wire} (field ${no})`);
    }
  }
}

const EMPTY = new Uint8Array(0);

/** A signed 64-bit value from a varint (two's complement), as a number. */
export function int64(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

/** Read every field of a message into a list. */
export function fields(buf: Uint8Array, where: string): Field[] {
  const r = new ProtoReader(buf, where);
  const out: Field[] = [];
  for (let f = r.next(); f; f = r.next()) out.push(f);
  return out;
}

/** Repeated varints, written packed (wire 2) or unpacked (wire 0). */
export function repeatedVarints(fs: readonly Field[], no: number, where: string): bigint[] {
  const out: bigint[] = [];
  for (const f of fs) {
    if (f.no !== no) continue;
    if (f.wire === WIRE.varint) out.push(f.int);
    else if (f.wire === WIRE.bytes) {
      const r = new ProtoReader(f.bytes, where);
      while (!r.done) out.push(r.varint());
    } else throw new PplcnetError('E_FORMAT', `${where}: field ${no} should hold varints but has wire type ${f.wire}`);
  }
  return out;
}

/**
 * The first field numbered `no`, which must have wire type `wire` (a message read with the wrong wire type
 * is corrupt, never silently a default). Undefined when absent.
 */
export function field(fs: readonly Field[], no: number, wire: number, where: string): Field | undefined {
  const f = fs.find((x) => x.no === no);
  if (f && f.wire !== wire) throw new PplcnetError('E_FORMAT', `${where}: field ${no} should have wire type ${wire} but has ${f.wire}`);
  return f;
}

const UTF8 = new TextDecoder('utf-8', { fatal: false });

export function utf8(b: Uint8Array): string {
  return UTF8.decode(b);
}
