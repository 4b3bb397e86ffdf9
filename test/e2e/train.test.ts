/**
 * `split`, `train` and `eval` through the real CLI on a folder of the font fixture's images with a broken
 * image among them: split's lists, train's progress lines and JSON summary, the model `predict` then uses
 * with no flag, eval's metrics (recomputed here from its own JSON rows) with the broken image as a counted
 * error row (exit 1), and the `--report` page: its confusion cells hold the JSON's counts, and it renders in
 * headless Chromium with JavaScript off, requesting nothing but itself.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import puppeteer from 'puppeteer-core';
import { FIXTURES } from '../fixtures/index.js';
import { runCli, tempDir } from '../helpers.js';
import { assertBalanced, attr, elements, svgs } from '../report-html.js';
import { chromiumPath, needChromium } from '../services.js';

describe('split, train and eval (CLI)', { timeout: 600_000 }, () => {
  const tmp = tempDir('train-cli', { before, after });
  let data = '';
  let model = '';
  let report = '';
  const env = (): NodeJS.ProcessEnv => ({ PPLCNET_HOME: join(tmp.path, 'home'), PPLCNET_OFFLINE: '1' });

  before(async () => {
    data = join(tmp.path, 'pandatiger');
    for (const [cls, from] of [['panda', 'sans'], ['tiger', 'script']] as const) {
      await mkdir(join(data, cls), { recursive: true });
      for (let i = 0; i < 20; i++) await cp(join(FIXTURES.fonts, from, `${String(i).padStart(3, '0')}.png`), join(data, cls, `${i}.png`));
    }
  });

  test('split writes PaddleX lists; the JSON says what went where', async () => {
    const r = await runCli(['split', data, '--val', '0.2', '--test', '0.2', '--seed', '5', '--json'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual(j.labels, ['panda', 'tiger']);
    assert.deepEqual(j.perClass, [[12, 4, 4], [12, 4, 4]]);
    const test = (await readFile(join(data, 'test_list.txt'), 'utf8')).trim().split('\n');
    assert.equal(test.length, 8);
    const bad = await runCli(['split', data, '--val', '0.7', '--test', '0.4'], { env: env() });
    assert.equal(bad.code, 2, 'a bad fraction is a usage error');
    // a folder that is not there: named, with what to give, exit 1
    const missing = join(tmp.path, 'no-such-dataset');
    const none = await runCli(['split', missing], { env: env() });
    assert.equal(none.code, 1, none.stderr);
    assert.equal(none.stderr, `pplcnet: error: ${missing}: no such folder; give a folder of class folders (one sub-folder of images per class)\n`);
  });

  test('train: progress per epoch, a summary, the model predict uses without a flag', async () => {
    // a broken image in the test list only (train never reads it)
    await writeFile(join(data, 'tiger', 'broken.png'), 'not an image');
    await writeFile(join(data, 'test_list.txt'), `${await readFile(join(data, 'test_list.txt'), 'utf8')}tiger/broken.png 1\n`);
    model = join(tmp.path, 'pandatiger.onnx');
    const r = await runCli(['train', '-m', 'PP-LCNet_x0_25_textline_ori', '--data', data, '-o', model, '--epochs', '30'], { env: env() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^epoch {3}1 {2}loss \d\.\d{4} {2}train [\d.]+% {2}val loss/m);
    // stderr is not a terminal here: the first epoch, every 10th and the last get a line
    assert.deepEqual([...r.stderr.matchAll(/^epoch +(\d+) /gm)].map((m) => Number(m[1])), [1, 10, 20, 30]);
    assert.match(r.stdout, /dataset: .*pandatiger \(split\), 2 classes, 24 train \/ 8 val images; validation: .*val_list\.txt/);
    assert.match(r.stdout, /wrote .*pandatiger\.onnx/);
    const again = await runCli(['train', '-m', 'PP-LCNet_x0_25_textline_ori', '--data', data, '-o', model, '--epochs', '30', '--json'], { env: env() });
    assert.equal(again.code, 1, 'never replaced without --force');
    assert.match(again.stderr, /already exists/);
    const forced = await runCli(['train', '-m', 'PP-LCNet_x0_25_textline_ori', '--data', data, '-o', model, '--epochs', '30', '--json', '--force'], { env: env() });
    assert.equal(forced.code, 0, forced.stderr);
    const j = JSON.parse(forced.stdout);
    assert.equal(j.features.train.computed, 0, 'the second run reads the cache');
    assert.equal(j.head.epochs.length, 30);
    const p = await runCli(['predict', '-m', model, '--json', join(data, 'panda', '0.png')], { env: env() });
    assert.equal(p.code, 0, p.stderr);
    const row = JSON.parse(p.stdout);
    assert.ok(['panda', 'tiger'].includes(row.topk[0].label));
  });

  test('train --train last-conv on a backbone without a last conv: the error names the model as given', async () => {
    const r = await runCli(['train', '-m', 'textline', '--data', data, '-o', join(tmp.path, 'lc.onnx'), '--train', 'last-conv'], { env: env() });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^pplcnet: error: textline: this backbone has no last conv .*; use --train head\n$/);
  });

  test('eval: metrics from its own rows, the broken image an error row, and the report page', async () => {
    report = join(tmp.path, 'eval.html');
    const r = await runCli(['eval', '-m', model, '--data', join(data, 'test_list.txt'), '--json', '--report', report], { env: env() });
    assert.equal(r.code, 1, 'a failed image: exit 1');
    assert.match(r.stderr, /1 of 9 image\(s\) failed/);
    const j = JSON.parse(r.stdout);
    assert.equal(j.failed, 1);
    const errors = j.rows.filter((x: { error?: unknown }) => x.error);
    assert.equal(errors.length, 1);
    assert.match(errors[0].file, /broken\.png$/);
    assert.equal(errors[0].error.code, 'E_IMAGE');
    const ok = j.rows.filter((x: { error?: unknown }) => !x.error) as { truth: string; predicted: string; correct: boolean }[];
    const confusion = [[0, 0], [0, 0]];
    for (const x of ok) confusion[j.labels.indexOf(x.truth)]![j.labels.indexOf(x.predicted)]!++;
    assert.deepEqual(j.single.confusion, confusion);
    assert.equal(j.single.top1, ok.filter((x) => x.correct).length / ok.length);
    const html = await readFile(report, 'utf8');
    assertBalanced(html);
    assert.doesNotMatch(html, /<script|https?:\/\//i);
    const [matrix] = svgs(html);
    const cells = elements(matrix!, 'rect', 'cell').map((c) => attr(c, 'data-value'));
    assert.deepEqual(cells, confusion.flat());
    const thumbs = elements(html, 'figure', 'thumb');
    assert.equal(thumbs.length, 8, 'every scored image is among the worst 24');
    assert.equal(elements(html, 'img').length, 8);
    assert.ok(html.includes('broken.png'), 'the failed image is listed');
  });

  test('the report renders in headless Chromium with JavaScript off, requesting only itself', async (t) => {
    if (!needChromium(t)) return;
    const browser = await puppeteer.launch({ executablePath: chromiumPath()!, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      const page = await browser.newPage();
      await page.setJavaScriptEnabled(false);
      await page.setViewport({ width: 1000, height: 900 });
      const url = pathToFileURL(report).href;
      const requests: string[] = [];
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warn') problems.push(m.text());
      });
      page.on('request', (req) => requests.push(req.url()));
      await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
      const boxes = await Promise.all((await page.$$('svg')).map((el) => el.boundingBox()));
      assert.equal(boxes.length, 2, 'the confusion matrix and the per-class bars');
      for (const b of boxes) assert.ok(b && b.width > 100 && b.height > 60, JSON.stringify(b));
      const loaded = await page.$$eval('img', (imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth));
      assert.equal(loaded.length, 8);
      for (const w of loaded) assert.ok(w > 0, 'each thumbnail decodes (data: images are allowed by the page policy)');
      assert.deepEqual(requests.filter((u) => !u.startsWith('data:')), [url]);
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  });
});
