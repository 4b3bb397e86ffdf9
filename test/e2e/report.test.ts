/**
 * `bench --report` and `compare --report` from the command line, on the shipped text-line model and a folder
 * holding a file whose path spells a script tag; then both pages in headless Chromium (the system's, driven
 * by puppeteer-core) with JavaScript disabled: the charts have a size, nothing but the file itself is
 * requested, no console error, and a screenshot of each (saved under test-artifacts/, gitignored) decodes to
 * the viewport's size and is not one colour.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, test } from 'node:test';
import puppeteer from 'puppeteer-core';
import sharp from 'sharp';
import { buildPPLCNet, convertInferenceModel, countMultiplyAdds, escapeHtml, parseMetadata, peakImagesPerSec, resolveArchitecture } from '../../src/index.js';
import { readMetadataProps } from '../../src/onnx/metadata-props.js';
import { FIXTURES } from '../fixtures/index.js';
import { ROOT, runCli, tempDir } from '../helpers.js';
import { assertBalanced, attr, elements, svgs, tickScale } from '../report-html.js';
import { chromiumPath, needChromium } from '../services.js';

/** A folder `<script>alert(1)<` holding `script>.png`: the path reads `<script>alert(1)</script>.png`. */
const EVIL = '<script>alert(1)</script>.png';

describe('bench --report and compare --report (CLI), and the pages in headless Chromium', { timeout: 240_000 }, () => {
  const tmp = tempDir('report', { before, after });
  let textline = '';
  let other = '';
  let images = '';
  let files: string[] = [];
  const pages: { bench?: string; compare?: string } = {};

  before(async () => {
    textline = join(tmp.path, 'textline.onnx');
    const bytes = (await convertInferenceModel(FIXTURES.textlineModel)).bytes;
    await writeFile(textline, bytes);
    other = join(tmp.path, 'other.onnx');
    await writeFile(other, buildPPLCNet({ scale: 0.25, classNum: 2 }, { inputSize: [80, 160], seed: 5, description: { name: 'other', labels: ['up', 'down'], trained: false } }).bytes);
    images = join(tmp.path, 'images');
    await mkdir(join(images, '<script>alert(1)<'), { recursive: true });
    files = [join(images, '<script>alert(1)<', 'script>.png'), join(images, 'a_up.png'), join(images, 'b_down.png')];
    await cp(join(FIXTURES.textlines, '00_down.png'), files[0]!);
    await cp(join(FIXTURES.textlines, '01_up.png'), files[1]!);
    await cp(join(FIXTURES.textlines, '02_down.png'), files[2]!);
    assert.ok(files[0]!.endsWith(EVIL));
  });

  test('bench --images --report: the folder run in the table, the JSON and the page, with the peak line at its images/s', async () => {
    const out = join(tmp.path, 'bench.html');
    const r = await runCli(['bench', '-m', textline, '--threads', '1', '--batch', '1,2', '--runs', '2', '--warmup', '1', '--images', images, '--report', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /pplcnet: wrote .*bench\.html/);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 3, r.stdout);
    const [b1, b2, folderLine] = lines;
    assert.deepEqual([b1.batch, b2.batch], [1, 2]);
    const folder = folderLine.folder;
    assert.equal(folder.images, 3);
    assert.deepEqual(folder.failed, []);
    assert.equal(folder.plan.threads, 1, '--threads 1 reaches the folder run');
    for (const stage of ['decode', 'preprocess', 'queue', 'inference']) assert.ok(folder.stages[stage].p95 >= folder.stages[stage].p50 && folder.stages[stage].total >= 0, stage);
    assert.ok(folder.stages.decode.mean > 0 && folder.stages.inference.mean > 0);
    assert.ok(Math.abs(folder.imagesPerSec - (1000 * 3) / folder.wallMs) < 1e-6);

    const html = await readFile(out, 'utf8');
    pages.bench = out;
    assertBalanced(html);
    assert.doesNotMatch(html, /<script|https?:\/\//i);
    assert.ok(html.includes(escapeHtml(files[0]!)), 'the path is shown escaped');
    const [latency, throughput, totals, perImage] = svgs(html);
    // the latency points are the measured p50s
    assert.deepEqual(elements(latency!, 'circle', 'point').map((c) => attr(c, 'data-value')), [b1.p50Ms, b2.p50Ms]);
    // the peak line: the measured peak ÷ the model's GFLOP per image, where the axis puts that value
    const meta = parseMetadata(readMetadataProps(await readFile(textline)));
    const macs = countMultiplyAdds(resolveArchitecture(meta.architecture!), meta.inputSize!);
    const ceiling = peakImagesPerSec(b1.peakGflops, macs);
    const [line] = elements(throughput!, 'line', 'reference');
    assert.ok(line, 'a peak line');
    assert.ok(Math.abs(attr(line, 'data-value') - ceiling) < 1e-6 * ceiling);
    assert.ok(Math.abs(attr(line, 'y1') - tickScale(throughput!, 'ytick', 'y1')(ceiling)) <= 0.01);
    // one bar per image, labelled by path; the totals bar holds the stage sums of the JSON
    assert.deepEqual(elements(perImage!, 'g', 'bar').map((g) => g.attrs['data-label']).sort(), [...files].sort());
    const sums = elements(totals!, 'rect', 'segment').map((s) => attr(s, 'data-value'));
    const st = folder.stages;
    for (const [k, v] of [st.decode.total, st.preprocess.total, st.queue.total, st.inference.total].entries()) assert.ok(Math.abs(sums[k]! - v) < 1e-3 + 1e-9 * v, `stage ${k}`);
  });

  test('compare --report: the histogram holds every probability difference, the worst inputs are listed', async () => {
    const out = join(tmp.path, 'compare.html');
    const r = await runCli(['compare', textline, other, '--images', images, '--report', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.inputs, 3);
    assert.equal(j.perInput, undefined, 'the JSON holds the worst inputs, not every input');
    assert.equal(j.worst.length, 3);
    const html = await readFile(out, 'utf8');
    pages.compare = out;
    assertBalanced(html);
    assert.doesNotMatch(html, /<script|https?:\/\//i);
    const [hist] = svgs(html);
    const counts = elements(hist!, 'rect', 'bin').map((b) => attr(b, 'data-count'));
    assert.equal(counts.reduce((a, b) => a + b, 0), 3 * 2, 'three inputs × two classes');
    assert.equal(j.histogram.total, 6);
    // the table lists the JSON's worst inputs in its order, escaped
    const section = html.slice(html.indexOf('<section id="worst">'));
    const names = [...section.matchAll(/<tr><td>([^<]*)<\/td>/g)].map((m) => m[1]);
    assert.deepEqual(names, j.worst.map((w: { name: string }) => escapeHtml(w.name)));
    assert.ok(html.includes(escapeHtml(files[0]!)));
  });

  test('--report to a folder fails before anything is measured; --workers needs --images', async () => {
    const bench = await runCli(['bench', '-m', textline, '--no-peak', '--runs', '500', '--report', tmp.path]);
    assert.equal(bench.code, 1);
    assert.match(bench.stderr, /is a folder; refusing to write over it/);
    assert.equal(bench.stdout, '', 'nothing measured');
    const compare = await runCli(['compare', textline, other, '--report', tmp.path]);
    assert.equal(compare.code, 1);
    assert.match(compare.stderr, /is a folder/);
    const workers = await runCli(['bench', '-m', textline, '--no-peak', '--workers', '1']);
    assert.equal(workers.code, 2);
    assert.match(workers.stderr, /--workers applies to the --images run/);
    const none = await runCli(['bench', '-m', textline, '--no-peak', '--images', join(tmp.path, 'no-such-folder', '*.png')]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no images found in .*no-such-folder/);
    assert.equal(none.stdout, '', 'looked for before measuring');
  });

  test('both pages render in headless Chromium with JavaScript off: charts with a size, no request but the file, a screenshot', async (t) => {
    if (!needChromium(t)) return;
    assert.ok(pages.bench && pages.compare, 'the CLI tests wrote the pages');
    const browser = await puppeteer.launch({ executablePath: chromiumPath()!, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    try {
      for (const [name, file] of Object.entries(pages)) {
        const page = await browser.newPage();
        await page.setJavaScriptEnabled(false);
        await page.setViewport({ width: 1000, height: 900, deviceScaleFactor: 1 });
        const url = pathToFileURL(file!).href;
        const requests: string[] = [];
        const problems: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error' || m.type() === 'warn') problems.push(`${m.type()}: ${m.text()}`);
        });
        page.on('pageerror', (e) => problems.push(String(e)));
        page.on('requestfailed', (req) => problems.push(`failed: ${req.url()}`));
        await page.setRequestInterception(true);
        page.on('request', (req) => {
          requests.push(req.url());
          if (req.url() === url) void req.continue();
          else void req.abort();
        });
        await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
        const boxes = await Promise.all((await page.$$('svg')).map((el) => el.boundingBox()));
        assert.equal(boxes.length, name === 'bench' ? 4 : 1);
        for (const b of boxes) assert.ok(b && b.width > 100 && b.height > 40, `${name}: an svg of ${JSON.stringify(b)}`);
        assert.deepEqual(requests, [url], `${name}: only the page itself is requested`);
        assert.deepEqual(problems, [], `${name}: no console errors`);
        // the peak line is drawn: a dashed line with a width on screen
        if (name === 'bench') {
          const peak = await page.$('line.reference');
          const box = await peak!.boundingBox();
          assert.ok(box && box.width > 100, `the peak line: ${JSON.stringify(box)}`);
        }
        const dir = join(ROOT, 'test-artifacts');
        await mkdir(dir, { recursive: true });
        const shot = join(dir, `report-${name}.png`);
        await page.screenshot({ path: shot as `${string}.png` });
        const { data, info } = await sharp(shot).removeAlpha().raw().toBuffer({ resolveWithObject: true });
        assert.deepEqual([info.width, info.height], [1000, 900]);
        let min = 255;
        let max = 0;
        for (const v of data) {
          if (v < min) min = v;
          if (v > max) max = v;
        }
        assert.ok(max - min > 100, `${name}: the screenshot is not one colour (values ${min}..${max})`);
        const colours = new Set<number>();
        for (let i = 0; i < data.length; i += 3 * 97) colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
        assert.ok(colours.size > 5, `${name}: ${colours.size} colours sampled`);
        await page.close();
      }
    } finally {
      await browser.close();
    }
  });
});
