/**
 * The v2 binary tensor data extension (Triton's): a request body is the JSON inference request followed by
 * the raw tensor bytes (little-endian, row-major, no padding), the JSON's length in the
 * `Inference-Header-Content-Length` header; an input whose bytes are in that tail says so with
 * `"parameters": {"binary_data_size": n}` and has no `data`. Outputs asked for with `"binary_data": true` (or
 * all outputs, with the request's `"binary_data_output": true`) are answered the same way: JSON with
 * `binary_data_size` in each such output's parameters, then their bytes in order. A BYTES element is its
 * length (4 bytes, little-endian) then its bytes.
 */
import { endianness } from 'node:os';
import { ServeError } from './errors.js';

/** The header that gives the JSON's length, in both directions. */
export const HEADER_LENGTH = 'inference-header-content-length';

const bad = (message: string): ServeError => new ServeError('E_BAD_REQUEST', message);

/**
 * The JSON's length from the `Inference-Header-Content-Length` value: digits only, within the body
 * (`bodyLength`, when known) and within `most` (the largest JSON request the model can need).
 */
export function headerLength(value: string | string[] | undefined, bodyLength: number | undefined, most: number): number {
  if (value === undefined) throw bad('Inference-Header-Content-Length is missing: a request with binary tensor data must give the length of its JSON part in that header');
  const text = Array.isArray(value) ? value.join(',') : value.trim();
  if (!/^[0-9]{1,15}$/.test(text)) throw bad(`Inference-Header-Content-Length is ${JSON.stringify(text.slice(0, 40))}, not a number of bytes: give the length of the JSON part in decimal digits`);
  const n = Number(text);
  if (n === 0) throw bad('Inference-Header-Content-Length is 0: the JSON part of the request cannot be empty');
  if (bodyLength !== undefined && n > bodyLength) throw bad(`Inference-Header-Content-Length is ${n}, but the body is only ${bodyLength} bytes: it must give the length of the JSON part, which the tensor bytes follow`);
  if (n > most) throw bad(`Inference-Header-Content-Length is ${n}, longer than any JSON request for this model (at most ${most} bytes)`);
  return n;
}

/** A tensor's `binary_data_size` parameter, checked, or undefined when it has none. */
export function binaryDataSize(input: Record<string, unknown>, name: string): number | undefined {
  const parameters = input.parameters;
  if (parameters === undefined || parameters === null) return undefined;
  if (typeof parameters !== 'object' || Array.isArray(parameters)) throw bad(`input '${name}' "parameters" must be an object`);
  const size = (parameters as Record<string, unknown>).binary_data_size;
  if (size === undefined) return undefined;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) throw bad(`input '${name}' has "binary_data_size": ${JSON.stringify(size)}; expected a whole number of bytes`);
  if (input.data !== undefined) throw bad(`input '${name}' has both "data" and "binary_data_size": send its elements either in "data" (JSON) or after the JSON (binary), not both`);
  return size;
}

const littleEndian = endianness() === 'LE';

/** FP32 elements from little-endian bytes (copied: the bytes need not be aligned). */
export function float32FromLE(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length / 4);
  if (littleEndian) new Uint8Array(out.buffer).set(bytes.subarray(0, out.length * 4));
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  }
  return out;
}

/** FP32 elements as little-endian bytes. */
export function float32ToLE(values: Float32Array): Buffer {
  if (littleEndian) return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const b = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) b.writeFloatLE(values[i]!, 4 * i);
  return b;
}

/** BYTES elements as the extension writes them: each one's length (u32, little-endian), then its bytes. */
export function bytesToBinary(values: readonly string[]): Buffer {
  const parts = values.map((s) => Buffer.from(s, 'utf8'));
  const out = Buffer.alloc(parts.reduce((n, p) => n + 4 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.length, at);
    p.copy(out, at + 4);
    at += 4 + p.length;
  }
  return out;
}

/** An answer with binary outputs: the JSON, then their bytes; `jsonLength` goes in Inference-Header-Content-Length. */
export function binaryAnswer(json: unknown, tails: readonly Buffer[]): { body: Buffer; jsonLength: number } {
  const head = Buffer.from(JSON.stringify(json), 'utf8');
  return { body: Buffer.concat([head, ...tails]), jsonLength: head.length };
}
