import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { convertPdparams, inferArchitecture } from '../../../src/convert/from-weights.js';
import { readPdparams } from '../../../src/convert/pdparams.js';
import { unpickle } from '../../../src/convert/pickle.js';
import { PplcnetError } from '../../../src/errors.js';
import { FIXTURES } from '../../fixtures/index.js';
import { picklePdparams } from '../../archives.js';
import { assertAllClose, runOnnx } from '../../helpers.js';

interface Expected {
  file: string;
  flags: string[];
  input: number[];
  scale: number;
  classNum: number;
  useLastConv: boolean;
  logits: number[][];
  probs: number[][];
}

const expected = async (): Promise<Record<string, Expected>> => JSON.parse(await readFile(join(FIXTURES.pdparams, 'expected.json'), 'utf8'));

function optionsFromFlags(flags: string[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < flags.length; i += 2) {
    const [k, v] = [flags[i]!, flags[i + 1]!];
    if (k === '--act') o.act = v;
    if (k === '--dropout') o.dropoutProb = Number(v);
    if (k === '--stride-list') o.strideList = JSON.parse(v);
    if (k === '--input-size') o.inputSize = v.split('x').map(Number);
  }
  return o;
}

function fixedInput(n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.sin(0.001 * i * 7.3) * 2;
  return x;
}

describe('.pdparams conversion against the numpy reference', async () => {
  for (const [name, e] of Object.entries(await expected())) {
    test(`${name}: logits within 1e-4 and probabilities within 1e-6, BatchNorm folded and kept`, async () => {
      const opts = optionsFromFlags(e.flags);
      const inputSize = (opts.inputSize as [number, number] | undefined) ?? [e.input[2]!, e.input[3]!];
      const x = fixedInput(e.input.reduce((a, b) => a * b, 1));
      for (const fold of [true, false]) {
        const m = await convertPdparams(join(FIXTURES.pdparams, e.file), { ...opts, inputSize, fold });
        assert.equal(m.architecture.classNum, e.classNum);
        assert.equal(m.architecture.useLastConv, e.useLastConv);
        const out = await runOnnx(m.bytes, { image: { data: x, dims: e.input } });
        assertAllClose(out.logits!.data, e.logits.flat(), { atol: 1e-4, what: `${name} logits (fold ${fold})` });
        assertAllClose(out.probs!.data, e.probs.flat(), { atol: 1e-6, what: `${name} probs (fold ${fold})` });
      }
    });
  }

  test('distillation checkpoints: Student. by default (and said), Teacher. on request', async () => {
    const file = join(FIXTURES.pdparams, 'distill_student.pdparams');
    const s = await convertPdparams(file, { inputSize: 64 });
    assert.equal(s.prefix, 'Student.');
    assert.match(s.notes[0]!, /Student\. and Teacher\. weights: converting 'Student\.'/);
    const t = await convertPdparams(file, { inputSize: 64, prefix: 'Teacher' });
    assert.equal(t.prefix, 'Teacher.');
    assert.equal(t.architecture.classExpand, 32);
    await assert.rejects(convertPdparams(file, { prefix: 'Nobody.' }), /no keys start with 'Nobody\.' \(prefixes in this file: Student\., Teacher\.\)/);
  });

  test('a published scale is recognized; stride pairs, act and dropout come from options', async () => {
    const x = await convertPdparams(join(FIXTURES.pdparams, 'x0_25.pdparams'), { inputSize: 64 });
    assert.equal(x.architecture.scale, 0.25);
    assert.equal(x.description.name, 'PPLCNet_x0_25');
  });
});

describe('weights that do not fit: one report with everything', () => {
  test('missing, unexpected, wrong shape and transposed fc are all listed, with the assumed architecture', async () => {
    const contents = readPdparams(new Uint8Array(await readFile(join(FIXTURES.pdparams, 'x0_25.pdparams'))), 'x.pdparams');
    const tensors = new Map(contents.tensors);
    tensors.delete('blocks4.1.pw_conv.bn._mean');
    tensors.set('head.extra', { dtype: 'f4', shape: [3], data: new Float32Array(3) });
    const fc = tensors.get('fc.weight')!;
    tensors.set('fc.weight', { ...fc, shape: [...fc.shape].reverse() });
    const dw = tensors.get('blocks5.2.dw_conv.conv.weight')!;
    tensors.set('blocks5.2.dw_conv.conv.weight', { ...dw, shape: [64, 1, 3, 3] });
    const { architecture, problems } = inferArchitecture(tensors);
    assert.equal(architecture.scale, 0.25);
    assert.deepEqual(problems.sort(), [
      'missing: blocks4.1.pw_conv.bn._mean [32]',
      'shape: blocks5.2.dw_conv.conv.weight is [64,1,3,3], expected [64,1,5,5]',
      "shape: fc.weight is [4,96], expected [96,4] (transposed: Paddle's Linear stores [in, out])",
      'unexpected: head.extra [3]',
    ]);
  });
});

describe('the pickle reader is safe by construction', () => {
  const markers = ['/tmp/pplcnet-pwned-os-system', '/tmp/pplcnet-pwned-eval', '/tmp/pplcnet-pwned-popen'];

  for (const [file, global] of [
    ['hostile_os_system', 'posix.system'],
    ['hostile_eval', 'builtins.eval'],
    ['hostile_popen', 'subprocess.Popen'],
  ] as const) {
    test(`${file}: refused, naming '${global}', and nothing runs`, async () => {
      for (const m of markers) await rm(m, { force: true });
      await assert.rejects(convertPdparams(join(FIXTURES.pdparams, `${file}.pdparams`)), (e: unknown) => e instanceof PplcnetError && e.code === 'E_UNSAFE_PICKLE' && e.message.includes(`'${global}'`));
      for (const m of markers) assert.equal(existsSync(m), false, `${m} exists: something ran`);
    });
  }

  test('big-endian and Fortran-order arrays are refused with what to do', async () => {
    await assert.rejects(convertPdparams(join(FIXTURES.pdparams, 'big_endian.pdparams')), /'fc\.weight' is big-endian \(>f4\); re-save it little-endian/);
    await assert.rejects(convertPdparams(join(FIXTURES.pdparams, 'fortran.pdparams')), /'fc\.weight' is stored in Fortran order/);
  });

  test('opcodes that build arbitrary objects, unknown opcodes, and truncation are typed errors', () => {
    const u = (bytes: number[]) => unpickle(Uint8Array.from(bytes), 't.pkl');
    assert.throws(() => u([0x80, 0x02, 0x69]), (e: unknown) => e instanceof PplcnetError && e.code === 'E_UNSAFE_PICKLE');
    assert.throws(() => u([0x80, 0x02, 0x01]), /unknown pickle opcode 0x1/);
    assert.throws(() => u([0x80, 0x04, 0x58, 0xff, 0xff, 0xff, 0x7f]), (e: unknown) => e instanceof PplcnetError && e.code === 'E_TRUNCATED');
    assert.throws(() => u([0x80, 0x02, 0x7d]), /stack underflow|truncated/);
    // GLOBAL 'os\nsystem\n'
    assert.throws(() => u([0x63, ...Buffer.from('os\nsystem\n'), 0x2e]), /refusing the pickle global 'os\.system'/);
    assert.deepEqual(u([0x80, 0x02, 0x5d, 0x4b, 0x07, 0x61, 0x2e]), [7]);
    // 100 nested MARKs: refused before anything deep is built
    assert.throws(() => u([0x80, 0x02, ...new Array(100).fill(0x28)]), /nesting too deep/);
    // an array whose shape claims more data than the file holds: refused before allocating
    const huge = picklePdparams([['w', [0x7fffffff, 4], new Float32Array(8)]]);
    assert.throws(() => readPdparams(huge, 'huge.pdparams'), (e: unknown) => e instanceof PplcnetError && /larger than the file|needs \d+ bytes but holds/.test(e.message));
  });

  test('seeded fuzz: 3000 mutated files end in a typed error or a correct read, never a crash or hang', { timeout: 300_000 }, async () => {
    const base = new Uint8Array(await readFile(join(FIXTURES.pdparams, 'no_last_conv.pdparams')));
    const small = new Uint8Array(await readFile(join(FIXTURES.pdparams, 'p2_numpy1.pdparams')));
    let s = 12345;
    const rnd = (n: number): number => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return s % n;
    };
    const outcomes = { ok: 0, typed: 0 };
    for (let i = 0; i < 3000; i++) {
      const src = i % 2 ? base : small;
      let b = src.slice();
      switch (i % 4) {
        case 0: // bit flips
          for (let k = 0; k < 1 + rnd(8); k++) b[rnd(b.length)]! ^= 1 << rnd(8);
          break;
        case 1: // truncation
          b = b.slice(0, rnd(b.length));
          break;
        case 2: {
          // a huge length somewhere
          const p = rnd(b.length - 8);
          new DataView(b.buffer).setUint32(p, 0xfffffff0 - rnd(1000), true);
          break;
        }
        default: {
          // a run of random bytes
          const p = rnd(b.length);
          for (let k = 0; k < 1 + rnd(32) && p + k < b.length; k++) b[p + k] = rnd(256);
        }
      }
      try {
        const f = readPdparams(b, 'fuzz.pdparams');
        inferArchitecture(f.tensors);
        outcomes.ok++;
      } catch (err) {
        if (!(err instanceof PplcnetError)) throw new Error(`mutation ${i} threw ${(err as Error).name}: ${(err as Error).message}`);
        outcomes.typed++;
      }
    }
    assert.ok(outcomes.typed > 1500, JSON.stringify(outcomes));
  });
});
