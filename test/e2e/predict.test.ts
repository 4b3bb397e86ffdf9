import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURES } from '../fixtures/index.js';
import { ROOT, runCli } from '../helpers.js';

describe('pplcnet predict (CLI)', () => {
  let home = '';
  let env: NodeJS.ProcessEnv = {};
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'pplcnet-home-'));
    env = { PPLCNET_HOME: home };
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  test('the README quick start: the shipped model on the shipped examples', async () => {
    const r = await runCli(['predict', '--model', 'PP-LCNet_x0_25_textline_ori', 'models/examples/'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /models\/examples\/textline_upright\.png\n\s+1\. 0_degree\s+1\.0000 {2}\(class 0\)/);
    assert.match(r.stdout, /models\/examples\/textline_upside_down\.png\n\s+1\. 180_degree\s+1\.0000 {2}\(class 1\)/);
    assert.doesNotMatch(r.stderr, /execution provider/, 'the provider is said only with --verbose');
    assert.match(r.stderr, /^pplcnet: 2 images, 0 failed, [\d.]+ img\/s\n$/);
  });

  test('--verbose says which execution provider runs and what was planned; -q says nothing at all', async () => {
    const img = 'models/examples/textline_upright.png';
    const verbose = await runCli(['predict', '-m', 'textline', '--verbose', img], { env });
    assert.equal(verbose.code, 0, verbose.stderr);
    assert.match(verbose.stderr, /pplcnet: execution provider: (cpu|oneDNN)/);
    // and the threads, workers and batch size planned from the core count
    assert.match(verbose.stderr, /pplcnet: \d+ cores?: \d+ intra-op thread\(s\), \d+ preprocessing worker\(s\), batch \d+/);
    const quiet = await runCli(['predict', '-m', 'textline', '-q', '--verbose', img], { env });
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '');
    assert.match(quiet.stdout, /1\. 0_degree/);
  });

  test('--json: one object per image with file, model, topk and timings; a folder and a glob', async () => {
    const r = await runCli(['predict', '-m', 'textline', '--json', '-k', '2', '-b', '3', '--ep', 'cpu', '--threads', '1', `${FIXTURES.textlines}/0*_up.png`], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^pplcnet: 10 images, 0 failed, [\d.]+ img\/s\n$/, 'only the summary');
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 10);
    for (const o of lines) {
      assert.deepEqual(Object.keys(o), ['file', 'model', 'topk', 'timings']);
      assert.equal(o.model, 'PP-LCNet_x0_25_textline_ori');
      assert.equal(o.topk.length, 2);
      assert.deepEqual(Object.keys(o.topk[0]), ['classId', 'label', 'score']);
      assert.equal(o.topk[0].label, '0_degree');
      assert.ok(o.topk[0].score > o.topk[1].score);
      assert.deepEqual(Object.keys(o.timings), ['decodeMs', 'preprocessMs', 'queueMs', 'batchInferenceMs', 'batchSize']);
      assert.ok(o.timings.batchSize <= 3);
    }
  });

  test('a bad image is reported on stderr, the rest still run, and the exit code says so', async () => {
    const r = await runCli(['predict', '-m', 'textline', '--ep', 'cpu', 'models/examples/textline_upright.png', 'missing.jpg', 'package.json'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /textline_upright\.png\n\s+1\. 0_degree/);
    assert.match(r.stderr, /pplcnet: error: missing\.jpg: no such file/);
    assert.match(r.stderr, /pplcnet: error: package\.json: cannot decode the image/);
    assert.match(r.stderr, /pplcnet: 3 images, 2 failed, [\d.]+ img\/s\n/);
  });

  test('a FIFO named like an image is skipped, not opened: the images around it are classified, exit 1', { timeout: 120_000 }, async () => {
    const fifo = join(home, 'waiting.png');
    const made = spawnSync('mkfifo', [fifo]);
    assert.equal(made.status, 0, String(made.stderr));
    const r = await runCli(['predict', '-m', 'textline', '--ep', 'cpu', 'models/examples/textline_upright.png', fifo, 'models/examples/textline_upside_down.png'], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /textline_upright\.png\n\s+1\. 0_degree/);
    assert.match(r.stdout, /textline_upside_down\.png\n\s+1\. 180_degree/);
    assert.ok(r.stderr.includes(`pplcnet: skipped ${fifo}: a FIFO (named pipe), not a regular file; not read`), r.stderr);
    assert.match(r.stderr, /1 input\(s\) named on the command line skipped/);
  });

  test('a folder: linked images are classified; FIFOs, loops, image bombs and SVG are reported and the rest still run', { timeout: 120_000 }, async () => {
    const dir = join(home, 'scans');
    await mkdir(join(dir, 'sub'), { recursive: true });
    await copyFile(resolve(ROOT, 'models/examples/textline_upright.png'), join(dir, 'a_upright.png'));
    await symlink(resolve(ROOT, 'models/examples/textline_upside_down.png'), join(dir, 'b_linked.png'));
    await symlink('..', join(dir, 'sub', 'loop'));
    assert.equal(spawnSync('mkfifo', [join(dir, 'c_pipe.jpg')]).status, 0);
    const bomb = new Uint8Array(74); // 37000x37000 at 0 bits per pixel
    const dv = new DataView(bomb.buffer);
    bomb.set([0x42, 0x4d]);
    dv.setUint32(10, 54, true);
    dv.setUint32(14, 40, true);
    dv.setInt32(18, 37000, true);
    dv.setInt32(22, 37000, true);
    dv.setUint16(26, 1, true);
    await writeFile(join(dir, 'd_bomb.bmp'), bomb);
    await writeFile(join(dir, 'e_drawing.png'), '<svg xmlns="http://www.w3.org/2000/svg" width="9000" height="9000"/>');
    const r = await runCli(['predict', '-m', 'textline', '--ep', 'cpu', '--json', dir], { env });
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    // every image the folder gave has its row, in order; what the folder skipped is only reported
    assert.deepEqual(
      lines.map((o) => [o.file.slice(dir.length + 1), o.topk?.[0].label ?? o.error.code]),
      [['a_upright.png', '0_degree'], ['b_linked.png', '180_degree'], ['d_bomb.bmp', 'E_IMAGE'], ['e_drawing.png', 'E_IMAGE']],
    );
    assert.ok(r.stderr.includes(`pplcnet: skipped ${join(dir, 'c_pipe.jpg')}: a FIFO`), r.stderr);
    assert.ok(r.stderr.includes(`pplcnet: skipped ${join(dir, 'sub', 'loop')}: a symbolic link loop`), r.stderr);
    assert.match(r.stderr, /d_bomb\.bmp: BMP with 0 bits per pixel/);
    assert.match(r.stderr, /e_drawing\.png: cannot decode the image: it is SVG/);
    assert.match(r.stderr, /pplcnet: 4 images, 2 failed, [\d.]+ img\/s\n/);
    assert.doesNotMatch(r.stderr, /named on the command line skipped/);
  });

  test('no model, a missing provider, unknown flags: clear errors and non-zero exits', async () => {
    const none = await runCli(['predict', 'models/examples/'], { env: { ...env, PPLCNET_MODEL: '' } });
    assert.equal(none.code, 2, 'a missing model is a command-line error');
    assert.match(none.stderr, /no model given: pass --model NAME\|PATH/);
    const dnnl = await runCli(['predict', '-m', 'textline', '--ep', 'nosuchep', 'models/examples/'], { env });
    assert.equal(dnnl.code, 1);
    assert.match(dnnl.stderr, /execution provider 'nosuchep' is not available/);
    const opt = await runCli(['predict', '-m', 'textline', '--graph-opt', 'max', 'models/examples/'], { env });
    assert.equal(opt.code, 2);
    assert.match(opt.stderr, /Allowed choices are disabled, basic, extended, all/);
  });
});
