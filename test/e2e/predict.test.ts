import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURES } from '../fixtures/index.js';
import { runCli } from '../helpers.js';

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
    assert.match(r.stderr, /execution provider: (cpu|oneDNN)/);
  });

  test('--json: one object per image with file, model, topk and timings; a folder and a glob', async () => {
    const r = await runCli(['predict', '-m', 'textline', '--json', '-k', '2', '-b', '3', '--ep', 'cpu', '--threads', '1', `${FIXTURES.textlines}/0*_up.png`], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'an explicit --ep cpu says nothing');
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 10);
    for (const o of lines) {
      assert.deepEqual(Object.keys(o), ['file', 'model', 'topk', 'timings']);
      assert.equal(o.model, 'PP-LCNet_x0_25_textline_ori');
      assert.equal(o.topk.length, 2);
      assert.deepEqual(Object.keys(o.topk[0]), ['classId', 'label', 'score']);
      assert.equal(o.topk[0].label, '0_degree');
      assert.ok(o.topk[0].score > o.topk[1].score);
      assert.deepEqual(Object.keys(o.timings), ['decodeMs', 'preprocessMs', 'inferenceMs', 'batchSize']);
      assert.ok(o.timings.batchSize <= 3);
    }
  });

  test('a bad image is reported on stderr, the rest still run, and the exit code says so', async () => {
    const r = await runCli(['predict', '-m', 'textline', '--ep', 'cpu', 'models/examples/textline_upright.png', 'missing.jpg', 'package.json'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /textline_upright\.png\n\s+1\. 0_degree/);
    assert.match(r.stderr, /pplcnet: error: missing\.jpg: no such file/);
    assert.match(r.stderr, /pplcnet: error: package\.json: cannot decode the image/);
    assert.match(r.stderr, /2 of 3 image\(s\) failed/);
  });

  test('no model, a missing provider, unknown flags: clear errors and non-zero exits', async () => {
    const none = await runCli(['predict', 'models/examples/'], { env: { ...env, PPLCNET_MODEL: '' } });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no model given: pass --model NAME\|PATH/);
    const dnnl = await runCli(['predict', '-m', 'textline', '--ep', 'nosuchep', 'models/examples/'], { env });
    assert.equal(dnnl.code, 1);
    assert.match(dnnl.stderr, /execution provider 'nosuchep' is not available/);
    const opt = await runCli(['predict', '-m', 'textline', '--graph-opt', 'max', 'models/examples/'], { env });
    assert.equal(opt.code, 2);
    assert.match(opt.stderr, /Allowed choices are disabled, basic, extended, all/);
  });
});
