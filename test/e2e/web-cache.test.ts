/**
 * What the exported site downloads, counted in Chromium: a static server written here serves each file's
 * `.br`/`.gz` copy when the request accepts it (as nginx `gzip_static`/`brotli_static`, Netlify and Cloudflare
 * do), the browser's HTTP cache is disabled (DevTools `Network.setCacheDisabled`), and the bytes on the wire
 * are the sum of `Network.loadingFinished`'s `encodedDataLength`. First visit: the model and onnxruntime-web's
 * .wasm come over the network; second visit: from the Cache API, checked against the sha256 the page carries;
 * a damaged entry is dropped and fetched again; a new model replaces the old one and answers; `?clear-cache`
 * and the page's button forget them.
 */
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { after, before, describe, test } from 'node:test';
import puppeteer, { type Browser, type BrowserContext, type Page } from 'puppeteer-core';
import { convertInferenceModel, createClassifier } from '../../src/index.js';
import { FIXTURES } from '../fixtures/index.js';
import { ROOT, runCli } from '../helpers.js';
import { chromiumPath, needChromium } from '../services.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
};

const MB = 1_000_000;

interface GzipStatic {
  readonly origin: string;
  /** Each request: the path and the encoding sent. */
  readonly sent: { path: string; encoding: string }[];
  close(): Promise<void>;
}

/** The encodings a request accepts (q > 0), from its Accept-Encoding. */
function accepted(header: string | undefined): Set<string> {
  const out = new Set<string>();
  for (const part of (header ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    if (name && (q === undefined || Number(q) > 0)) out.add(name);
  }
  return out;
}

/** A static server like nginx with gzip_static/brotli_static: `<file>.br`, else `<file>.gz`, when accepted. */
async function gzipStatic(site: string): Promise<GzipStatic> {
  const sent: { path: string; encoding: string }[] = [];
  const server: Server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const repo = path.startsWith('/__repo/');
    const base = repo ? ROOT : site;
    const file = normalize(join(base, repo ? path.slice('/__repo/'.length) : path === '/' ? 'index.html' : path.slice(1)));
    if (!file.startsWith(base.endsWith(sep) ? base : base + sep)) return void res.writeHead(404).end();
    const ok = async (p: string): Promise<boolean> => (await stat(p).catch(() => undefined))?.isFile() ?? false;
    if (!(await ok(file))) return void res.writeHead(404).end('not found');
    const accepts = accepted(req.headers['accept-encoding']);
    let encoding = 'identity';
    let body = file;
    for (const [name, ext] of [['br', '.br'], ['gzip', '.gz']] as const) {
      if (accepts.has(name) && (await ok(file + ext))) {
        encoding = name;
        body = file + ext;
        break;
      }
    }
    sent.push({ path, encoding });
    res.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Content-Length': (await stat(body)).size,
      Vary: 'Accept-Encoding',
      ...(encoding === 'identity' ? {} : { 'Content-Encoding': encoding }),
    });
    createReadStream(body).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    sent,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Visit {
  /** Bytes on the wire (encodedDataLength of every finished request). */
  bytes: number;
  loadedFrom: { model: string; wasm: string };
  /** Paths the server sent during the visit. */
  paths: string[];
  status: string;
  /** The page's answer for the image given to the visit, if any. */
  answer?: { probs: number[]; label: string };
  /** The URLs of the Cache API entries after the visit. */
  keys: string[];
}

describe('export-web site: bytes downloaded, Cache API', { timeout: 240_000 }, () => {
  let work = '';
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let server: GzipStatic | undefined;
  let site = '';

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'pplcnet-web-cache-'));
    site = join(work, 'site');
    const r = await runCli(['export-web', '-m', 'PP-LCNet_x0_25_textline_ori', '-o', site, '--cache-dir', join(work, 'cache'), '-q']);
    assert.equal(r.code, 0, r.stderr);
    server = await gzipStatic(site);
    const exe = chromiumPath();
    if (exe) {
      browser = await puppeteer.launch({ executablePath: exe, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
      context = await browser.createBrowserContext();
    }
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await rm(work, { recursive: true, force: true });
  });

  /**
   * Open the site in a new tab of the shared context (its Cache API persists), HTTP cache disabled; classify
   * `image` (fetched from the page's origin) when given; list the cache.
   */
  async function visit(srv: GzipStatic, { query = '', image, then }: { query?: string; image?: string; then?: (page: Page) => Promise<void> } = {}): Promise<Visit> {
    const page = await context!.newPage();
    try {
      const cdp = await page.createCDPSession();
      await cdp.send('Network.enable');
      await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
      let bytes = 0;
      cdp.on('Network.loadingFinished', (e) => (bytes += e.encodedDataLength));
      const from = srv.sent.length;
      await page.goto(`${srv.origin}/${query}`);
      await page.waitForFunction(() => window.pplcnet || window.pplcnetError, { timeout: 60_000 });
      const error = await page.evaluate(() => window.pplcnetError);
      assert.equal(error, undefined, `the page could not load its model: ${error}`);
      const loaded = bytes; // before the image is fetched
      const paths = srv.sent.slice(from).map((s) => s.path);
      const result = await page.evaluate(async (path: string | undefined) => {
        const res = path ? await window.pplcnet!.classify(await (await fetch(`/__repo/${path}`)).blob()) : undefined;
        return {
          loadedFrom: window.pplcnet!.loadedFrom,
          status: document.getElementById('status')!.textContent ?? '',
          keys: (await (await caches.open('pplcnet')).keys()).map((k) => k.url),
          ...(res ? { answer: { probs: Array.from(res.probs), label: res.topk[0]!.label } } : {}),
        };
      }, image);
      await then?.(page);
      return { bytes: loaded, paths, ...result };
    } finally {
      await page.close();
    }
  }

  async function nodeAnswer(model: string, image: string): Promise<{ probs: Float32Array; label: string }> {
    const clf = await createClassifier({ model, ep: 'cpu', threads: 1, workers: 0 });
    try {
      const r = await clf.classify(join(ROOT, image));
      return { probs: r.probs, label: r.topk[0]!.label };
    } finally {
      await clf.close();
    }
  }

  /** Node's answer for the same image, and the page's within 1e-5 of it. */
  async function sameAsNode(web: Visit['answer'], model: string, image: string): Promise<string> {
    const node = await nodeAnswer(model, image);
    assert.ok(web, 'the page classified the image');
    assert.equal(web.label, node.label);
    assert.ok(web.probs.every((p, i) => Math.abs(p - node.probs[i]!) <= 1e-5), `${web.probs} vs ${node.probs}`);
    return node.label;
  }

  const upright = 'models/examples/textline_upright.png';
  const cachedModel = (v: Visit): string[] => v.keys.filter((k) => new URL(k).pathname === '/model.onnx');

  test('text-line site: first visit ≤ 5 MB (copies sent compressed), second visit ≤ 100 kB from the Cache API', async (t) => {
    if (!needChromium(t)) return;
    const first = await visit(server!);
    t.diagnostic(`first visit ${first.bytes} bytes (${server!.sent.filter((s) => s.path.endsWith('.wasm')).map((s) => s.encoding).join()} for the .wasm)`);
    assert.ok(first.bytes <= 5 * MB, `first visit downloaded ${first.bytes} bytes, over 5 MB`);
    assert.deepEqual(first.loadedFrom, { model: 'network', wasm: 'network' });
    assert.ok(first.paths.includes('/model.onnx') && first.paths.includes('/ort/ort-wasm-simd-threaded.wasm'), first.paths.join());
    // the .wasm went over compressed: far fewer bytes on the wire than its 14 MB
    assert.notEqual(server!.sent.find((s) => s.path.endsWith('.wasm'))!.encoding, 'identity');
    assert.equal(first.keys.length, 2, first.keys.join());

    const second = await visit(server!, { image: 'models/examples/textline_upside_down.png' });
    t.diagnostic(`second visit ${second.bytes} bytes: ${second.paths.join(' ')}`);
    assert.ok(second.bytes <= 100_000, `second visit downloaded ${second.bytes} bytes, over 100 kB`);
    assert.deepEqual(second.loadedFrom, { model: 'cache', wasm: 'cache' });
    assert.ok(!second.paths.some((p) => p.endsWith('.onnx') || p.endsWith('.wasm')), `no model or .wasm requested: ${second.paths.join()}`);
    assert.match(second.status, /from this browser’s cache/);
    await sameAsNode(second.answer, join(site, 'model.onnx'), 'models/examples/textline_upside_down.png');
  });

  test('a damaged cache entry (bytes that do not hash to the sha256) is dropped and fetched again', async (t) => {
    if (!needChromium(t)) return;
    const page = await context!.newPage();
    await page.goto(`${server!.origin}/404`);
    const replaced = await page.evaluate(async () => {
      const cache = await caches.open('pplcnet');
      const keys = (await cache.keys()).filter((k) => new URL(k.url).pathname === '/model.onnx');
      for (const k of keys) await cache.put(k, new Response(new Uint8Array([1, 2, 3])));
      return keys.length;
    });
    await page.close();
    assert.equal(replaced, 1, 'one cached model entry');
    const again = await visit(server!, { image: upright });
    assert.deepEqual(again.loadedFrom, { model: 'network', wasm: 'cache' });
    assert.ok(again.paths.includes('/model.onnx'));
    await sameAsNode(again.answer, join(site, 'model.onnx'), upright);
  });

  test('a download that does not hash to the sha256 in the page is refused (E_CHECKSUM) and not stored', async (t) => {
    if (!needChromium(t)) return;
    const html = await readFile(join(site, 'index.html'), 'utf8');
    const config = JSON.parse(/id="pplcnet-config">(.*?)<\/script>/s.exec(html)![1]!);
    const wrong = config.sha256.model.replace(/^./, (c: string) => (c === '0' ? '1' : '0'));
    await writeFile(join(site, 'stale.html'), html.replace(config.sha256.model, wrong));
    const page = await context!.newPage();
    try {
      await page.goto(`${server!.origin}/stale.html`);
      await page.waitForFunction(() => window.pplcnet || window.pplcnetError, { timeout: 60_000 });
      const r = await page.evaluate(async () => ({ error: window.pplcnetError, keys: (await (await caches.open('pplcnet')).keys()).map((k) => k.url) }));
      assert.match(r.error ?? '', new RegExp(`model\\.onnx \\(the model\\): the downloaded bytes \\(\\d+\\) hash to sha256 ${config.sha256.model}, but the page expects ${wrong}`));
      assert.ok(!r.keys.some((k) => k.includes(wrong)), r.keys.join());
    } finally {
      await page.close();
      await rm(join(site, 'stale.html'));
    }
  });

  test("a new model (another sha256) is fetched, replaces the old entry, and the page gives the new model's answer", async (t) => {
    if (!needChromium(t)) return;
    const old = await visit(server!, { image: upright });
    assert.deepEqual(old.loadedFrom, { model: 'cache', wasm: 'cache' }, 'the refetched model was stored intact');
    // the shipped network with other class names: a different file, a different answer
    const renamed = join(work, 'renamed.onnx');
    await writeFile(renamed, (await convertInferenceModel(FIXTURES.textlineModel, { description: { name: 'renamed', labels: ['upright', 'upside down'] } })).bytes);
    // without copies (faster to write): the server sends the files as they are
    const r = await runCli(['export-web', '-m', renamed, '-o', site, '--force', '--no-precompress', '-q']);
    assert.equal(r.code, 0, r.stderr);
    const changed = await visit(server!, { image: upright });
    assert.deepEqual(changed.loadedFrom, { model: 'network', wasm: 'cache' });
    assert.equal(await sameAsNode(changed.answer, renamed, upright), 'upright');
    assert.notEqual(old.answer!.label, 'upright');
    const config = JSON.parse(/id="pplcnet-config">(.*?)<\/script>/s.exec(await readFile(join(site, 'index.html'), 'utf8'))![1]!);
    assert.equal(cachedModel(old).length, 1);
    assert.notEqual(cachedModel(old)[0], cachedModel(changed)[0]);
    assert.deepEqual(cachedModel(changed), [`${server!.origin}/model.onnx?sha256=${config.sha256.model}`], 'only the new model is kept');
  });

  test('?clear-cache and the page\'s "Forget cached files" button empty the cache', async (t) => {
    if (!needChromium(t)) return;
    const cleared = await visit(server!, {
      query: '?clear-cache',
      then: async (page) => {
        const result = await page.evaluate(async () => {
          const before = (await (await caches.open('pplcnet')).keys()).length;
          document.getElementById('clear-cache')!.click();
          for (let i = 0; i < 100 && (await caches.has('pplcnet')); i++) await new Promise((r) => setTimeout(r, 20));
          await new Promise((r) => setTimeout(r, 50));
          return { before, left: await caches.has('pplcnet'), text: document.getElementById('clear-cache')!.textContent };
        });
        assert.deepEqual(result, { before: 2, left: false, text: 'Cached files forgotten: the next visit downloads them' });
      },
    });
    assert.deepEqual(cleared.loadedFrom, { model: 'network', wasm: 'network' }, '?clear-cache: both downloaded again');
  });

  test('x1_0 built with `pplcnet build`, exported with --weights int8: first visit ≤ 9 MB', async (t) => {
    if (!needChromium(t)) return;
    const model = join(work, 'PPLCNet_x1_0.onnx');
    const built = await runCli(['build', '--scale', '1.0', '-o', model]);
    assert.equal(built.code, 0, built.stderr);
    const x1site = join(work, 'x1-site');
    const r = await runCli(['export-web', '-m', model, '--weights', 'int8', '-o', x1site, '-q']);
    assert.equal(r.code, 0, r.stderr);
    const x1 = await gzipStatic(x1site);
    try {
      const first = await visit(x1);
      t.diagnostic(`x1_0 int8 first visit ${first.bytes} bytes (model file ${(await stat(join(x1site, 'model.onnx'))).size})`);
      assert.ok(first.bytes <= 9 * MB, `first visit downloaded ${first.bytes} bytes, over 9 MB`);
      assert.deepEqual(first.loadedFrom, { model: 'network', wasm: 'network' });
      assert.equal(first.keys.length, 2, 'both kept for the next visit');
    } finally {
      await x1.close();
    }
  });
});
