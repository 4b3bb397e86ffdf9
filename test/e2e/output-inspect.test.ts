/**
 * Output paths that cannot be written are refused up front, naming the path given (never a temp name or a raw
 * errno); inspect says what a tar or gzip file is and reads a *_infer.tar as convert and predict do.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { makeTar } from '../archives.js';
import { FIXTURES } from '../fixtures/index.js';
import { ROOT, runCli, tempDir } from '../helpers.js';

const weights = join(FIXTURES.pdparams, 'x0_25.pdparams');
const refusedOutput = (r: { code: number | null; stderr: string }, path: string, reason: RegExp): void => {
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stderr.startsWith(`pplcnet: error: ${path}: cannot write the output file: `), r.stderr);
  assert.match(r.stderr, reason);
  assert.doesNotMatch(r.stderr, /\.tmp\.\d+\.|^pplcnet: error: E[A-Z]+:/, 'no temp name, no raw errno message');
};

describe('output paths (CLI)', () => {
  const tmp = tempDir('outputs', { before, after });

  test('convert -o onto a pseudo file system, under a file, with an over-long name: a clear error naming the path, nothing left', async () => {
    refusedOutput(await runCli(['convert', weights, '-o', '/proc/x0_25.onnx']), '/proc/x0_25.onnx', /the folder does not take new files in \/proc; choose another output path/);
    refusedOutput(await runCli(['convert', weights, '-o', '/proc/self/missing/x0_25.onnx']), '/proc/self/missing/x0_25.onnx', /in \/proc\/self;/);
    const file = join(tmp.path, 'plain.txt');
    await writeFile(file, 'x');
    refusedOutput(await runCli(['convert', weights, '-o', join(file, 'x.onnx')]), join(file, 'x.onnx'), new RegExp(`${file.replace(/[.]/g, '\\.')} is a file`));
    const long = join(tmp.path, `${'n'.repeat(250)}.onnx`);
    refusedOutput(await runCli(['convert', weights, '-o', long]), long, /the file name is 255 bytes; a name can have at most 255, .* keep its name under \d+ bytes/);
    const longFolder = join(tmp.path, 'd'.repeat(300), 'x.onnx');
    refusedOutput(await runCli(['convert', weights, '-o', longFolder]), longFolder, /the folder name "d+\.\.\." is 300 bytes/);
    assert.deepEqual(await readdir(tmp.path), ['plain.txt'], 'no temp file or folder left behind');
  });

  test('convert -o into folders that do not exist yet makes them and writes the model', async () => {
    const out = join(tmp.path, 'new', 'deeper', 'x.onnx');
    const r = await runCli(['convert', weights, '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await readFile(out)).length > 100_000);
  });

  test('embed -o onto an unwritable path is refused before any image is embedded', async () => {
    const r = await runCli(['embed', '-m', FIXTURES.textlineModel, '--ep', 'cpu', '--threads', '1', '-o', '/proc/e.npy', join(ROOT, 'models/examples/textline_upright.png')]);
    refusedOutput(r, '/proc/e.npy', /in \/proc;/);
    assert.equal(r.stdout, '', 'no row was computed');
  });
});

describe('inspect of archives (CLI)', () => {
  const tmp = tempDir('inspect-archives', { before, after });
  let tar = '';
  before(async () => {
    const files = await Promise.all(['inference.json', 'inference.pdiparams', 'inference.yml'].map(async (f) => ({ name: `tl_infer/${f}`, data: new Uint8Array(await readFile(join(FIXTURES.textlineModel, f))) })));
    tar = join(tmp.path, 'tl_infer.tar');
    await writeFile(tar, makeTar(files));
  });

  test('a *_infer.tar is inspected as the inference model inside it', async () => {
    const r = await runCli(['inspect', tar, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    const folder = JSON.parse((await runCli(['inspect', FIXTURES.textlineModel, '--json'])).stdout);
    assert.deepEqual(j.architecture, folder.architecture);
    assert.equal(j.architecture.scale, 0.25);
    const text = await runCli(['inspect', tar]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /tl_infer\.tar:tl_infer\/inference\.json/);
  });

  test('a gzip file (a .tar.gz) is named as such, with how to unpack it, instead of a protobuf error', async () => {
    const gz = join(tmp.path, 'tl_infer.tar.gz');
    await writeFile(gz, gzipSync(await readFile(tar)));
    for (const cmd of ['inspect', 'convert']) {
      const r = await runCli([cmd, gz]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`${gz.replace(/[.]/g, '\\.')} is a gzip-compressed file, not a model; .*\\*_infer\\.tar archive.*unpack it first \\(tar xzf `));
      assert.doesNotMatch(r.stderr, /protobuf|wire type|field/i);
    }
    assert.ok(!existsSync(join(tmp.path, 'tl_infer.tar.onnx')));
  });
});
