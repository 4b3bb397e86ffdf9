/**
 * Replays the damaged-pickle corpus written by test/fixtures/make_pickle_mutations.py: applies each
 * mutation to the base file, reads the result with pplcnet's reader, and compares with the verdict
 * CPython's pickle recorded (refused, or accepted with a digest of the arrays it built).
 */
import { createHash } from 'node:crypto';
import { readPdparams } from '../src/convert/pdparams.js';
import { type NdArray, unpickle } from '../src/convert/pickle.js';
import { PplcnetError } from '../src/errors.js';

export type MutationKind = 'delete' | 'insert' | 'flip' | 'frame';
/** [kind, offset, value, python verdict, python detail (exception, or digest of what it built)] */
export type MutationRow = [MutationKind, number, number, 'refused' | 'accepted', string];

export interface MutationCorpus {
  base: string;
  sha256: string;
  seed: number;
  original: string;
  /** The base's FRAME opcodes: [offset, length]. */
  frames: [number, number][];
  mutations: MutationRow[];
}

/** The mutated bytes, exactly as the Python script makes them. */
export function applyMutation(base: Uint8Array, kind: MutationKind, offset: number, value: number): Uint8Array {
  const b = Buffer.from(base);
  switch (kind) {
    case 'delete':
      return Buffer.concat([b.subarray(0, offset), b.subarray(offset + 1)]);
    case 'insert':
      return Buffer.concat([b.subarray(0, offset), Buffer.from([value]), b.subarray(offset)]);
    case 'flip':
      b[offset]! ^= value;
      return b;
    case 'frame': {
      const n = b.readBigUInt64LE(offset + 1) + BigInt(value);
      b.writeBigUInt64LE(n < 0n ? 0n : n, offset + 1);
      return b;
    }
  }
}

/** The same digest as the Python script's: per array entry of the root dict, in order. */
export function pickleDigest(root: unknown): string {
  if (!(root instanceof Map)) return 'not a dict';
  const h = createHash('sha256');
  for (const [k, v] of root) {
    if (typeof k !== 'string' || v === null || typeof v !== 'object' || (v as NdArray).kind !== 'ndarray') continue;
    const a = v as NdArray;
    const order = a.dtype.startsWith('>') ? '>' : '<';
    const fortran = a.fortran && a.shape.filter((d) => d > 1).length > 1;
    h.update(`${k}\0${a.dtype.slice(1)}${order}\0${a.shape.join(',')}\0${fortran ? 'F' : 'C'}\0`);
    h.update(a.data);
  }
  return h.digest('hex');
}

export type Outcome =
  /** both refused */
  | 'both-refused'
  /** Python accepted; pplcnet refused (stricter: frames, limits) */
  | 'pplcnet-stricter'
  /** both accepted and built the same arrays */
  | 'both-accepted-same'
  /** both accepted, different arrays: a silent wrong read */
  | 'both-accepted-different'
  /** Python refused, pplcnet accepted: a silent wrong read */
  | 'python-refused-pplcnet-accepted';

/** Reads one mutated file and classifies the result against Python's verdict. Non-typed errors propagate. */
export function judge(bytes: Uint8Array, row: MutationRow): { outcome: Outcome; detail: string } {
  let digest: string;
  try {
    readPdparams(bytes, 'mutated.pdparams');
    digest = pickleDigest(unpickle(bytes, 'mutated.pdparams'));
  } catch (err) {
    if (!(err instanceof PplcnetError)) throw err;
    return { outcome: row[3] === 'refused' ? 'both-refused' : 'pplcnet-stricter', detail: `${err.code}: ${err.message}` };
  }
  if (row[3] === 'refused') return { outcome: 'python-refused-pplcnet-accepted', detail: `accepted (digest ${digest})` };
  return { outcome: digest === row[4] ? 'both-accepted-same' : 'both-accepted-different', detail: digest };
}
