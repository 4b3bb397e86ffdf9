import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURES } from '../fixtures/index.js';
import { runCli, tempDir } from '../helpers.js';

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
});
