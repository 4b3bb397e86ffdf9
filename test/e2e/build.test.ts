import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readMetadataProps } from '../../src/onnx/read.js';
import { VERSION } from '../../src/version.js';
import { ROOT, runCli, tempDir } from '../helpers.js';

describe('pplcnet build (CLI)', () => {
  const tmp = tempDir('build', { before, after });

  test('writes a model and prints a one-screen summary', async () => {
    const out = join(tmp.path, 'x1.onnx');
    const r = await runCli(['build', '--scale', '1.0', '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    // the parameters the model holds, as inspect counts them: BatchNorm folded into one bias per channel
    // (PaddleClas's table counts BatchNorm's scale and shift: 2,952,520, what a BatchNorm-kept model holds)
    assert.match(r.stdout, /params\s+2,947,048 \(2\.95M\)/);
    assert.match(r.stdout, /MACs\s+155\.70M at 224x224 \(Paddle FLOPs 160\.81M\)/);
    assert.match(r.stdout, /outputs\s+logits \[N,1000\], probs \[N,1000\]/);
    const bytes = await readFile(out);
    assert.match(r.stdout, new RegExp(`wrote\\s+${out.replace(/[.]/g, '\\.')} \\(11\\.8 MB\\)`));
    const props = readMetadataProps(bytes);
    assert.equal(JSON.parse(props['pplcnet.labels']!)[8], 'hen');
    assert.equal(props['pplcnet.name'], 'PPLCNet_x1_0');
    assert.deepEqual(await readdir(tmp.path), ['x1.onnx'], 'no temp files left behind');
  });

  test('text-line options with --json', async () => {
    const out = join(tmp.path, 'tl.onnx');
    const r = await runCli([
      'build', '--scale', '0.25', '--class-num', '2', '--no-last-conv', '--input-size', '80x160',
      '--stride-list', '[[1,2],[2,1],[2,1],[2,1],[2,1]]', '--batch', '4', '--keep-bn', '--json', '-o', out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.deepEqual(s.inputShape, [4, 3, 80, 160]);
    assert.equal(s.folded, false);
    assert.deepEqual(s.architecture.strideList, [[1, 2], [2, 1], [2, 1], [2, 1], [2, 1]]);
    assert.equal(s.architecture.useLastConv, false);
    const props = readMetadataProps(await readFile(out));
    assert.deepEqual(JSON.parse(props['pplcnet.preprocess']!).resize, { mode: 'exact', width: 160, height: 80 });
  });

  const bad: [string[], RegExp][] = [
    [['--scale', '0'], /positive number for '--scale' but received 0/],
    [['--scale', 'NaN'], /'--scale/],
    [['--stride-list', '[2,2,2,2]'], /exactly 5 strides for '--stride-list' but received \[2,2,2,2\]/],
    [['--stride-list', '[2,3,2,2,2]'], /for '--stride-list' entry 1 but received 3/],
    [['--stride-list', 'x'], /JSON array of 5 strides/],
    [['--opset', '13'], /integer from 14 to 21 for '--opset' but received 13/],
    [['--act', 'gelu'], /'gelu' is invalid. Allowed choices are hardswish, relu, relu6/],
    [['--class-num', '0'], /positive integer/],
    [['--input-size', '80by160'], /224 or 80x160/],
  ];
  for (const [args, message] of bad) {
    test(`refuses ${args.join(' ')} with exit code 2 and a message naming the option`, async () => {
      const r = await runCli(['build', ...args, '-o', join(tmp.path, 'bad.onnx')]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, message);
      await assert.rejects(readFile(join(tmp.path, 'bad.onnx')));
    });
  }

  test('--version prints the package version', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    assert.equal(pkg.version, VERSION);
    const r = await runCli(['--version']);
    assert.equal(r.stdout.trim(), VERSION);
  });
});

describe('pplcnet bench and compare (CLI)', () => {
  test('bench --json: one row per configuration with latency, throughput, GFLOP/s and peak ratio', async () => {
    const r = await runCli(['bench', '--scale', '0.25', '--threads', '1', '--batch', '1,2', '--runs', '3', '--warmup', '1', '--ep', 'cpu', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(rows.map((x) => x.batch), [1, 2]);
    for (const x of rows) {
      for (const k of ['createMs', 'p50Ms', 'p90Ms', 'imagesPerSec', 'gflops', 'peakRatio', 'peakGflops']) assert.equal(typeof x[k], 'number', k);
    }
  });

  test('bench and compare pass every session option on, and refuse what they cannot use', async () => {
    for (const cmd of [['bench', '--scale', '0.25', '--no-peak', '--runs', '1'], ['compare', 'textline', 'textline', '--random', '1']]) {
      const r = await runCli([...cmd, '--ep', 'cpu', '--inter-threads', '2000', '--graph-opt', 'basic']);
      assert.equal(r.code, 2, `${cmd[0]}: ${r.stderr}`);
      assert.match(r.stderr, /for 'interThreads' but received 2000/);
    }
    const scale = await runCli(['bench', '-m', 'textline', '--scale', '0.5', '--ep', 'cpu']);
    assert.equal(scale.code, 2);
    assert.match(scale.stderr, /--scale applies to the model built in memory/);
  });

  test('compare prints differences and agreement', async () => {
    const r = await runCli(['compare', 'textline', 'models/PP-LCNet_x0_25_textline_ori', '--random', '2', '--ep', 'cpu']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /2 random inputs\nlogits\s+max \|a-b\| 0\.00e\+0/);
    assert.match(r.stdout, /top-1 agreement 100\.0%/);
  });
});
