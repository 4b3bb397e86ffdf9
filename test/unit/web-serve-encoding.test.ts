/**
 * `pplcnet serve`'s page and what its "this browser" mode loads are sent compressed when the request accepts
 * it: brotli, then gzip, with Content-Encoding, Vary: Accept-Encoding, the original's Content-Type and an ETag
 * per representation. Each body is decompressed with node:zlib and compared with the file on disk (the .wasm
 * and loader read from onnxruntime-web's folder, the model's bytes, the page as served uncompressed).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import type { Classifier } from '../../src/classifier.js';
import { resolveModel } from '../../src/models/resolve.js';
import { type ServeApp, createServeApp } from '../../src/serve/app.js';
import { CopyStore, acceptedEncoding } from '../../src/serve/browser.js';
import { onnxruntimeWebDist } from '../../src/web-export/index.js';
import { MODEL, textlineClassifier } from './serve/common.js';

type Encoding = 'br' | 'gzip' | undefined;

const decode = (body: Buffer, encoding: Encoding): Buffer => (encoding === 'br' ? brotliDecompressSync(body) : encoding === 'gzip' ? gunzipSync(body) : body);

test('Accept-Encoding: br, then gzip; q=0 refuses; * covers what is not listed; identity otherwise', () => {
  const both = { br: new Uint8Array(1), gzip: new Uint8Array(1) };
  const cases: [string | undefined, Encoding][] = [
    ['gzip, deflate, br, zstd', 'br'],
    ['gzip, deflate', 'gzip'],
    ['br;q=0, gzip', 'gzip'],
    ['BR ; Q=0.5, gzip;q=1', 'br'],
    ['*', 'br'],
    ['*;q=0.1, br;q=0', 'gzip'],
    ['gzip;q=0, br;q=0', undefined],
    ['identity', undefined],
    ['x-gzip', 'gzip'],
    ['br;q=abc', undefined],
    ['', undefined],
    [undefined, undefined],
  ];
  for (const [header, want] of cases) assert.equal(acceptedEncoding(header, both), want, String(header));
  assert.equal(acceptedEncoding('br, gzip', { gzip: new Uint8Array(1) }), 'gzip', 'only the copies there are');
  assert.equal(acceptedEncoding(['deflate', 'br'], both), 'br', 'repeated header lines');
});

test('the copies are made once per asset and held within the store limit', async () => {
  // 64 kB of seeded, barely compressible bytes: each copy is about 64 kB
  let s = 7;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) & 0xff; // xorshift32
  };
  const noise = (): Uint8Array => Uint8Array.from({ length: 65536 }, next);
  const store = new CopyStore(320_000);
  let loads = 0;
  const a = noise();
  const [c1, c2] = await Promise.all([store.copies('a', () => (loads++, a)), store.copies('a', () => (loads++, a))]);
  assert.equal(loads, 1);
  assert.equal(c1, c2);
  const text = new TextEncoder().encode('the same line again\n'.repeat(4000));
  const t = await store.copiesOf(text);
  assert.ok(t.br && t.gzip && t.br.length < 2000, 'text compresses');
  assert.equal(await store.copiesOf(text), t, 'same bytes, same copies');
  // noise is not compressible: no copy kept
  assert.deepEqual(Object.keys(c1), []);
  // half-noise assets of 600 kB (copies of about 300 kB): the first keeps only its brotli copy within the
  // limit, the second none
  const half = (): Uint8Array => {
    const big = new Uint8Array(600_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251 < 120 ? next() : 0;
    return big;
  };
  const b = await store.copiesOf(half());
  assert.ok(b.br && !b.gzip, 'brotli only');
  assert.deepEqual(await store.copiesOf(half()), {}, 'nothing past the limit');
  assert.ok(store.used <= 320_000 && store.used > 300_000, `${store.used} bytes held`);
  assert.ok(brotliDecompressSync(b.br).length === 600_000);
});

describe('serve: the page and its browser files, compressed when accepted', () => {
  let cache = '';
  let clf: Classifier | undefined;
  let onnx: Uint8Array;
  let served: ServeApp | undefined;

  before(async () => {
    cache = await mkdtemp(join(tmpdir(), 'pplcnet-web-serve-'));
    clf = await textlineClassifier(cache);
    onnx = (await resolveModel(MODEL, { cacheDir: cache })).bytes;
    served = await createServeApp([{ name: MODEL, classifier: clf, onnx }], { processMetrics: false, log: () => {} });
  });
  after(async () => {
    await served?.close();
    await clf?.close();
    await rm(cache, { recursive: true, force: true });
  });

  async function get(url: string, acceptEncoding?: string, ifNoneMatch?: string) {
    const headers: Record<string, string> = {};
    if (acceptEncoding !== undefined) headers['accept-encoding'] = acceptEncoding;
    if (ifNoneMatch !== undefined) headers['if-none-match'] = ifNoneMatch;
    return served!.app.inject({ method: 'GET', url, headers });
  }

  test('onnxruntime-web .wasm and loader, app.js, the model and the page: br, gzip or identity, each decoding to the original', async () => {
    const dist = onnxruntimeWebDist();
    const wasm = await readFile(join(dist, 'ort-wasm-simd-threaded.wasm'));
    const identityPage = (await get('/', 'identity')).rawPayload;
    const identityScript = (await get('/web/app.js')).rawPayload;
    const files: [string, Buffer, string][] = [
      ['/web/ort/ort-wasm-simd-threaded.wasm', wasm, 'application/wasm'],
      ['/web/ort/ort-wasm-simd-threaded.js', Buffer.from((await readFile(join(dist, 'ort-wasm-simd-threaded.mjs'), 'utf8')).replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, '\n')), 'text/javascript; charset=utf-8'],
      ['/web/app.js', identityScript, 'text/javascript; charset=utf-8'],
      [`/v1/models/${MODEL}/model.onnx`, Buffer.from(onnx), 'application/octet-stream'],
      ['/', identityPage, 'text/html; charset=utf-8'],
    ];
    assert.ok(identityPage.length > 1000 && identityScript.length > 10_000);
    for (const [url, original, type] of files) {
      for (const [accept, want] of [['gzip, deflate, br, zstd', 'br'], ['gzip, deflate', 'gzip'], ['identity', undefined], [undefined, undefined]] as const) {
        const res = await get(url, accept);
        assert.equal(res.statusCode, 200, url);
        assert.equal(res.headers['content-encoding'], want, `${url} for ${accept}`);
        assert.equal(res.headers['content-type'], type, url);
        assert.match(String(res.headers.vary), /accept-encoding/i, url);
        assert.equal(Number(res.headers['content-length']), res.rawPayload.length, url);
        assert.ok(decode(res.rawPayload, want).equals(original), `${url} ${want ?? 'identity'} decodes to the original`);
        if (want === 'br') assert.ok(res.rawPayload.length < original.length * 0.95, `${url}: ${res.rawPayload.length} of ${original.length}`);
      }
    }
    // the .wasm on the wire: about a fifth of its size
    assert.ok((await get(files[0]![0], 'br')).rawPayload.length < wasm.length / 4);
  });

  test('an ETag per representation: 304 only for the one the browser holds', async () => {
    const url = '/web/ort/ort-wasm-simd-threaded.wasm';
    const br = await get(url, 'br');
    const plain = await get(url, 'identity');
    const gz = await get(url, 'gzip');
    const tags = [br, plain, gz].map((r) => String(r.headers.etag));
    assert.equal(new Set(tags).size, 3, tags.join());
    assert.equal((await get(url, 'br', tags[0])).statusCode, 304);
    assert.equal((await get(url, 'gzip', tags[0])).statusCode, 200);
    assert.equal((await get(url, 'identity', tags[1])).statusCode, 304);
  });
});
