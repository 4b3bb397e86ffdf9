import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WEIGHT_LIMITS } from '../../../src/convert/architecture-check.js';
import { convertPdparams, inferArchitecture } from '../../../src/convert/from-weights.js';
import { convertInferenceModel } from '../../../src/convert/inference-model.js';
import { interpretProgram } from '../../../src/convert/interpret.js';
import { readPdiparams, writePdiparams } from '../../../src/convert/pdiparams.js';
import { readPdparams } from '../../../src/convert/pdparams.js';
import { readProgramDesc } from '../../../src/convert/pdmodel.js';
import { readPirProgram } from '../../../src/convert/pir.js';
import { PplcnetError } from '../../../src/errors.js';
import { writeFileAtomic } from '../../../src/util/fs.js';
import { picklePdparams } from '../../archives.js';
import { FIXTURES } from '../../fixtures/index.js';
import { tempDir } from '../../helpers.js';
import { pickleArrays, pickleSharedArray } from '../../pickle-writer.js';

const isCode = (code: string, pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof PplcnetError, `expected a PplcnetError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  assert.match(e.message, pattern);
  return true;
};

const textlineJson = (): string => readFileSync(join(FIXTURES.textlineModel, 'inference.json'), 'utf8');
const x025 = (): Map<string, { shape: readonly number[]; data: Float32Array }> =>
  new Map(readPdparams(new Uint8Array(readFileSync(join(FIXTURES.pdparams, 'x0_25.pdparams'))), 'x0_25.pdparams').tensors);
const repickle = (tensors: Map<string, { shape: readonly number[]; data: Float32Array }>): Uint8Array =>
  picklePdparams([...tensors].map(([k, t]) => [k, t.shape, t.data] as [string, readonly number[], Float32Array]));

describe('the atomic writer refuses special files and (without force) symbolic links', () => {
  const tmp = tempDir('fs', { before, after });

  test('FIFO, socket, folder and device are refused and left as they were; a regular file is replaced', async () => {
    const fifo = join(tmp.path, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await assert.rejects(writeFileAtomic(fifo, 'x', { force: true }), isCode('E_IO', /fifo: is a FIFO; refusing/));
    assert.ok(lstatSync(fifo).isFIFO());
    const sock = join(tmp.path, 'sock');
    const server = createServer();
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      await assert.rejects(writeFileAtomic(sock, 'x', { force: true }), isCode('E_IO', /is a socket/));
      assert.ok(lstatSync(sock).isSocket());
    } finally {
      server.close();
    }
    const dir = join(tmp.path, 'dir');
    await mkdir(dir);
    await assert.rejects(writeFileAtomic(dir, 'x', { force: true }), isCode('E_IO', /is a folder/));
    if (process.getuid?.() === 0) {
      // a character device made here (the same numbers as /dev/null), never a system one
      const dev = join(tmp.path, 'null');
      execFileSync('mknod', [dev, 'c', '1', '3']);
      await assert.rejects(writeFileAtomic(dev, 'x', { force: true }), isCode('E_IO', /is a character device/));
      assert.ok(lstatSync(dev).isCharacterDevice());
    }
    const plain = join(tmp.path, 'plain');
    await writeFile(plain, 'old');
    await writeFileAtomic(plain, 'new');
    assert.equal(await readFile(plain, 'utf8'), 'new');
  });

  test('a symbolic link: refused without force; with force the link itself is replaced, never its target', async () => {
    const target = join(tmp.path, 'target');
    await writeFile(target, 'keep');
    const link = join(tmp.path, 'link');
    await symlink(target, link);
    await assert.rejects(writeFileAtomic(link, 'x'), isCode('E_IO', /link: is a symbolic link; refusing.*--force/));
    assert.equal(readlinkSync(link), target);
    await writeFileAtomic(link, 'new', { force: true });
    assert.ok(lstatSync(link).isFile());
    assert.equal(await readFile(link, 'utf8'), 'new');
    assert.equal(await readFile(target, 'utf8'), 'keep');
  });
});

describe('malformed program attributes are errors naming the op and attribute', () => {
  test('PIR: a stride written as a string is refused (it used to become the default stride 1)', () => {
    const text = textlineJson();
    const stride = '{"AT":{"#":"0.a_array","D":[{"#":"0.a_i32","D":2},{"#":"0.a_i32","D":1}]},"N":"strides"}';
    assert.ok(text.includes(stride));
    const asStrings = text.replace(stride, '{"AT":{"#":"0.a_array","D":[{"#":"0.a_str","D":"2"},{"#":"0.a_str","D":"1"}]},"N":"strides"}');
    assert.throws(() => interpretProgram(readPirProgram(asStrings, 'm.json'), 'm.json'), isCode('E_PROGRAM', /m\.json: op \d+ '1\.depthwise_conv2d'.*attribute 'strides': expected 2 integers but found \["2","1"\]/));
    const mistyped = text.replace(stride, '{"AT":{"#":"0.a_array","D":[{"#":"0.a_i32","D":"2"},{"#":"0.a_i32","D":1}]},"N":"strides"}');
    assert.throws(() => readPirProgram(mistyped, 'm.json'), isCode('E_PROGRAM', /m\.json: op \d+ '1\.depthwise_conv2d': attribute 'strides'\[0\]: expected an integer for a 0\.a_i32 attribute but found "2"/));
  });

  test('PIR: a string epsilon is refused (it used to become 1e-5); an unknown attribute type fails when read', () => {
    const text = textlineJson();
    const eps = /\{"AT":\{"#":"0\.a_f32","D":9\.999999747378752e-06\},"N":"epsilon"\}/;
    const stringEps = text.replace(eps, '{"AT":{"#":"0.a_str","D":"1e-3"},"N":"epsilon"}');
    assert.notEqual(stringEps, text);
    assert.throws(() => interpretProgram(readPirProgram(stringEps, 'm.json'), 'm.json'), isCode('E_PROGRAM', /op \d+ '1\.batch_norm_'.*attribute 'epsilon': expected a finite number but found the string "1e-3"/));
    const unknown = text.replace(eps, '{"AT":{"#":"9.a_weird","D":1},"N":"epsilon"}');
    assert.throws(() => interpretProgram(readPirProgram(unknown, 'm.json'), 'm.json'), isCode('E_PROGRAM', /attribute 'epsilon': expected a finite number but found an attribute of type "9\.a_weird"/));
  });

  test('PIR: an attribute array nested 100,000 deep is refused without recursing into it', () => {
    const text = textlineJson();
    const stride = '{"AT":{"#":"0.a_array","D":[{"#":"0.a_i32","D":2},{"#":"0.a_i32","D":1}]},"N":"strides"}';
    const deep = `${'{"#":"0.a_array","D":['.repeat(100_000)}${']}'.repeat(100_000)}`;
    const bad = text.replace(stride, `{"AT":{"#":"0.a_array","D":[${deep}]},"N":"strides"}`);
    assert.throws(() => interpretProgram(readPirProgram(bad, 'm.json'), 'm.json'), isCode('E_PROGRAM', /attribute 'strides': expected 2 integers but found an array of unreadable items/));
  });

  /** A ProgramDesc with one block holding one batch_norm op whose attribute message is `attr`. */
  function programWithAttr(attr: number[]): Uint8Array {
    const len = (n: number): number[] => {
      const out: number[] = [];
      do {
        out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
        n >>>= 7;
      } while (n > 0);
      return out;
    };
    const msg = (no: number, body: number[]): number[] => [(no << 3) | 2, ...len(body.length), ...body];
    const str = (no: number, s: string): number[] => msg(no, [...Buffer.from(s)]);
    const op = [...str(3, 'batch_norm'), ...msg(4, attr)];
    return Uint8Array.from(msg(1, [0x08, 0x00, 0x10, 0x00, ...msg(4, op)]));
  }
  const name = [0x0a, 7, ...Buffer.from('epsilon')];

  test('ProgramDesc: a FLOAT with the wrong wire type or a 3-byte payload is refused, naming op and attribute', () => {
    const good = programWithAttr([...name, 0x10, 0x01, 0x25, 0x00, 0x00, 0x80, 0x3f]);
    assert.equal(readProgramDesc(good, 'm.pdmodel').ops[0]!.attrs.epsilon, 1);
    const varint = programWithAttr([...name, 0x10, 0x01, 0x20, 0x05]);
    assert.throws(() => readProgramDesc(varint, 'm.pdmodel'), isCode('E_PROGRAM', /m\.pdmodel: op 0 'batch_norm': attribute 'epsilon': expected field 4 as a fixed32 for a FLOAT attribute but found a varint/));
    const short = programWithAttr([...name, 0x10, 0x01, 0x22, 0x03, 0x00, 0x00, 0x80]);
    assert.throws(() => readProgramDesc(short, 'm.pdmodel'), isCode('E_PROGRAM', /attribute 'epsilon': expected field 4 as a fixed32 for a FLOAT attribute but found 3 bytes/));
    const missing = programWithAttr([...name, 0x10, 0x01]);
    assert.throws(() => readProgramDesc(missing, 'm.pdmodel'), isCode('E_PROGRAM', /attribute 'epsilon': expected exactly one field 4 for a FLOAT attribute but found nothing/));
    const packed = programWithAttr([...Buffer.from([0x0a, 7]), ...Buffer.from('strides'), 0x10, 0x04, 0x3a, 0x03, 0, 0, 0]);
    assert.throws(() => readProgramDesc(packed, 'm.pdmodel'), isCode('E_PROGRAM', /attribute 'strides': expected packed floats \(a multiple of 4 bytes\) for a FLOATS attribute but found 3 bytes/));
  });
});

describe('weights files are bounded by what a PP-LCNet can be', () => {
  const tmp = tempDir('bounds', { before, after });
  test('many keys sharing one memoized array: refused at the key bound, before the values are copied', () => {
    const bomb = pickleSharedArray(WEIGHT_LIMITS.maxKeys * 2, [2000], new Float32Array(2000));
    assert.throws(() => readPdparams(bomb, 'bomb.pdparams'), isCode('E_WEIGHTS', /bomb\.pdparams: a dict with more than 10,000 entries/));
  });

  test('values counted per key: a shared array under a few hundred keys past the bound is refused', () => {
    const n = 1 << 20;
    const keys = Math.ceil(WEIGHT_LIMITS.maxValues / n) + 2;
    assert.ok(keys < 500);
    const bomb = pickleSharedArray(keys, [n], new Float32Array(n));
    assert.throws(() => readPdparams(bomb, 'big.pdparams'), isCode('E_WEIGHTS', /big\.pdparams: more than [\d,]+ values by key 'k\d+' \(the largest PP-LCNet has/));
  });

  test('an error listing problems shows the first 20 and how many more', async () => {
    const tensors = x025();
    for (let i = 0; i < 300; i++) tensors.set(`extra.${i}`, { shape: [1], data: new Float32Array(1) });
    const contents = readPdparams(repickle(tensors), 'x.pdparams');
    assert.equal(inferArchitecture(contents.tensors).problems.length, 300);
    const file = join(tmp.path, 'extra.pdparams');
    await writeFile(file, repickle(tensors));
    const err = await convertPdparams(file).then(
      () => assert.fail('accepted'),
      (e: unknown) => e as PplcnetError,
    );
    assert.equal(err.code, 'E_WEIGHTS');
    assert.match(err.message, /unexpected: extra\.19 \[1\]\n {2}… and 280 more$/);
    assert.ok(err.message.length < 3000, `${err.message.length} characters`);
  });

  test('float dimensions such as (4.0,) are refused', () => {
    const f = pickleArrays([{ key: 'fc.bias', shape: [{ float: 4 }], data: new Float32Array(4) }]);
    assert.throws(() => readPdparams(f, 'f.pdparams'), isCode('E_PICKLE', /f\.pdparams: ndarray dimension 4\.0 \(a float\) is not valid/));
    assert.equal(readPdparams(pickleArrays([{ key: 'fc.bias', shape: [4], data: new Float32Array(4) }]), 'i.pdparams').tensors.get('fc.bias')!.shape[0], 4);
  });
});

describe('values read from files are file errors, not option errors', () => {
  test('.pdparams: fc.bias of shape [0] or [0, 2^52] names the file and the key (E_WEIGHTS)', () => {
    for (const shape of [[0], [0, 2 ** 52]]) {
      const tensors = x025();
      tensors.set('fc.bias', { shape, data: new Float32Array(0) });
      const f = readPdparams(pickleArrays([...tensors].map(([key, t]) => ({ key, shape: t.shape, data: t.data }))), 'w.pdparams');
      assert.deepEqual(f.tensors.get('fc.bias')!.shape, shape);
      assert.throws(() => inferArchitecture(f.tensors, {}, 'w.pdparams'), isCode('E_WEIGHTS', /w\.pdparams: the file's shapes give values no PP-LCNet has:\n {2}fc\.bias shape \[0(,4503599627370496)?\]: class count 0, expected an integer from 1/));
    }
  });

  test('a bad option is still an option error (RangeError naming it)', () => {
    assert.throws(() => inferArchitecture(x025() as never, { dropoutProb: 2 }), RangeError);
  });

  test('PIR: an fc shape [128, "two"] names the file and the parameter (E_PROGRAM)', () => {
    const text = textlineJson();
    const bad = text.replace('"linear_0.w_0_deepcopy_143"],"DA":[],"O":{"%":2,"TT":{"#":"0.t_dtensor","D":[{"#":"0.t_f32"},[128,2]', '"linear_0.w_0_deepcopy_143"],"DA":[],"O":{"%":2,"TT":{"#":"0.t_dtensor","D":[{"#":"0.t_f32"},[128,"two"]');
    assert.notEqual(bad, text);
    assert.throws(() => readPirProgram(bad, 'm.json'), isCode('E_PROGRAM', /m\.json: parameter op \d+ 'linear_0\.w_0': expected a shape of at most 8 non-negative integer dimensions but found \[128,"two"\]/));
  });

  test('PIR: an fc of 0 classes names the file and the parameter (E_PROGRAM)', () => {
    const program = readPirProgram(textlineJson(), 'm.json');
    const zero = { ...program, parameters: program.parameters.map((p) => (p.name === 'linear_0.w_0' ? { ...p, shape: [128, 0] } : p)) };
    assert.throws(() => interpretProgram(zero, 'm.json'), isCode('E_PROGRAM', /m\.json: [\s\S]*fc weight 'linear_0\.w_0' shape \[128,0\]: class count 0/));
  });
});

describe('NaN and infinite weights convert with a warning naming the tensor and the count', () => {
  const tmp = tempDir('nan', { before, after });

  test('.pdparams and an inference model', async () => {
    const tensors = x025();
    const w = tensors.get('blocks2.0.dw_conv.conv.weight')!.data.slice();
    w[0] = Number.NaN;
    w[5] = Number.POSITIVE_INFINITY;
    w[6] = Number.NaN;
    tensors.set('blocks2.0.dw_conv.conv.weight', { ...tensors.get('blocks2.0.dw_conv.conv.weight')!, data: w });
    const file = join(tmp.path, 'nan.pdparams');
    await writeFile(file, repickle(tensors));
    const m = await convertPdparams(file, { inputSize: 64 });
    assert.deepEqual(m.warnings, [`${file}: 'blocks2.0.dw_conv.conv.weight' holds 2 NaN and 1 infinite values of ${w.length}; the model's outputs will be NaN or meaningless`]);
    const clean = await convertPdparams(join(FIXTURES.pdparams, 'x0_25.pdparams'), { inputSize: 64 });
    assert.deepEqual(clean.warnings, []);

    const d = join(tmp.path, 'infer');
    await mkdir(d);
    await writeFile(join(d, 'inference.json'), textlineJson());
    const raw = readPdiparams(new Uint8Array(readFileSync(join(FIXTURES.textlineModel, 'inference.pdiparams'))), 'p');
    const floats = raw.map((t) => ({ shape: t.shape, data: new Float32Array(t.bytes.slice().buffer) }));
    floats[0]!.data[1] = Number.NaN; // batch_norm2d_0.b_0 (first in sorted order): conv1.bn.bias
    await writeFile(join(d, 'inference.pdiparams'), writePdiparams(floats));
    const im = await convertInferenceModel(d);
    assert.equal(im.warnings.length, 1);
    assert.match(im.warnings[0]!, /inference\.pdiparams: 'conv1\.bn\.bias' holds 1 NaN value of 8;/);
    assert.ok(statSync(join(d, 'inference.json')).isFile());
  });
});
