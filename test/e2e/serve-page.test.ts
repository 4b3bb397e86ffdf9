/**
 * The page at `/` in a real browser: headless Chromium (the system's, no download) driven by puppeteer-core.
 * A fixture image goes through the page's file input; the label and score shown must equal the API's answer.
 * The screenshot is saved under test-artifacts/ (gitignored).
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import puppeteer, { type Browser } from 'puppeteer-core';
import type { Classifier } from '../../src/classifier.js';
import { type ServeApp, createServeApp } from '../../src/serve/app.js';
import { FIXTURES } from '../fixtures/index.js';
import { ROOT } from '../helpers.js';
import { chromiumPath, needChromium } from '../services.js';
import { MODEL, textlineClassifier } from '../unit/serve/common.js';

describe('the page at / in headless Chromium', () => {
  let cache = '';
  let clf: Classifier | undefined;
  let served: ServeApp | undefined;
  let browser: Browser | undefined;
  let base = '';

  before(async () => {
    if (!chromiumPath()) return;
    cache = await mkdtemp(join(tmpdir(), 'pplcnet-serve-page-'));
    clf = await textlineClassifier(cache);
    served = await createServeApp([{ name: MODEL, classifier: clf }], { processMetrics: false });
    await served.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(served.app.server.address() as { port: number }).port}/`;
  });
  after(async () => {
    await browser?.close();
    await served?.close();
    await clf?.close();
    if (cache) await rm(cache, { recursive: true, force: true });
  });

  test('upload a fixture through the file input: the label and score shown equal the API answer; 360 px wide', async (t) => {
    if (!needChromium(t)) return;
    browser = await puppeteer.launch({ executablePath: chromiumPath()!, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    const page = await browser.newPage();
    await page.setViewport({ width: 360, height: 740, deviceScaleFactor: 1 });
    const failures: string[] = [];
    page.on('pageerror', (e) => failures.push(String(e)));
    await page.goto(base, { waitUntil: 'load', timeout: 20_000 });
    await page.waitForSelector('body[data-ready="1"]', { timeout: 20_000 });
    assert.equal(await page.$eval('#model', (s) => (s as unknown as { value: string }).value), MODEL);
    await page.$eval('#topk', (i) => {
      (i as unknown as { value: string }).value = '2';
    });

    const file = join(FIXTURES.textlines, '04_down.png');
    const input = await page.$('#file');
    await (input as unknown as { uploadFile(...paths: string[]): Promise<void> }).uploadFile(file);
    await page.waitForSelector('li.result[data-state="done"], li.result[data-state="error"]', { timeout: 30_000 });
    const shown = await page.$$eval('li.result .row', (rows) =>
      rows.map((r) => ({ label: r.querySelector('.label')!.textContent, score: r.querySelector('.score')!.textContent, exact: Number((r as unknown as { dataset: { score: string } }).dataset.score) })),
    );
    const fileShown = await page.$eval('li.result .file', (e) => e.textContent);

    const res = await fetch(`${base}v1/models/${MODEL}/classify?topk=2`, { method: 'POST', body: await readFile(file), headers: { 'content-type': 'image/png' } });
    const api = ((await res.json()) as { results: { topk: { label: string; score: number }[] }[] }).results[0]!.topk;
    assert.equal(fileShown, '04_down.png');
    assert.equal(shown.length, 2);
    assert.deepEqual(
      shown.map((s) => [s.label, s.score, s.exact]),
      api.map((a) => [a.label, a.score.toFixed(4), a.score]),
    );
    assert.equal(shown[0]!.label, '180_degree');
    // readable at 360 px: nothing wider than the viewport
    const overflow = (await page.evaluate('document.documentElement.scrollWidth')) as number;
    assert.ok(overflow <= 360, `the page is ${overflow} px wide at a 360 px viewport`);
    assert.deepEqual(failures, []);

    const dir = join(ROOT, 'test-artifacts');
    await mkdir(dir, { recursive: true });
    await page.screenshot({ path: join(dir, 'serve-page.png') as `${string}.png`, fullPage: true });
  });
});
