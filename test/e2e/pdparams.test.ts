import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readPdparams } from '../../src/convert/pdparams.js';
import { FIXTURES } from '../fixtures/index.js';
import { runCli, tempDir } from '../helpers.js';
import { pickleArrays, pickleSharedArray } from '../pickle-writer.js';

describe('pplcnet convert / inspect (CLI), .pdparams', () => {
  const tmp = tempDir('pdparams', { before, after });

  test('converts with flags for what the shapes cannot tell, and says which were given', async () => {
    const out = join(tmp.path, 'pairs.onnx');
    const r = await runCli(['convert', join(FIXTURES.pdparams, 'stride_pairs.pdparams'), '--stride-list', '[[1,2],[2,1],[2,1],[2,1],[2,1]]', '--input-size', '32x64', '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /strides \[\[1,2\],\[2,1\],\[2,1\],\[2,1\],\[2,1\]\]/);
    assert.match(r.stdout, /options\s+act hardswish \(default\), strides given, dropout 0\.2 \(default\), input given/);
    assert.match(r.stdout, /input\s+image \[N,3,32,64\]/);
  });

  test('--json summary of a distillation checkpoint; the prefix note goes to stderr', async () => {
    const r = await runCli(['convert', join(FIXTURES.pdparams, 'distill_student.pdparams'), '--json', '-o', join(tmp.path, 'd.onnx')]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.format, 'pdparams');
    assert.equal(s.prefix, 'Student.');
    assert.match(r.stderr, /converting 'Student\.'/);
  });

  test('inspect lists keys, shapes, dtypes, totals and the inferred architecture', async () => {
    const r = await runCli(['inspect', join(FIXTURES.pdparams, 'x0_25.pdparams')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^conv1\.conv\.weight\s+f4\s+\[8,3,3,3\]$/m);
    assert.match(r.stdout, /146 arrays, 91,772 values/);
    assert.match(r.stdout, /architecture: PP-LCNet x0\.25, 4 classes, last conv 96, SE in blocks6\.0, blocks6\.1/);
    assert.match(r.stdout, /every key and shape fits/);
    const j = JSON.parse((await runCli(['inspect', '--json', join(FIXTURES.pdparams, 'p4_tuples.pdparams')])).stdout);
    assert.equal(j.architecture.useLastConv, true);
    assert.deepEqual(j.problems, []);
    const prefix = await runCli(['inspect', '--prefix', 'Teacher.', FIXTURES.textlineModel]);
    assert.equal(prefix.code, 2);
    assert.match(prefix.stderr, /--prefix applies to \.pdparams only/);
  });

  test('hostile and mismatched files: exit 1, nothing written', async () => {
    const out = join(tmp.path, 'evil.onnx');
    const r = await runCli(['convert', join(FIXTURES.pdparams, 'hostile_eval.pdparams'), '-o', out]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refusing the pickle global 'builtins\.eval'/);
    const flag = await runCli(['convert', join(FIXTURES.textlineModel), '--act', 'relu', '-o', out]);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /--act applies to \.pdparams only/);
    assert.ok(!(await readdir(tmp.path)).includes('evil.onnx'));
  });

  test('a file whose shapes give 0 classes: exit 1 naming the file and fc.bias, not a command-line flag', async () => {
    const x = readPdparams(new Uint8Array(await readFile(join(FIXTURES.pdparams, 'x0_25.pdparams'))), 'x');
    const entries = [...x.tensors].map(([key, t]) => ({ key, shape: key === 'fc.bias' ? [0] : t.shape, data: key === 'fc.bias' ? new Float32Array(0) : t.data }));
    const file = join(tmp.path, 'zero.pdparams');
    await writeFile(file, pickleArrays(entries));
    const r = await runCli(['convert', file, '-o', join(tmp.path, 'zero.onnx')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /zero\.pdparams: the file's shapes give values no PP-LCNet has:\n {2}fc\.bias shape \[0\]: class count 0/);
    assert.doesNotMatch(r.stderr, /--class-num/);
  });

  test('inspect of 150,000 keys sharing one array: exit 1 at the key bound, with a short message', async () => {
    const file = join(tmp.path, 'keys.pdparams');
    await writeFile(file, pickleSharedArray(150_000, [1], new Float32Array(1)));
    const r = await runCli(['inspect', file]);
    assert.equal(r.code, 1, r.stderr.slice(0, 500));
    assert.match(r.stderr, /keys\.pdparams: a dict with more than 10,000 entries; a PP-LCNet state dict has a few hundred keys/);
    assert.ok(r.stderr.length < 1000, `${r.stderr.length} characters on stderr`);
    assert.equal(r.stdout, '');
  });

  test('NaN weights: converted, with a warning on stderr naming the tensor and the count', async () => {
    const x = readPdparams(new Uint8Array(await readFile(join(FIXTURES.pdparams, 'x0_25.pdparams'))), 'x');
    const entries = [...x.tensors].map(([key, t]) => ({ key, shape: t.shape, data: key === 'fc.weight' ? t.data.map((v, i) => (i < 3 ? Number.NaN : v)) : t.data }));
    const file = join(tmp.path, 'nan.pdparams');
    await writeFile(file, pickleArrays(entries));
    const r = await runCli(['convert', file, '--input-size', '64', '-o', join(tmp.path, 'nan.onnx')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /pplcnet: warning: .*nan\.pdparams: 'fc\.weight' holds 3 NaN values of 384;/);
  });
});
