/** convert/build/inspect/predict --model: what the file is, output names, --force, the untrained flag. */
import assert from 'node:assert/strict';
import { copyFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readMetadataProps } from '../../src/onnx/read.js';
import { FIXTURES } from '../fixtures/index.js';
import { ROOT, runCli, tempDir } from '../helpers.js';

describe('convert and build: sniffed inputs, output names, --force', () => {
  const tmp = tempDir('names', { before, after });
  const png = join(ROOT, 'models/examples/textline_upright.png');

  test('an image given to convert, inspect or predict --model: what it is and what the command takes (exit 1)', async () => {
    const c = await runCli(['convert', png], { cwd: tmp.path });
    assert.equal(c.code, 1);
    assert.equal(c.stderr, `pplcnet: error: ${png} is a PNG image, not a model; convert takes a .pdparams file, or a Paddle inference model (folder, inference.json, inference.pdmodel or a *_infer.tar archive); to classify it use pplcnet predict -m MODEL ${png}\n`);
    const i = await runCli(['inspect', png]);
    assert.equal(i.code, 1);
    assert.match(i.stderr, /is a PNG image, not a model; inspect takes a \.pdparams file, a Paddle inference model .* or an \.onnx model/);
    const p = await runCli(['predict', '-m', png, png]);
    assert.equal(p.code, 1);
    assert.match(p.stderr, /is a PNG image, not a model; --model takes a zoo name.*; the images go after the options: pplcnet predict -m MODEL /);
    assert.equal(p.stdout, '');
  });

  test('convert names the output after the input, refuses to replace it without --force, and an .onnx is "already ONNX"', async () => {
    // a .pdparams copied under a name that says nothing of its scale
    await copyFile(join(FIXTURES.pdparams, 'p2_numpy1.pdparams'), join(tmp.path, 'PULC_mine.pdparams'));
    const first = await runCli(['convert', 'PULC_mine.pdparams'], { cwd: tmp.path });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /wrote\s+PULC_mine\.onnx/);
    const out = join(tmp.path, 'PULC_mine.onnx');
    const before1 = await stat(out);
    const again = await runCli(['convert', 'PULC_mine.pdparams', '--dropout', '0.1'], { cwd: tmp.path });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /PULC_mine\.onnx: already exists; refusing to replace it \(pass --force/);
    assert.equal((await stat(out)).mtimeMs, before1.mtimeMs, 'left as it was');
    const forced = await runCli(['convert', 'PULC_mine.pdparams', '--dropout', '0.1', '--force'], { cwd: tmp.path });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(JSON.parse(readMetadataProps(await readFile(out))['pplcnet.architecture']!).dropoutProb.toString(), /^0\.1$/);
    const onnx = await runCli(['convert', 'PULC_mine.onnx'], { cwd: tmp.path });
    assert.equal(onnx.code, 1);
    assert.equal(onnx.stderr, 'pplcnet: error: PULC_mine.onnx is already an ONNX model: nothing to convert; use it directly with pplcnet predict -m PULC_mine.onnx, or look inside with pplcnet inspect PULC_mine.onnx\n');
    // a pickle is weights whatever its name
    await copyFile(join(FIXTURES.pdparams, 'p2_numpy1.pdparams'), join(tmp.path, 'weights.bin'));
    const bin = await runCli(['convert', 'weights.bin', '--json'], { cwd: tmp.path });
    assert.equal(bin.code, 0, bin.stderr);
    assert.equal(JSON.parse(bin.stdout).format, 'pdparams');
  });

  test('build: says the weights are not trained, records trained=false, refuses to replace without --force; predict says so once', async () => {
    const b = await runCli(['build', '--scale', '0.25', '--class-num', '2', '--input-size', '32', '-o', 'untrained.onnx'], { cwd: tmp.path });
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /weights\s+initialized \(seed 0\), not trained/);
    const file = join(tmp.path, 'untrained.onnx');
    assert.equal(readMetadataProps(await readFile(file))['pplcnet.trained'], 'false');
    const again = await runCli(['build', '--scale', '0.25', '-o', 'untrained.onnx'], { cwd: tmp.path });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists; refusing to replace it \(pass --force/);
    const p = await runCli(['predict', '-m', file, png, join(ROOT, 'models/examples/textline_upside_down.png')]);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(p.stderr.match(/untrained weights/g)?.length, 1, p.stderr);
    const q = await runCli(['predict', '-q', '-m', file, png]);
    assert.equal(q.stderr, '');
    const json = await runCli(['build', '--scale', '0.25', '--class-num', '2', '-o', 'u2.onnx', '--json'], { cwd: tmp.path });
    assert.equal(JSON.parse(json.stdout).trained, false);
  });
});
