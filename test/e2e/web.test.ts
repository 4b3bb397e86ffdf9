/**
 * `pplcnet export-web` and `pplcnet/web` in headless Chromium (puppeteer-core, the system browser): the
 * exported site, served from 127.0.0.1 with every other origin blocked, classifies the fixture images with
 * the same tensors and probabilities as the Node classifier, single-threaded and (cross-origin isolated)
 * multi-threaded. One browser for the whole file.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { IMAGENET_PREPROCESS, WEB_SCRIPT_BUDGET, buildPPLCNet, PplcnetError, convertInferenceModel, createClassifier, exportWebSite, imagenetLabels } from '../../src/index.js';
import { preprocess as nodePreprocess } from '../../src/image/preprocess.js';
import type { Preprocess } from '../../src/metadata.js';
import { FIXTURES } from '../fixtures/index.js';
import { ROOT, assertAllClose, runCli } from '../helpers.js';
import { chromiumPath, needChromium } from '../services.js';
import { type StaticServer, serveStatic } from '../web-static.js';

/** |Δprobability| allowed for JPEGs: measured 0 for YCbCr JPEGs (same libjpeg-turbo IDCT), see docs/web.md for CMYK. */
const PROB_ATOL = 1e-5;
/** |Δprobability| allowed for a CMYK JPEG, whose pixels differ by one level (measured, see docs/web.md). */
const CMYK_PROB_ATOL = 1e-2;

interface PageResult {
  probs: number[];
  top1: number;
  tensor: number[];
  width: number;
  height: number;
}

interface OpenedPage {
  page: Page;
  server: StaticServer;
  /** Requests to any other origin (all blocked). */
  foreign: string[];
}

describe('export-web site in Chromium', { timeout: 480_000 }, () => {
  let work = '';
  let browser: Browser | undefined;
  let textlineSite = '';
  let imagenetSite = '';
  let imagenetModel = '';
  const opened: OpenedPage[] = [];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'pplcnet-web-'));
    textlineSite = join(work, 'textline-site');
    const r = await runCli(['export-web', '-m', 'PP-LCNet_x0_25_textline_ori', '-o', textlineSite, '--cache-dir', join(work, 'cache'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    // The ImageNet pipeline (resize_short 256, crop 224, PaddleClas normalization) on trained weights: the
    // shipped network at 224 × 224 (a randomly initialized one gives flat probabilities, blind to the pixels).
    imagenetModel = join(work, 'textline-224.onnx');
    const converted = await convertInferenceModel(FIXTURES.textlineModel, { inputSize: 224, description: { preprocess: IMAGENET_PREPROCESS, name: 'textline-224' } });
    await writeFile(imagenetModel, converted.bytes);
    imagenetSite = join(work, 'imagenet-site');
    await exportWebSite({ model: imagenetModel, outDir: imagenetSite, cacheDir: join(work, 'cache') });
    const exe = chromiumPath();
    // WebGPU on SwiftShader (a CPU Vulkan) where the machine has no GPU
    if (exe) browser = await puppeteer.launch({ executablePath: exe, args: ['--no-sandbox', '--disable-dev-shm-usage', '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'] });
  });

  after(async () => {
    await browser?.close();
    for (const o of opened) await o.server.close();
    await rm(work, { recursive: true, force: true });
  });

  /** Open a site on its own server; any request to another origin is aborted and recorded. */
  async function open(site: string, { isolated = false, query = '' } = {}): Promise<OpenedPage> {
    const server = await serveStatic(site, ROOT, { isolated });
    const page = await browser!.newPage();
    const foreign: string[] = [];
    await page.setRequestInterception(true);
    page.on('request', (req) => {
      const url = req.url();
      if (url.startsWith('data:') || url.startsWith('blob:') || new URL(url).origin === server.origin) void req.continue();
      else {
        foreign.push(url);
        void req.abort();
      }
    });
    const o = { page, server, foreign };
    opened.push(o);
    await page.goto(`${server.origin}/${query}`);
    await page.waitForFunction(() => window.pplcnet || window.pplcnetError, { timeout: 60_000 });
    const error = await page.evaluate(() => window.pplcnetError);
    assert.equal(error, undefined, `the page could not load its model: ${error}`);
    return o;
  }

  /** Classify a repository file in the page: fetched from the page's origin, passed as a Blob. */
  async function classifyIn(page: Page, rel: string): Promise<PageResult> {
    return page.evaluate(async (path: string) => {
      const blob = await (await fetch(`/__repo/${path}`)).blob();
      const r = await window.pplcnet!.classify(blob);
      const t = await window.pplcnet!.prepare(blob);
      return { probs: Array.from(r.probs), top1: r.topk[0]!.classId, tensor: Array.from(t.data), width: t.width, height: t.height };
    }, rel);
  }

  /** Compare the page with Node on images: tensors bit for bit (within `tensorAtol`), probabilities, top-1. */
  async function parity(page: Page, model: string, images: readonly string[], { tensorAtol = 0, probAtol = PROB_ATOL } = {}): Promise<number> {
    const clf = await createClassifier({ model, ep: 'cpu', threads: 1, workers: 0, cacheDir: join(work, 'cache') });
    let worst = 0;
    try {
      for (const rel of images) {
        const web = await classifyIn(page, rel);
        const node = await clf.classify(join(ROOT, rel));
        const prepared = await nodePreprocess(join(ROOT, rel), clf.preprocess as Preprocess);
        assert.deepEqual([web.width, web.height], [prepared.width, prepared.height], rel);
        assertAllClose(web.tensor, prepared.data, { atol: tensorAtol, what: `${rel} tensor` });
        worst = Math.max(worst, assertAllClose(web.probs, node.probs, { atol: probAtol, what: `${rel} probabilities` }));
        assert.equal(web.top1, node.topk[0]!.classId, `${rel}: top-1`);
      }
    } finally {
      await clf.close();
    }
    return worst;
  }

  test('export-web writes the site; the page script is within its size budget; a non-empty folder needs --force', async () => {
    const files = (await readdir(textlineSite, { recursive: true })).sort();
    for (const f of ['index.html', 'app.js', 'model.onnx', '_headers', 'README.txt', 'ort/ort.wasm.min.js', 'ort/ort-wasm-simd-threaded.js', 'ort/ort-wasm-simd-threaded.wasm']) {
      assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
    }
    const script = (await stat(join(textlineSite, 'app.js'))).size;
    assert.ok(script <= WEB_SCRIPT_BUDGET, `app.js is ${script} bytes, over the ${WEB_SCRIPT_BUDGET} budget`);
    const html = await readFile(join(textlineSite, 'index.html'), 'utf8');
    assert.doesNotMatch(html, /https?:\/\//, 'the page names no other origin');
    assert.match(await readFile(join(textlineSite, '_headers'), 'utf8'), /Cross-Origin-Embedder-Policy: require-corp/);

    const again = await runCli(['export-web', '-m', 'PP-LCNet_x0_25_textline_ori', '-o', textlineSite, '--cache-dir', join(work, 'cache')]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists and is not empty.*--force/);
    const forced = await runCli(['export-web', '-m', 'PP-LCNet_x0_25_textline_ori', '-o', textlineSite, '--cache-dir', join(work, 'cache'), '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /script \d+ kB .*model 318 kB/);
    assert.deepEqual((await readdir(work)).filter((f) => f.includes('.tmp.')), [], 'no temporary folder left');
  });

  test('a 1000-class model without labels: the page carries the ImageNet-1k names, as Node falls back to them', async () => {
    const model = join(work, 'x0_25.onnx');
    await writeFile(model, buildPPLCNet({ scale: 0.25 }, { seed: 3 }).bytes);
    const site = join(work, 'x0_25-site');
    const r = await exportWebSite({ model, outDir: site });
    assert.equal(r.modelBytes, (await stat(model)).size);
    const html = await readFile(join(site, 'index.html'), 'utf8');
    const config = JSON.parse(/<script type="application\/json" id="pplcnet-config">(.*?)<\/script>/s.exec(html)![1]!);
    assert.deepEqual(config.labels, [...imagenetLabels()]);
    await assert.rejects(exportWebSite({ model, outDir: site }), (e: Error) => e instanceof PplcnetError && /not empty.*--force/.test(e.message));
    // a file where the folder should be, and a model that does not exist: errors, nothing written
    await assert.rejects(exportWebSite({ model, outDir: model }), (e: Error) => e instanceof PplcnetError && /not a folder/.test(e.message));
    const missing = join(work, 'missing-site');
    await assert.rejects(exportWebSite({ model: join(work, 'no-such.onnx'), outDir: missing }), (e: Error) => e instanceof PplcnetError && e.code === 'E_IO');
    await assert.rejects(stat(missing), { code: 'ENOENT' });
  });

  test('text-line model, WASM 1 thread (not isolated): tensors identical, probabilities within 1e-5 of Node, no other origin', async (t) => {
    if (!needChromium(t)) return;
    const { page, foreign } = await open(textlineSite);
    const info = await page.evaluate(() => ({ backend: window.pplcnet!.backend, threads: window.pplcnet!.threads, isolated: window.pplcnet!.crossOriginIsolated }));
    assert.deepEqual(info, { backend: 'wasm', threads: 1, isolated: false });
    const images = ['models/examples/textline_upright.png', 'models/examples/textline_upside_down.png', 'test/fixtures/textlines/03_up.png', 'test/fixtures/textlines/07_down.png'];
    t.diagnostic(`largest |Δprobability| ${(await parity(page, join(textlineSite, 'model.onnx'), images)).toExponential(2)}`);
    // bad input: typed errors naming the problem
    const errors = await page.evaluate(async () => {
      const fail = (p: Promise<unknown>): Promise<string> => p.then(() => 'no error', (e: Error & { code?: string }) => `${e.code}: ${e.message}`);
      return [await fail(window.pplcnet!.classify(new Blob([]))), await fail(window.pplcnet!.classify(new Blob([new Uint8Array([137, 80, 78, 71, 1, 2, 3])], { type: 'image/png' })))];
    });
    assert.match(errors[0]!, /^E_IMAGE: <blob>: empty file/);
    assert.match(errors[1]!, /^E_IMAGE: <blob>: cannot decode it: its first bytes are no PNG, JPEG, WebP, GIF or BMP header/);
    // a cross-origin request from the page is blocked and seen: the interception works
    const reached = await page.evaluate(() => fetch('http://198.51.100.1/x.png').then(() => true, () => false));
    assert.equal(reached, false);
    assert.deepEqual(foreign, ['http://198.51.100.1/x.png']);
  });

  test('a 20000×20000 PNG is refused from its header: createImageBitmap is never called, no thumbnail is drawn', async (t) => {
    if (!needChromium(t)) return;
    const { page } = await open(textlineSite);
    const result = await page.evaluate(async () => {
      let calls = 0;
      const original = window.createImageBitmap.bind(window);
      window.createImageBitmap = ((...args: Parameters<typeof createImageBitmap>) => {
        calls++;
        return original(...args);
      }) as typeof createImageBitmap;
      // signature, IHDR of 20000x20000 RGB, then 1 MB of zeros where the image data would be
      const head = new Uint8Array(33 + (1 << 20));
      head.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
      new DataView(head.buffer).setUint32(16, 20000);
      new DataView(head.buffer).setUint32(20, 20000);
      head.set([8, 2], 24);
      const file = new File([head], 'huge.png', { type: 'image/png' });
      const message = await window.pplcnet!.classify(file).then(() => 'classified', (e: Error & { code?: string }) => `${e.code}: ${e.message}`);
      // the page's own drop path: the card shows the error and no thumbnail
      const picker = document.getElementById('picker') as HTMLInputElement;
      const list = new DataTransfer();
      list.items.add(file);
      picker.files = list.files;
      picker.dispatchEvent(new Event('change'));
      for (let i = 0; i < 100 && !document.querySelector('#results .error'); i++) await new Promise((r) => setTimeout(r, 50));
      const card = document.querySelector('#results .error')?.closest('.card');
      return { message, calls, cardError: card?.querySelector('.error')?.textContent ?? null, thumbnail: card?.querySelector('img')?.getAttribute('src') ?? null };
    });
    assert.equal(result.message, 'E_IMAGE: huge.png: the PNG image declares 20000×20000 = 400000000 pixels, more than the 100 megapixels pplcnet/web decodes; not decoded. Downscale it first');
    assert.equal(result.calls, 0, 'nothing was decoded');
    assert.match(result.cardError ?? '', /huge\.png: the PNG image declares 20000×20000/);
    assert.equal(result.thumbnail, null, 'no thumbnail');
  });

  test('text-line model, WASM 2 threads on a cross-origin isolated page: same results', async (t) => {
    if (!needChromium(t)) return;
    const { page, foreign, server } = await open(textlineSite, { isolated: true, query: '?threads=2' });
    const info = await page.evaluate(() => ({ backend: window.pplcnet!.backend, threads: window.pplcnet!.threads, isolated: window.pplcnet!.crossOriginIsolated }));
    assert.deepEqual(info, { backend: 'wasm', threads: 2, isolated: true });
    const worst = await parity(page, join(textlineSite, 'model.onnx'), ['test/fixtures/textlines/01_down.png', 'test/fixtures/textlines/05_up.png']);
    t.diagnostic(`largest |Δprobability| ${worst.toExponential(2)}`);
    assert.deepEqual(foreign, []);
    assert.ok(server.requests.includes('/ort/ort-wasm-simd-threaded.wasm'));
  });

  test('ImageNet pipeline (resize_short 256, crop 224): PNG, JPEG, WebP, BMP tensors identical to Node, probabilities within 1e-5', async (t) => {
    if (!needChromium(t)) return;
    const { page, foreign } = await open(imagenetSite);
    const dir = 'test/fixtures/preprocess';
    const images = ['alpha_260x199.png', 'deep16_211x233.png', 'palette_150x230.png', 'gray_203x251.png', 'small_100x80.png', 'photo_299x401.jpg', 'exif6_320x240.jpg', 'lossless_210x150.webp', 'bitmap_123x97.bmp'];
    const worst = await parity(page, imagenetModel, images.map((f) => `${dir}/${f}`));
    t.diagnostic(`PNG/JPEG/WebP/BMP: largest |Δprobability| ${worst.toExponential(2)}`);
    // a CMYK JPEG: the browser's CMYK → RGB conversion differs from libvips's by 1 level (2 after the resize)
    const cmyk = await parity(page, imagenetModel, [`${dir}/cmyk_120x90.jpg`], { tensorAtol: 2 / 255 / 0.224 + 1e-6, probAtol: CMYK_PROB_ATOL });
    t.diagnostic(`CMYK JPEG: largest |Δprobability| ${cmyk.toExponential(2)}`);
    const tiff = await page.evaluate(async () => window.pplcnet!.classify(await (await fetch('/__repo/test/fixtures/preprocess/tiff_140x260.tif')).blob()).then(() => 'decoded', (e: Error) => e.message));
    assert.match(tiff, /cannot decode it.*TIFF/);
    assert.deepEqual(foreign, []);
  });

  test('WebGPU (site exported with --webgpu, ?backend=webgpu): runs on the GPU backend, same top-1, probabilities within 1e-4', async (t) => {
    if (!needChromium(t)) return;
    const site = join(work, 'webgpu-site');
    const r = await exportWebSite({ model: imagenetModel, outDir: site, webgpu: true });
    assert.ok(r.files.some((f) => f.path === 'ort/ort-wasm-simd-threaded.jsep.wasm'));
    const { page, foreign } = await open(site, { query: '?backend=webgpu' });
    const adapter = await page.evaluate(async () => {
      const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
      return !!(gpu && (await gpu.requestAdapter()));
    });
    if (!adapter) return t.skip('this Chromium offers no WebGPU adapter (not even SwiftShader)');
    assert.equal(await page.evaluate(() => window.pplcnet!.backend), 'webgpu');
    const worst = await parity(page, imagenetModel, ['test/fixtures/preprocess/photo_299x401.jpg', 'test/fixtures/preprocess/landscape_333x217.png'], { probAtol: 1e-4 });
    t.diagnostic(`largest |Δprobability| ${worst.toExponential(2)}`);
    assert.deepEqual(foreign, []);
  });

  test('the page: picked images get top-k bars, the time and the backend', async (t) => {
    if (!needChromium(t)) return;
    const { page } = await open(textlineSite);
    const input = await page.$('input#picker');
    await input!.uploadFile(join(ROOT, 'models/examples/textline_upside_down.png'), join(ROOT, 'models/examples/textline_upright.png'));
    await page.waitForFunction(() => document.querySelectorAll('.card').length === 2, { timeout: 30_000 });
    const cards = await page.$$eval('.card', (els) => els.map((e) => e.textContent ?? ''));
    assert.match(cards[1]!, /textline_upside_down\.png\s*180_degree.*1\.0000.*inference \d+(\.\d)? ms/);
    assert.match(cards[0]!, /textline_upright\.png\s*0_degree.*1\.0000/);
    assert.match(await page.$eval('#status', (e) => e.textContent ?? ''), /PP-LCNet_x0_25_textline_ori · wasm · 1 thread/);
    await page.screenshot({ path: join(work, 'page.png') });
    assert.ok((await stat(join(work, 'page.png'))).size > 1000);
  });
});
