import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { interpretProgram } from '../../../src/convert/interpret.js';
import { readProgramDesc } from '../../../src/convert/pdmodel.js';
import { readPirJson, readPirProgram } from '../../../src/convert/pir.js';
import type { Program } from '../../../src/convert/program.js';
import { PplcnetError } from '../../../src/errors.js';
import { type Field, fields, utf8 } from '../../../src/util/protobuf.js';
import { FIXTURES } from '../../fixtures/index.js';

/** A seeded generator (LCG), so every run mutates the same way. */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
}

/** Read and interpret; count typed errors and reads. Anything else (a crash, a TypeError) fails the test. */
function attempt(i: number, read: () => Program, outcomes: { ok: number; typed: number }): void {
  try {
    interpretProgram(read(), 'fuzz');
    outcomes.ok++;
  } catch (err) {
    if (!(err instanceof PplcnetError)) throw new Error(`mutation ${i} threw ${(err as Error).name}: ${(err as Error).message}`);
    assert.ok(err.message.length < 4000, `mutation ${i}: a ${err.message.length}-character message`);
    outcomes.typed++;
  }
}

/** Re-encode a ProgramDesc without its `op_callstack` attributes (Python tracebacks, 93% of the file). */
function withoutCallstacks(buf: Uint8Array): Uint8Array {
  const varint = (v: number): number[] => {
    const out: number[] = [];
    do {
      out.push((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
      v = Math.floor(v / 128);
    } while (v > 0);
    return out;
  };
  const encode = (fs: readonly Field[], inner: (f: Field, depth: number) => Uint8Array | null, depth: number): Uint8Array => {
    const parts: number[] = [];
    for (const f of fs) {
      if (f.wire === 2) {
        const body = inner(f, depth);
        if (body === null) continue;
        parts.push(...varint(f.no * 8 + 2), ...varint(body.length), ...body);
      } else if (f.wire === 0) parts.push(...varint(f.no * 8), ...varint(Number(f.int)));
      else parts.push(...varint(f.no * 8 + f.wire), ...f.bytes);
    }
    return Uint8Array.from(parts);
  };
  // program (depth 0) → block 1 (depth 1) → op 4 (depth 2) → attr 4: dropped when named op_callstack
  const inner = (f: Field, depth: number): Uint8Array | null => {
    if ((depth === 0 && f.no === 1) || (depth === 1 && f.no === 4)) return encode(fields(f.bytes, 'strip'), inner, depth + 1);
    if (depth === 2 && f.no === 4) {
      const name = fields(f.bytes, 'strip').find((x) => x.no === 1);
      if (name && utf8(name.bytes) === 'op_callstack') return null;
    }
    return f.bytes;
  };
  return encode(fields(buf, 'strip'), inner, 0);
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

describe('seeded fuzz of the program readers', () => {
  test('PIR JSON: 1000 mutated programs end in a typed error or a read, never a crash', () => {
    const text = readFileSync(join(FIXTURES.textlineModel, 'inference.json'), 'utf8');
    const base = JSON.parse(text) as { program: { regions: [{ blocks: [{ ops: Json[] }] }] } };
    const baseOps = base.program.regions[0].blocks[0].ops;
    const rnd = rng(2024);
    const values: Json[] = ['1', '', 'avg', -1, 0, 1, 2, 2 ** 53, 1.5, -0.0, 1e308, true, false, null, [], [1, 'a'], [-1, 3], {}, { '#': '0.a_i32', D: 'x' }];
    const pick = <T>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
    const outcomes = { ok: 0, typed: 0 };
    for (let i = 0; i < 1000; i++) {
      if (i % 10 === 9) {
        // textual: truncated or one character changed
        const cut = rnd(2) ? text.slice(0, rnd(text.length)) : text.slice(0, rnd(text.length)) + pick(['"', '}', ']', '1', ',', 'x']) + text.slice(rnd(text.length));
        attempt(i, () => readPirProgram(cut, 'fuzz.json'), outcomes);
        continue;
      }
      // the base program, shared; an op is deep-copied before it is mutated
      const ops = baseOps.slice();
      for (let k = 0; k < 1 + rnd(3); k++) {
        const index = rnd(ops.length);
        const op = JSON.parse(JSON.stringify(ops[index])) as { [k: string]: Json };
        ops[index] = op;
        const attrs = Array.isArray(op.A) ? op.A : [];
        const chosen = attrs.length ? attrs[rnd(attrs.length)] : undefined;
        const attr = chosen && typeof chosen === 'object' && !Array.isArray(chosen) ? chosen : undefined;
        switch (rnd(9)) {
          case 0:
            if (attr && attr.AT && typeof attr.AT === 'object') (attr.AT as { [k: string]: Json }).D = pick(values);
            break;
          case 1:
            if (attr && attr.AT && typeof attr.AT === 'object') (attr.AT as { [k: string]: Json })['#'] = pick(['0.a_i32', '0.a_str', '0.a_f32', '0.a_array', '1.a_intarray', '0.a_bool', 'zz', 7]);
            break;
          case 2:
            if (attr) attr.AT = pick(values);
            break;
          case 3:
            ops.splice(index, 1);
            break;
          case 4:
            ops.splice(index, 0, JSON.parse(JSON.stringify(op)) as Json);
            break;
          case 5:
            op['#'] = pick(['1.conv2d', '1.relu', '1.add', '1.pool2d', '1.matmul', '1.softmax', 'p', '1.unknown', 3]);
            break;
          case 6:
            if (Array.isArray(op.I) && op.I.length) (op.I[rnd(op.I.length)] as { [k: string]: Json })['%'] = pick([1, 2, 150, -1, 'x', null]);
            break;
          case 7: {
            const tt = (op.O as { TT?: { D?: Json[] } } | undefined)?.TT?.D;
            if (Array.isArray(tt) && Array.isArray(tt[1]) && tt[1].length) tt[1][rnd(tt[1].length)] = pick(values);
            else if (Array.isArray(op.A) && op.A.length) op.A.splice(rnd(op.A.length), 1);
            break;
          }
          default:
            if (attr) attr.N = pick(['strides', 'epsilon', 'groups', 'paddings', 'slope', 'pooling_type', 'trans_y', 'axis']);
        }
      }
      const root = { ...base, program: { regions: [{ ...base.program.regions[0], blocks: [{ ...base.program.regions[0].blocks[0], ops }] }] } };
      attempt(i, () => readPirJson(root, 'fuzz.json'), outcomes);
    }
    assert.ok(outcomes.typed > 500, JSON.stringify(outcomes));
  });

  test('ProgramDesc: 1000 mutated programs end in a typed error or a read, never a crash', () => {
    const base = withoutCallstacks(new Uint8Array(readFileSync(FIXTURES.legacyProgram)));
    // the stripped program is still the same network
    const full = interpretProgram(readProgramDesc(new Uint8Array(readFileSync(FIXTURES.legacyProgram)), 'full'), 'full');
    assert.deepEqual(interpretProgram(readProgramDesc(base, 'stripped'), 'stripped'), full);
    assert.ok(base.length < 100_000, `${base.length} bytes`);
    const rnd = rng(77);
    const outcomes = { ok: 0, typed: 0 };
    for (let i = 0; i < 1000; i++) {
      let b = base.slice();
      switch (i % 5) {
        case 0:
          for (let k = 0; k < 1 + rnd(8); k++) b[rnd(b.length)]! ^= 1 << rnd(8);
          break;
        case 1:
          b = b.slice(0, rnd(b.length));
          break;
        case 2: {
          // a wire type changed in place: the low 3 bits of a byte that may be a tag
          const p = rnd(b.length);
          b[p] = (b[p]! & ~7) | rnd(8);
          break;
        }
        case 3: {
          const p = rnd(b.length);
          for (let k = 0; k < 1 + rnd(16) && p + k < b.length; k++) b[p + k] = rnd(256);
          break;
        }
        default: {
          // a length made huge
          const p = rnd(b.length - 5);
          b.set([0xff, 0xff, 0xff, 0xff, 0x0f], p);
        }
      }
      attempt(i, () => readProgramDesc(b, 'fuzz.pdmodel'), outcomes);
    }
    assert.ok(outcomes.typed > 500, JSON.stringify(outcomes));
  });
});
