/**
 * Every attribute the converter reads must be in the program: Paddle writes them all, defaults included, so an
 * absent one is a damaged or edited file. Removing any of them, in PIR JSON and in a legacy ProgramDesc, must
 * end in E_PROGRAM naming the op and the attribute — never in a default filled in.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { interpretProgram } from '../../../src/convert/interpret.js';
import { readProgramDesc } from '../../../src/convert/pdmodel.js';
import { readPirProgram } from '../../../src/convert/pir.js';
import type { AttrValue, Program, ProgramOp } from '../../../src/convert/program.js';
import { PplcnetError } from '../../../src/errors.js';
import { type Field, fields, utf8 } from '../../../src/util/protobuf.js';
import { FIXTURES } from '../../fixtures/index.js';

const pirText = (): string => readFileSync(join(FIXTURES.textlineModel, 'inference.json'), 'utf8');
const legacyBytes = (): Uint8Array => new Uint8Array(readFileSync(FIXTURES.legacyProgram));
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const missing = (where: RegExp | string, attr: string) => (e: unknown) => {
  assert.ok(e instanceof PplcnetError, `expected a PplcnetError, got ${String(e)}`);
  assert.equal(e.code, 'E_PROGRAM', e.message);
  assert.match(e.message, typeof where === 'string' ? new RegExp(escape(where)) : where);
  assert.match(e.message, new RegExp(`attribute '${escape(attr)}'( \\(or [^)]*\\))? is missing; expected `));
  return true;
};

/** A protobuf encoder for the fields `fields()` reads, so a test can drop one attribute and write the rest back. */
function encode(fs: readonly Field[], inner: (f: Field, depth: number) => Uint8Array | null, depth: number): Uint8Array {
  const varint = (v: bigint): number[] => {
    const out: number[] = [];
    let u = BigInt.asUintN(64, v);
    do {
      out.push(Number(u & 0x7fn) | (u > 0x7fn ? 0x80 : 0));
      u >>= 7n;
    } while (u > 0n);
    return out;
  };
  const parts: Uint8Array[] = [];
  for (const f of fs) {
    const key = Buffer.from(varint(BigInt(f.no * 8 + f.wire)));
    if (f.wire === 2) {
      const body = inner(f, depth);
      if (body !== null) parts.push(key, Buffer.from(varint(BigInt(body.length))), body);
    } else if (f.wire === 0) parts.push(key, Buffer.from(varint(f.int)));
    else {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt.asUintN(64, f.int));
      parts.push(key, b.subarray(0, f.wire === 5 ? 4 : 8));
    }
  }
  return Buffer.concat(parts);
}

/** The ProgramDesc without attribute `attr` of the first op of type `type`. */
function pdmodelWithout(buf: Uint8Array, type: string, attr: string): Uint8Array {
  let done = false;
  const inner = (f: Field, depth: number): Uint8Array | null => {
    if (depth === 0 && f.no === 1) return encode(fields(f.bytes, 'block'), inner, 1);
    if (depth === 1 && f.no === 4 && !done) {
      const op = fields(f.bytes, 'op');
      const t = op.find((x) => x.no === 3);
      if (t && utf8(t.bytes) === type) {
        done = true;
        return encode(op, (a) => (a.no === 4 && utf8(fields(a.bytes, 'attr').find((x) => x.no === 1)!.bytes) === attr ? null : a.bytes), 2);
      }
    }
    return f.bytes;
  };
  const out = encode(fields(buf, 'program'), inner, 0);
  assert.ok(done, `no '${type}' op`);
  return out;
}

/** The PIR JSON without attribute `attr` of the first op of type `type`. */
function pirWithout(text: string, type: string, attr: string): string {
  const root = JSON.parse(text) as { program: { regions: { blocks: { ops: { '#': string; A: { N: string }[] }[] }[] }[] } };
  const op = root.program.regions[0]!.blocks[0]!.ops.find((o) => o['#'] === type)!;
  const before = op.A.length;
  op.A = op.A.filter((a) => a.N !== attr);
  assert.equal(op.A.length, before - 1, `${type} has no '${attr}'`);
  return JSON.stringify(root);
}

/** Every (op index, attribute) the converter reads from `program`, recorded by reading it once. */
function attributesRead(program: Program): { op: number; name: string }[] {
  const read = new Map<string, { op: number; name: string }>();
  const ops = program.ops.map((op, i): ProgramOp => ({
    ...op,
    attrs: new Proxy(op.attrs as Record<string, AttrValue>, {
      get(target, name) {
        if (typeof name === 'string' && Object.hasOwn(target, name)) read.set(`${i} ${name}`, { op: i, name });
        return target[name as string];
      },
    }),
  }));
  interpretProgram({ ...program, ops }, 'm');
  return [...read.values()];
}

function withoutAttr(program: Program, op: number, name: string): Program {
  const ops = program.ops.map((o, i) => (i === op ? { ...o, attrs: Object.fromEntries(Object.entries(o.attrs).filter(([k]) => k !== name)) } : o));
  return { ...program, ops };
}

describe('an absent program attribute is an error, never a default', () => {
  test("PIR: the stem conv without 'strides' is E_PROGRAM naming the op and the attribute (it converted with stride 1)", () => {
    const text = pirWithout(pirText(), '1.conv2d', 'strides');
    assert.throws(() => interpretProgram(readPirProgram(text, 'inference.json'), 'inference.json'), missing(/inference\.json: op \d+ '1\.conv2d' \(\/PPLCNet\/[^)]*\): /, 'strides'));
    assert.throws(() => interpretProgram(readPirProgram(text, 'inference.json'), 'inference.json'), /expected 2 integers\. Paddle writes every attribute of a '1\.conv2d' op/);
  });

  test("ProgramDesc: the stem conv without 'strides' is E_PROGRAM naming the op and the attribute", () => {
    const bytes = pdmodelWithout(legacyBytes(), 'conv2d', 'strides');
    const program = readProgramDesc(bytes, 'inference.pdmodel');
    assert.equal(program.ops.filter((o) => o.type === 'conv2d' && !Object.hasOwn(o.attrs, 'strides')).length, 1);
    assert.throws(() => interpretProgram(program, 'inference.pdmodel'), missing(/inference\.pdmodel: op \d+ 'conv2d': /, 'strides'));
  });

  test("PIR: the input without 'shape' or 'name' is E_PROGRAM (the input size would have been assumed)", () => {
    for (const attr of ['shape', 'name']) {
      assert.throws(() => readPirProgram(pirWithout(pirText(), '1.data', attr), 'inference.json'), (e: unknown) => e instanceof PplcnetError && e.code === 'E_PROGRAM' && new RegExp(`op \\d+ '1\\.data': attribute '${attr}' is missing`).test(e.message));
    }
  });

  const formats: [string, () => Program][] = [
    ['PIR (the shipped text-line model)', () => readPirProgram(pirText(), 'm')],
    ['ProgramDesc (PPLCNet_x0_75)', () => readProgramDesc(legacyBytes(), 'm')],
  ];
  for (const [label, read] of formats) {
    test(`${label}: each attribute the converter reads, removed in turn, is E_PROGRAM naming it`, () => {
      const program = read();
      interpretProgram(program, 'm'); // the untouched program reads
      const reads = attributesRead(program);
      const names = new Set(reads.map((r) => `${program.ops[r.op]!.type}.${r.name}`));
      // what a PP-LCNet reading must consult, at the least
      for (const must of ['conv2d.strides', 'conv2d.paddings', 'conv2d.dilations', 'conv2d.groups', 'conv2d.padding_algorithm', 'depthwise_conv2d.strides', 'batch_norm.epsilon', 'pool2d.pooling_type', 'pool2d.adaptive', 'pool2d.global_pooling', 'softmax.axis']) {
        assert.ok(names.has(must), `${must} is read (read: ${[...names].join(' ')})`);
      }
      for (const r of reads) {
        const op = program.ops[r.op]!;
        assert.throws(() => interpretProgram(withoutAttr(program, r.op, r.name), 'm'), missing(`m: ${op.where}: `, r.name), `${op.where} without '${r.name}'`);
      }
      assert.ok(reads.length > 50, `${reads.length} attributes read`);
    });
  }
});
