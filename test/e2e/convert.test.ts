import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readMetadataProps } from '../../src/onnx/read.js';
import { FIXTURES } from '../fixtures/index.js';
import { runCli, tempDir } from '../helpers.js';

describe('pplcnet convert (CLI), inference models', () => {
  const tmp = tempDir('convert', { before, after });

  test('converts the shipped model folder, writes atomically, records the preprocessing and labels', async () => {
    const out = join(tmp.path, 'tl.onnx');
    const r = await runCli(['convert', FIXTURES.textlineModel, '-o', out, '--opset', '14']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /source\s+Paddle 3 PIR program: .*inference\.json/);
    assert.match(r.stdout, /labels\s+2 \(0_degree, 180_degree\)/);
    assert.match(r.stdout, /graph\s+opset 14, BatchNorm folded/);
    const props = readMetadataProps(await readFile(out));
    assert.deepEqual(JSON.parse(props['pplcnet.preprocess']!).resize, { mode: 'exact', width: 160, height: 80 });
    assert.deepEqual(await readdir(tmp.path), ['tl.onnx']);
    const p = await runCli(['predict', '-m', out, '--ep', 'cpu', '--json', 'models/examples/textline_upside_down.png']);
    assert.equal(JSON.parse(p.stdout).topk[0].label, '180_degree');
  });

  test('--json summary and --keep-bn', async () => {
    const out = join(tmp.path, 'kept.onnx');
    const r = await runCli(['convert', join(FIXTURES.textlineModel, 'inference.json'), '-o', out, '--keep-bn', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.equal(s.format, 'pir-json');
    assert.equal(s.folded, false);
    assert.equal(s.name, 'PP-LCNet_x0_25_textline_ori');
    assert.equal(s.parameters, 76602);
  });

  test('a folder without a model: exit 1 and a message saying what is expected', async () => {
    const r = await runCli(['convert', tmp.path]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no inference\.json or inference\.pdmodel in this folder/);
  });
});
