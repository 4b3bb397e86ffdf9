/** predict: JSON rows for failures in input order, standard input, -o, PaddleClas spellings. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { link, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClassifier } from '../../src/index.js';
import { ROOT, runCli, tempDir } from '../helpers.js';

describe('pplcnet predict: JSON for failures, stdin, -o, PaddleClas spellings', () => {
  const tmp = tempDir('predict-io', { before, after });
  const up = join(ROOT, 'models/examples/textline_upright.png');
  const down = join(ROOT, 'models/examples/textline_upside_down.png');

  test('--json: every input has its row in command-line order, failures and skipped named inputs as {file, error}', async () => {
    const fifo = join(tmp.path, 'pipe.png');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const broken = join(tmp.path, 'broken.png');
    await writeFile(broken, 'not a png');
    const r = await runCli(['predict', '-m', 'textline', '--json', '-b', '2', fifo, up, broken, 'missing.jpg', down]);
    assert.equal(r.code, 1);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(rows.map((o) => o.file), [fifo, up, broken, 'missing.jpg', down]);
    assert.deepEqual(rows[0], { file: fifo, error: { code: 'E_IO', message: `skipped ${fifo}: a FIFO (named pipe), not a regular file; not read` } });
    assert.equal(rows[1].topk[0].label, '0_degree');
    assert.equal(rows[2].error.code, 'E_IMAGE');
    assert.match(rows[2].error.message, /broken\.png: cannot decode the image/);
    assert.deepEqual(Object.keys(rows[3]), ['file', 'error']);
    assert.match(rows[3].error.message, /missing\.jpg: no such file/);
    assert.equal(rows[4].topk[0].label, '180_degree');
    assert.match(r.stderr, /pplcnet: 4 images, 2 failed, [\d.]+ img\/s\n/);
  });

  test('- reads one image from standard input; the scores are those of the file', async () => {
    const bytes = await readFile(down);
    const r = await runCli(['predict', '-m', 'textline', '--json', '-'], { input: bytes });
    assert.equal(r.code, 0, r.stderr);
    const row = JSON.parse(r.stdout);
    assert.equal(row.file, '-');
    await using clf = await createClassifier({ model: 'textline', workers: 0 });
    const expected = await clf.classify(down);
    assert.deepEqual(row.topk, expected.topk.map((t) => ({ ...t })));
    const twice = await runCli(['predict', '-m', 'textline', '-', '-']);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /'-' \(standard input\) may be given once/);
  });

  test('-o writes the JSON rows (failures too) to a file atomically, with text on stdout; PaddleClas spellings work or say what to use', async () => {
    const out = join(tmp.path, 'results.jsonl');
    const r = await runCli(['predict', '-m', 'textline', '--infer_imgs', up, 'missing.png', '--batch_size', '1', '--cpu_num_threads', '1', '--topk', '2', '-o', out]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /textline_upright\.png\n\s+1\. 0_degree\s+1\.0000 {2}\(class 0\)\n\s+2\. 180_degree/);
    const rows = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(rows.map((o) => o.file), [up, 'missing.png']);
    assert.equal(rows[0].topk.length, 2);
    assert.equal(rows[0].timings.batchSize, 1);
    assert.equal(rows[1].error.code, 'E_IMAGE');
    assert.deepEqual((await readdir(tmp.path)).filter((f) => f.includes('.tmp.')), [], 'no temporary file left');
    for (const [flag, hint] of [
      ['--save_dir', /--save_dir: use -o results\.jsonl/],
    ] as const) {
      const h = await runCli(['predict', '-m', 'textline', flag, 'x', up]);
      assert.equal(h.code, 2, flag);
      assert.match(h.stderr, hint);
    }
    const both = await runCli(['predict', '-m', 'textline', '--batch_size', '2', '-b', '3', up]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give --batch-size or --batch_size, not both/);
  });

  test('a folder of 500 images runs in a child process with the large-folder malloc settings: the same rows, exit code and signals as in one process', async () => {
    const big = join(tmp.path, 'big');
    await mkdir(big);
    for (let i = 0; i < 500; i++) await link(i % 2 ? up : down, join(big, `${String(i).padStart(3, '0')}.png`));
    await writeFile(join(big, 'zz-broken.png'), 'not a png');
    const r = await runCli(['predict', '-m', 'textline', '--json', '--verbose', big]);
    assert.equal(r.code, 1, 'one image failed: exit 1, passed on from the child');
    assert.match(r.stderr, /pplcnet: a folder of 500 images or more: run in a child process with glibc malloc keeping freed memory \(MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=33554432;/);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(rows.length, 501);
    assert.equal(rows[500].error.code, 'E_IMAGE');
    await using clf = await createClassifier({ model: 'textline', workers: 0 });
    const [u, d] = [await clf.classify(up), await clf.classify(down)];
    for (const [i, row] of rows.slice(0, 500).entries()) {
      const want = i % 2 ? u : d;
      assert.deepEqual(row.topk.map((t: { classId: number; score: number }) => [t.classId, t.score]), want.topk.map((t) => [t.classId, t.score]), row.file);
    }
    const plain = await runCli(['predict', '-m', 'textline', '--json', '--verbose', big], { env: { PPLCNET_MALLOC: 'default' } });
    assert.doesNotMatch(plain.stderr, /child process/);
    assert.equal(plain.stdout.replace(/"timings":\{[^}]*\}/g, ''), r.stdout.replace(/"timings":\{[^}]*\}/g, ''), 'the same rows in one process');
    // SIGTERM to the CLI reaches the child: both end, the CLI by the same signal
    const child = spawn(process.execPath, [join(ROOT, 'bin/pplcnet.js'), 'predict', '-m', 'textline', '--json', big], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PPLCNET_HOME: join(tmp.path, 'home') } });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.kill('SIGTERM');
    const ended = await new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_code, signal) => resolve(signal)));
    assert.equal(ended, 'SIGTERM');
    const left = (await readdir('/proc')).filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(big);
      } catch {
        return false;
      }
    });
    assert.deepEqual(left, [], 'no process left on the folder');
  });

  test("node's V8 options (`node --max-old-space-size=… pplcnet predict folder/`) do not stop the preprocessing workers", async () => {
    const folder = join(tmp.path, 'v8-flags');
    await mkdir(folder);
    for (let i = 0; i < 12; i++) await link(i % 2 ? up : down, join(folder, `${i}.png`));
    const r = spawnSync(process.execPath, ['--max-old-space-size=2048', join(ROOT, 'bin/pplcnet.js'), 'predict', '-m', 'textline', '--json', '--workers', '1', '-b', '4', folder], { encoding: 'utf8', env: { ...process.env, PPLCNET_HOME: join(tmp.path, 'home') } });
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(rows.length, 12);
    assert.deepEqual(rows.map((row) => row.topk[0].label), Array.from({ length: 12 }, (_, i) => (i % 2 ? '0_degree' : '180_degree')));
  });
});

