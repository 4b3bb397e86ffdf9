/**
 * The NumPy `.npy` format (version 1.0, numpy/lib/format.py): magic `\x93NUMPY`, version bytes 1 0, a
 * little-endian uint16 header length, an ASCII dict `{'descr': '<f4', 'fortran_order': False, 'shape': (…), }`
 * padded with spaces and ended by `\n` so the data starts at a multiple of 64 bytes, then the data in C order.
 * Written here because it is a dozen lines and only float32 matrices are written.
 */
import { float32ToLE } from './float32.js';

/** A float32 matrix of `rows` (each of the same length) as `.npy` bytes, shape (rows, columns). */
export function encodeNpyFloat32(rows: readonly Float32Array[]): Uint8Array {
  const cols = rows[0]?.length ?? 0;
  for (const [i, r] of rows.entries()) if (r.length !== cols) throw new RangeError(`row ${i} has ${r.length} values, row 0 has ${cols}`);
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows.length}, ${cols}), }`;
  const unpadded = 10 + dict.length + 1;
  const header = `${dict}${' '.repeat((64 - (unpadded % 64)) % 64)}\n`;
  const data = new Float32Array(rows.length * cols);
  rows.forEach((r, i) => data.set(r, i * cols));
  const body = float32ToLE(data);
  const out = new Uint8Array(10 + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  out.set(body, 10 + header.length);
  return out;
}
