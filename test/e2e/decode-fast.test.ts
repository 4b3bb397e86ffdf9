/** `--decode <exact|fast>` on the command line: predict, serve and worker take it; a bad value is exit 2. */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { FIXTURES } from '../fixtures/index.js';
import { runCli, tempDir } from '../helpers.js';

describe('--decode (CLI)', () => {
  const dir = tempDir('decode-cli', { before, after });
  let big = '';
  let png = '';
  before(async () => {
    const line = await readFile(join(FIXTURES.textlines, '02_down.png'));
    big = join(dir.path, 'line-scan.jpg');
    png = join(dir.path, 'line.png');
    await writeFile(big, await sharp(line).resize({ width: 3600, kernel: 'cubic' }).jpeg({ quality: 90 }).toBuffer());
    await writeFile(png, line);
  });

  test('a bad value: exit 2, naming the allowed values, for predict, serve and worker', async () => {
    for (const args of [['predict', '-m', 'textline', '--decode', 'quick', 'x.jpg'], ['serve', '-m', 'textline', '--decode', 'quick'], ['worker', '--queue', 'q', '--decode', 'quick']]) {
      const r = await runCli(args, { env: { PPLCNET_HOME: dir.path } });
      assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /--decode <mode>' argument 'quick' is invalid\. Allowed choices are exact, fast/, args[0]);
    }
    const help = await runCli(['predict', '--help']);
    assert.match(help.stdout, /--decode <mode>\s+exact: every pixel, Paddle-exact; fast: not\s+Paddle-exact/);
  });

  test('predict --decode fast: a notice with --verbose, the PNG as exact, the large JPEG keeps its top-1', async () => {
    const env = { PPLCNET_HOME: dir.path };
    const run = async (mode: string): Promise<{ rows: { file: string; topk: { classId: number; score: number }[] }[]; stderr: string }> => {
      const r = await runCli(['predict', '-m', 'textline', '--json', '-k', '2', '--verbose', '--ep', 'cpu', '--decode', mode, big, png], { env });
      assert.equal(r.code, 0, r.stderr);
      return { rows: r.stdout.trim().split('\n').map((l) => JSON.parse(l)), stderr: r.stderr };
    };
    const exact = await run('exact');
    const fast = await run('fast');
    assert.doesNotMatch(exact.stderr, /decode fast/);
    assert.match(fast.stderr, /pplcnet: --decode fast: JPEGs over 5x the model input are decoded at reduced scale \(shrink-on-load\); scores are not Paddle-exact/);
    assert.deepEqual(fast.rows[1]!.topk, exact.rows[1]!.topk, 'a PNG is decoded exactly either way');
    assert.equal(fast.rows[0]!.topk[0]!.classId, exact.rows[0]!.topk[0]!.classId);
    assert.notDeepEqual(fast.rows[0]!.topk.map((t) => t.score), exact.rows[0]!.topk.map((t) => t.score), 'the large JPEG was decoded at reduced scale');
  });
});
