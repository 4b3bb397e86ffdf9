/**
 * Every file a user or an environment variable names is read with a bound, through the CLI: sparse files
 * (truncate: no disk used), FIFOs (mkfifo) and /dev/zero are refused with exit 1 and a message naming the
 * file, the limit and what to do; nothing blocks. Bytes after a PNG's end are ignored and said.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CliRun, ROOT, childOutput, runCli, tempDir } from '../helpers.js';

/** The CLI with standard input from `stdinPath` (e.g. /dev/zero), killed after `timeoutMs` (a blocked run fails its test). */
function runWithStdin(args: readonly string[], stdinPath: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<CliRun> {
  const fd = openSync(stdinPath, 'r');
  try {
    const child = spawn(process.execPath, [`${ROOT}bin/pplcnet.js`, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: [fd, 'pipe', 'pipe'] });
    return childOutput(child, timeoutMs);
  } finally {
    closeSync(fd);
  }
}

const hasFifo = (path: string): boolean => spawnSync('mkfifo', [path]).status === 0;

describe('named files are read with a bound (CLI)', () => {
  const tmp = tempDir('bounded-cli', { before, after });
  const upright = join(ROOT, 'models/examples/textline_upright.png');
  // a cache of its own, as runCli gives
  const run = (args: readonly string[], stdinPath: string, env: NodeJS.ProcessEnv = {}, timeoutMs?: number): Promise<CliRun> =>
    runWithStdin(args, stdinPath, { PPLCNET_HOME: join(tmp.path, 'home'), ...env }, timeoutMs);

  test('predict: a 1.9 GB sparse PNG is refused (exit 1) from its header and size', async () => {
    const png = join(tmp.path, 'big.png');
    await writeFile(png, await readFile(upright));
    await truncate(png, 1_900_000_000);
    const r = await runCli(['predict', '-m', 'textline', '--json', png]);
    assert.equal(r.code, 1, r.stderr);
    const row = JSON.parse(r.stdout);
    assert.equal(row.error.code, 'E_IMAGE');
    assert.match(row.error.message, /big\.png: 1900000000 bytes \(1\.90 GB\), more than a 254x43 PNG image can take \(\d+ bytes: its samples uncompressed plus 64 MiB of metadata\); not read/);
  });

  test('inspect and predict -m: a 1.9 GB sparse .onnx is refused (exit 1), naming the 54.3 MB limit', async () => {
    const onnx = join(tmp.path, 'sparse.onnx');
    await writeFile(onnx, Buffer.from([0x08, 0x07, 0x12, 0x07]));
    await truncate(onnx, 1_900_000_000);
    const message = /sparse\.onnx: 1900000000 bytes \(1\.90 GB\), more than the 54269520 bytes \(54\.3 MB\) pplcnet reads of an ONNX model; not read\. pplcnet runs PP-LCNet models, and the largest PP-LCNet \(x2\.5, 1000 classes\) takes 36\.2 MB/;
    const inspected = await runCli(['inspect', onnx]);
    assert.equal(inspected.code, 1, inspected.stderr);
    assert.match(inspected.stderr, message);
    const predicted = await runCli(['predict', '-m', onnx, upright]);
    assert.equal(predicted.code, 1, predicted.stderr);
    assert.match(predicted.stderr, message);
  });

  test('--labels, --list and convert: a FIFO is refused at once (exit 1), never waited on', async (t) => {
    const fifo = join(tmp.path, 'labels.fifo');
    if (!hasFifo(fifo)) return t.skip('no mkfifo here');
    const labels = await run(['predict', '-m', 'textline', '--labels', fifo, upright], '/dev/null', {}, 30_000);
    assert.equal(labels.signal, null, 'killed: it waited on the FIFO');
    assert.equal(labels.code, 1, labels.stderr);
    assert.match(labels.stderr, /labels\.fifo: is a FIFO \(named pipe\), not a regular file; pplcnet reads a label file from a regular file only/);
    const list = await run(['queue', 'add', '-m', 'textline', '--queue', 'q', '--redis', 'redis://127.0.0.1:1', '--list', fifo], '/dev/null', {}, 30_000);
    assert.equal(list.code, 1, list.stderr);
    assert.match(list.stderr, /--list .*labels\.fifo: is a FIFO/);
    const weights = join(tmp.path, 'w.pdparams');
    assert.ok(hasFifo(weights));
    const converted = await run(['convert', weights, '-o', join(tmp.path, 'w.onnx')], '/dev/null', {}, 30_000);
    assert.equal(converted.code, 1, converted.stderr);
    assert.match(converted.stderr, /w\.pdparams: is a FIFO/);
  });

  test('queue add --list - from /dev/zero stops at 64 MiB with exit 1 (no RangeError)', async (t) => {
    if (!existsSync('/dev/zero')) return t.skip('no /dev/zero here');
    const r = await run(['queue', 'add', '-m', 'textline', '--queue', 'q', '--redis', 'redis://127.0.0.1:1', '--list', '-'], '/dev/zero');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^pplcnet: error: --list - \(standard input\): more than 67108864 bytes \(67\.1 MB\), the most pplcnet reads of an image list; stopped reading\. Split the list/m);
    assert.doesNotMatch(r.stderr, /RangeError|\n\s+at /);
  });

  test('predict - from /dev/zero stops at 256 MiB with exit 1', async (t) => {
    if (!existsSync('/dev/zero')) return t.skip('no /dev/zero here');
    const r = await run(['predict', '-m', 'textline', '-'], '/dev/zero');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /standard input: more than 268435456 bytes \(268\.4 MB\), the most pplcnet reads of an image from standard input; stopped reading/);
  });

  test('PPLCNET_REGISTRY=/dev/zero is refused (exit 1), not read', async (t) => {
    if (!existsSync('/dev/zero')) return t.skip('no /dev/zero here');
    const r = await run(['predict', '-m', 'some-model', upright], '/dev/null', { PPLCNET_REGISTRY: '/dev/zero' });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /PPLCNET_REGISTRY=\/dev\/zero: is a character device, not a regular file; pplcnet reads a model registry \(PPLCNET_REGISTRY\) from a regular file only/);
  });

  test('bytes after a PNG ends: the scores of the clean file, and a warning on stderr and in the row', async () => {
    const file = join(tmp.path, 'trailing.png');
    const clean = await readFile(upright);
    await writeFile(file, Buffer.concat([clean, Buffer.from('appended by another tool')]));
    const [r, ref] = await Promise.all([runCli(['predict', '-m', 'textline', '--json', file]), runCli(['predict', '-m', 'textline', '--json', upright])]);
    assert.equal(r.code, 0, r.stderr);
    const warning = `${file}: 24 bytes after the end of the PNG image (byte ${clean.length}) ignored, as OpenCV's imread ignores them`;
    assert.match(r.stderr, new RegExp(`pplcnet: warning: ${warning.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\n`));
    const row = JSON.parse(r.stdout);
    assert.deepEqual(row.warnings, [warning]);
    assert.deepEqual(row.topk, JSON.parse(ref.stdout).topk);
  });
});
