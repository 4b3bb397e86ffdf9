import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, readlinkSync } from 'node:fs';
import { mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
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

  test('-o onto a FIFO or a device is refused (exit 1) and the node stays; a symlink needs --force', async () => {
    const d = join(tmp.path, 'special');
    await mkdir(d);
    const fifo = join(d, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const r = await runCli(['convert', FIXTURES.textlineModel, '-o', fifo, '--force']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /fifo: is a FIFO; refusing to write over it/);
    assert.ok(lstatSync(fifo).isFIFO());
    if (process.getuid?.() === 0) {
      const dev = join(d, 'null'); // made here, never a system device
      execFileSync('mknod', [dev, 'c', '1', '3']);
      const rd = await runCli(['convert', FIXTURES.textlineModel, '-o', dev]);
      assert.equal(rd.code, 1, rd.stderr);
      assert.ok(lstatSync(dev).isCharacterDevice());
    }
    const target = join(d, 'target.onnx');
    await writeFile(target, 'keep');
    const link = join(d, 'link.onnx');
    await symlink(target, link);
    const rl = await runCli(['convert', FIXTURES.textlineModel, '-o', link]);
    assert.equal(rl.code, 1, rl.stderr);
    assert.match(rl.stderr, /link\.onnx: is a symbolic link; refusing to replace it \(pass --force/);
    assert.equal(readlinkSync(link), target);
    const rf = await runCli(['convert', FIXTURES.textlineModel, '-o', link, '--force']);
    assert.equal(rf.code, 0, rf.stderr);
    assert.ok(lstatSync(link).isFile());
    assert.equal(await readFile(target, 'utf8'), 'keep');
    assert.equal(readMetadataProps(await readFile(link))['pplcnet.name'], 'PP-LCNet_x0_25_textline_ori');
  });

  test('a PIR fc shape [128, "two"]: exit 1 naming the file, not a command-line flag', async () => {
    const d = join(tmp.path, 'badshape');
    await mkdir(d);
    const text = await readFile(join(FIXTURES.textlineModel, 'inference.json'), 'utf8');
    await writeFile(join(d, 'inference.json'), text.replace(/("linear_0\.w_0_deepcopy_\d+"\],"DA":\[\],"O":\{"%":\d+,"TT":\{"#":"0\.t_dtensor","D":\[\{"#":"0\.t_f32"\},)\[128,2\]/, '$1[128,"two"]'));
    await writeFile(join(d, 'inference.pdiparams'), await readFile(join(FIXTURES.textlineModel, 'inference.pdiparams')));
    const r = await runCli(['convert', d, '-o', join(d, 'out.onnx')]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /inference\.json: parameter op \d+ 'linear_0\.w_0': expected a shape .* but found \[128,"two"\]/);
    assert.doesNotMatch(r.stderr, /--class-num/);
  });
});
