/**
 * What the page's "this browser" mode loads from the server: the browser bundle, onnxruntime-web's files (a
 * fixed allow-list: everything else, traversal included, is 404), the model's ONNX bytes (behind --api-key),
 * its labels; COOP/COEP on the page; and none of it with `browser: false`.
 */
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Classifier } from '../../../src/classifier.js';
import { type ServeApp, type ServeOptions, createServeApp } from '../../../src/serve/app.js';
import { bundlePageScript, onnxruntimeWebDist } from '../../../src/web-export/index.js';
import { resolveModel } from '../../../src/models/resolve.js';
import { MODEL, textlineClassifier } from './common.js';

/** A GET sent as written (no URL normalization), for traversal attempts a client library would tidy up. */
function rawGet(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('pplcnet serve: the files of the page\'s "this browser" mode', () => {
  let cache = '';
  let clf: Classifier;
  let onnx: Uint8Array;
  const apps: ServeApp[] = [];
  const app = async (options: ServeOptions = {}, withBytes = true): Promise<ServeApp> => {
    const s = await createServeApp([{ name: MODEL, classifier: clf, ...(withBytes ? { onnx } : {}) }], { processMetrics: false, ...options });
    apps.push(s);
    return s;
  };

  before(async () => {
    cache = await mkdtemp(join(tmpdir(), 'pplcnet-serve-browser-'));
    clf = await textlineClassifier(cache);
    onnx = (await resolveModel(MODEL, { cacheDir: cache })).bytes;
  });
  after(async () => {
    for (const a of apps) await a.close();
    await clf?.close();
    await rm(cache, { recursive: true, force: true });
  });

  test('the page has the switch and is cross-origin isolated; /web/app.js is export-web\'s bundle; the runtime files are onnxruntime-web\'s, with their types', async () => {
    const s = await app();
    const page = await s.app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.equal(page.headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal(page.headers['cross-origin-embedder-policy'], 'require-corp');
    assert.match(page.body, /Run on:[\s\S]*value="server" checked[\s\S]*value="browser"><span>this browser/);
    assert.match(page.body, /<script type="importmap">\{"imports":\{"onnxruntime-web":".\/web\/ort\/ort.wasm.min.js"\}\}<\/script>/);
    assert.doesNotMatch(page.body, /https?:\/\//, 'the page names no other origin');

    const script = await s.app.inject({ method: 'GET', url: '/web/app.js' });
    assert.equal(script.statusCode, 200);
    assert.equal(script.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(script.headers['cross-origin-embedder-policy'], 'require-corp');
    assert.deepEqual(script.rawPayload, Buffer.from(await bundlePageScript()));
    // the browser keeps it: same ETag → 304
    const again = await s.app.inject({ method: 'GET', url: '/web/app.js', headers: { 'if-none-match': String(script.headers.etag) } });
    assert.equal(again.statusCode, 304);
    assert.equal(again.body, '');

    const dist = onnxruntimeWebDist();
    for (const [name, file, type] of [
      ['ort.wasm.min.js', 'ort.wasm.min.mjs', 'text/javascript; charset=utf-8'],
      ['ort-wasm-simd-threaded.js', 'ort-wasm-simd-threaded.mjs', 'text/javascript; charset=utf-8'],
      ['ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.wasm', 'application/wasm'],
    ] as const) {
      const res = await s.app.inject({ method: 'GET', url: `/web/ort/${name}` });
      assert.equal(res.statusCode, 200, name);
      assert.equal(res.headers['content-type'], type, name);
      const original = await readFile(join(dist, file));
      if (type === 'application/wasm') {
        assert.equal(Number(res.headers['content-length']), (await stat(join(dist, file))).size);
        assert.ok(res.rawPayload.equals(original), 'the .wasm is sent byte for byte');
      } else {
        assert.equal(res.body, original.toString('utf8').replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, '\n'), `${name}: the file without its source-map comment`);
        assert.doesNotMatch(res.body, /sourceMappingURL=/, `${name}: the maps are not served`);
      }
    }
  });

  test('the runtime route answers only its three names: other dist files, traversal (encoded or raw), listings → 404', async () => {
    const s = await app();
    for (const url of ['/web/ort/ort.min.mjs', '/web/ort/ort.wasm.min.mjs', '/web/ort/ort.wasm.min.js.map', '/web/ort/..%2F..%2Fpackage.json', '/web/ort/%2e%2e%2fort.wasm.min.js', '/web/ort/', '/web/', '/web/ort/..%5C..%5Cpackage.json']) {
      const res = await s.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 404, url);
      assert.equal(JSON.parse(res.body).error.code, 'E_NOT_FOUND', url);
    }
    await s.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (s.app.server.address() as { port: number }).port;
    for (const path of ['/web/ort/../../package.json', '/web/ort/../../../../etc/passwd', '/web/../package.json', '/web/ort/./ort.wasm.min.js/..']) {
      assert.equal(await rawGet(port, path), 404, path);
    }
    assert.equal(await rawGet(port, '/web/ort/ort.wasm.min.js'), 200);
    const post = await s.app.inject({ method: 'POST', url: '/web/ort/ort-wasm-simd-threaded.wasm' });
    assert.equal(post.statusCode, 405);
  });

  test('GET /v1/models/{name}/model.onnx: the bytes the classifier runs; labels; unknown model 404; a model without bytes 404', async () => {
    const s = await app();
    const res = await s.app.inject({ method: 'GET', url: `/v1/models/${MODEL}/model.onnx` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    assert.ok(res.rawPayload.equals(Buffer.from(onnx)));
    const labels = await s.app.inject({ method: 'GET', url: `/v1/models/${MODEL}/labels` });
    assert.deepEqual(JSON.parse(labels.body), { model: MODEL, labels: ['0_degree', '180_degree'] });
    assert.equal((await s.app.inject({ method: 'GET', url: '/v1/models/nope/model.onnx' })).statusCode, 404);
    const bare = await app({}, false);
    const none = await bare.app.inject({ method: 'GET', url: `/v1/models/${MODEL}/model.onnx` });
    assert.equal(none.statusCode, 404);
    assert.match(JSON.parse(none.body).error.message, /ONNX bytes of model 'PP-LCNet_x0_25_textline_ori' are not available/);
  });

  test('--api-key: the model and labels routes are 401 without the key, 200 with it; the page and its scripts stay open', async () => {
    const s = await app({ apiKey: 'k3y' });
    for (const url of [`/v1/models/${MODEL}/model.onnx`, `/v1/models/${MODEL}/labels`]) {
      for (const auth of [undefined, 'Bearer wrong']) {
        const res = await s.app.inject({ method: 'GET', url, headers: auth ? { authorization: auth } : {} });
        assert.equal(res.statusCode, 401, `${url} with ${auth}`);
      }
      assert.equal((await s.app.inject({ method: 'GET', url, headers: { authorization: 'Bearer k3y' } })).statusCode, 200, url);
    }
    for (const url of ['/', '/web/app.js', '/web/ort/ort.wasm.min.js']) assert.equal((await s.app.inject({ method: 'GET', url })).statusCode, 200, url);
    // open means readable, not callable: POST on a public path still needs the key
    assert.equal((await s.app.inject({ method: 'POST', url: '/web/app.js' })).statusCode, 401);
  });

  test('browser: false (--no-browser): no switch, no isolation headers, no /web/* and no model.onnx', async () => {
    const s = await app({ browser: false });
    const page = await s.app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.doesNotMatch(page.body, /Run on:|importmap|web-host/);
    assert.equal(page.headers['cross-origin-embedder-policy'], undefined);
    for (const url of ['/web/app.js', '/web/ort/ort-wasm-simd-threaded.wasm', `/v1/models/${MODEL}/model.onnx`]) {
      assert.equal((await s.app.inject({ method: 'GET', url })).statusCode, 404, url);
    }
    assert.equal((await s.app.inject({ method: 'GET', url: `/v1/models/${MODEL}/labels` })).statusCode, 200);
  });
});
