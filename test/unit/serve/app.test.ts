import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Classifier } from '../../../src/classifier.js';
import { type ClassifyRow, type ServeApp, type ServeOptions, createServeApp } from '../../../src/serve/app.js';
import { FIXTURES } from '../../fixtures/index.js';
import { pngHeader } from '../../png.js';
import { MODEL, metricSamples, textlineClassifier, textlines, thirtyTwoImages } from './common.js';

const CLASSIFY = `/v1/models/${MODEL}/classify`;

/** No answer body may carry a stack trace. */
function noStack(body: string): void {
  assert.doesNotMatch(body, /\n\s+at\s|\.js:\d+/, `a stack trace reached the client: ${body}`);
}

describe('pplcnet serve: the HTTP service over the text-line model', () => {
  let cache = '';
  let clf: Classifier;
  let served: ServeApp;
  const logLines: string[] = [];
  const apps: ServeApp[] = [];
  /** One-image library results for each fixture: the reference every answer must equal. */
  const reference = new Map<string, Float32Array>();
  let lines: [string, Buffer][] = [];

  const extraApp = async (options: ServeOptions): Promise<ServeApp> => {
    const s = await createServeApp([{ name: MODEL, classifier: clf }], { processMetrics: false, ...options });
    apps.push(s);
    return s;
  };

  before(async () => {
    cache = await mkdtemp(join(tmpdir(), 'pplcnet-serve-'));
    clf = await textlineClassifier(cache);
    served = await createServeApp([{ name: MODEL, classifier: clf }], { log: (l) => logLines.push(l), processMetrics: false });
    lines = await textlines();
    for (const [name] of lines) reference.set(name, (await clf.classify(join(FIXTURES.textlines, name))).probs);
  });
  after(async () => {
    await served?.close();
    for (const a of apps) await a.close();
    await clf?.close();
    await rm(cache, { recursive: true, force: true });
  });

  test('raw image body: top-k equals a one-image classify of the same file (1e-6); one log line', async () => {
    const [name, bytes] = lines[3]!;
    const before = logLines.length;
    const res = await served.app.inject({ method: 'POST', url: `${CLASSIFY}?topk=2`, headers: { 'content-type': 'image/png' }, payload: bytes });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.model, MODEL);
    assert.equal(body.results.length, 1);
    const row = body.results[0];
    assert.equal(row.file, 'body');
    assert.equal(row.topk.length, 2);
    const probs = reference.get(name)!;
    for (const t of row.topk) assert.ok(Math.abs(t.score - probs[t.classId]!) <= 1e-6, `${t.label}: ${t.score} vs ${probs[t.classId]}`);
    assert.equal(row.topk[0].label, name.includes('_up') ? '0_degree' : '180_degree');
    assert.deepEqual(Object.keys(row.timings).sort(), ['batchInferenceMs', 'batchSize', 'decodeMs', 'preprocessMs', 'queueMs']);
    assert.equal(logLines.length, before + 1);
    assert.match(logLines.at(-1)!, new RegExp(`^POST ${CLASSIFY} 200 [\\d.]+ ms 1 image\\(s\\)$`));
  });

  test("application/octet-stream works; topk defaults to the model's (1); a bad topk is 400", async () => {
    const [name, bytes] = lines[0]!;
    const res = await served.app.inject({ method: 'POST', url: CLASSIFY, headers: { 'content-type': 'application/octet-stream' }, payload: bytes });
    assert.equal(res.statusCode, 200, res.body);
    const t = res.json().results[0].topk;
    assert.equal(t.length, 1);
    assert.ok(Math.abs(t[0].score - Math.max(...reference.get(name)!)) <= 1e-6);
    const withParams = await served.app.inject({ method: 'POST', url: CLASSIFY, headers: { 'content-type': 'image/png; name="line.png"' }, payload: bytes });
    assert.equal(withParams.statusCode, 200, withParams.body);
    const badK = await served.app.inject({ method: 'POST', url: `${CLASSIFY}?topk=zero`, headers: { 'content-type': 'image/png' }, payload: bytes });
    assert.equal(badK.statusCode, 400);
    assert.equal(badK.json().error.code, 'E_BAD_REQUEST');
    assert.match(badK.json().error.message, /topk/);
  });

  test('multipart with several files: each classified; one bad file is its row with an error, still 200', async () => {
    await served.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = served.app.server.address() as { port: number };
    const form = new FormData();
    form.append('a', new Blob([new Uint8Array(lines[1]![1])], { type: 'image/png' }), lines[1]![0]);
    form.append('b', new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3])], { type: 'image/png' }), 'broken.png');
    form.append('c', new Blob([new Uint8Array(lines[2]![1])], { type: 'image/png' }), lines[2]![0]);
    const res = await fetch(`http://127.0.0.1:${port}${CLASSIFY}?topk=2`, { method: 'POST', body: form });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    noStack(text);
    const { results } = JSON.parse(text);
    assert.deepEqual(results.map((r: { file: string }) => r.file), [lines[1]![0], 'broken.png', lines[2]![0]]);
    for (const i of [0, 2]) {
      const probs = reference.get(results[i].file)!;
      for (const t of results[i].topk) assert.ok(Math.abs(t.score - probs[t.classId]!) <= 1e-6);
    }
    assert.equal(results[1].error.code, 'E_IMAGE');
    assert.match(results[1].error.message, /^broken\.png: cannot decode/);
    assert.equal(results[1].topk, undefined);
  });

  test('bad bodies: truncated image, 0 bytes, a 60000×60000 PNG header → 400 E_IMAGE; wrong content-type → 415; 30 MB → 413', async () => {
    const post = (payload: Buffer, type = 'image/png') => served.app.inject({ method: 'POST', url: CLASSIFY, headers: { 'content-type': type }, payload });
    const truncated = await post(lines[0]![1].subarray(0, Math.floor(lines[0]![1].length / 2)));
    assert.equal(truncated.statusCode, 400, truncated.body);
    assert.equal(truncated.json().error.code, 'E_IMAGE');
    const empty = await post(Buffer.alloc(0));
    assert.equal(empty.statusCode, 400);
    assert.equal(empty.json().error.code, 'E_IMAGE');
    assert.match(empty.json().error.message, /empty/);
    const huge = await post(pngHeader(60000, 60000));
    assert.equal(huge.statusCode, 400, huge.body);
    assert.equal(huge.json().error.code, 'E_IMAGE');
    assert.match(huge.json().error.message, /the PNG image declares 60000x60000 = 3600000000 pixels, more than the limit of 50000000 .*not decoded.*--max-pixels/);
    const text = await post(Buffer.from('hello'), 'text/plain');
    assert.equal(text.statusCode, 415);
    assert.equal(text.json().error.code, 'E_MEDIA_TYPE');
    const big = await post(Buffer.alloc(30 * 1024 * 1024, 1));
    assert.equal(big.statusCode, 413);
    assert.equal(big.json().error.code, 'E_TOO_LARGE');
    for (const r of [truncated, empty, huge, text, big]) noStack(r.body);
  });

  test('a multipart upload whose files together pass --body-limit → 413; a file alone over it → 413', async () => {
    const small = await extraApp({ bodyLimit: 1500 });
    await small.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = small.app.server.address() as { port: number };
    const send = async (sizes: number[]): Promise<{ status: number; body: { error: { code: string; message: string } } }> => {
      const form = new FormData();
      sizes.forEach((n, i) => form.append(`f${i}`, new Blob([new Uint8Array(n).fill(7)], { type: 'image/png' }), `${i}.png`));
      const res = await fetch(`http://127.0.0.1:${port}${CLASSIFY}`, { method: 'POST', body: form });
      return { status: res.status, body: (await res.json()) as { error: { code: string; message: string } } };
    };
    const together = await send([1000, 1000]);
    assert.equal(together.status, 413);
    assert.equal(together.body.error.code, 'E_TOO_LARGE');
    assert.match(together.body.error.message, /over 1500 bytes \(--body-limit\)/);
    const alone = await send([2000]);
    assert.equal(alone.status, 413);
    const fine = await send([100, 100]); // under the limit: two undecodable files, each its own row
    assert.equal(fine.status, 200);
  });

  test('pixel limit: an image over --max-pixels is refused with 400 before decoding', async () => {
    const small = await extraApp({ maxPixels: 160 * 40 });
    const [, bytes] = lines[0]!;
    const res = await small.app.inject({ method: 'POST', url: CLASSIFY, headers: { 'content-type': 'image/png' }, payload: bytes });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().error.message, /the PNG image declares \d+x\d+ = \d+ pixels, more than the limit of 6400 .*--max-pixels/);
  });

  test('unknown model → 404; unknown route → 404; wrong method → 405 with Allow', async () => {
    const unknown = await served.app.inject({ method: 'POST', url: '/v1/models/resnet50/classify', headers: { 'content-type': 'image/png' }, payload: lines[0]![1] });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error.code, 'E_NOT_FOUND');
    assert.match(unknown.json().error.message, new RegExp(`'resnet50' is not loaded; loaded: ${MODEL}`));
    const route = await served.app.inject({ method: 'GET', url: '/v1/nothing' });
    assert.equal(route.statusCode, 404);
    const get = await served.app.inject({ method: 'GET', url: CLASSIFY });
    assert.equal(get.statusCode, 405);
    assert.equal(get.headers.allow, 'POST');
    assert.equal(get.json().error.code, 'E_METHOD');
    const del = await served.app.inject({ method: 'DELETE', url: '/v2/health/live' });
    assert.equal(del.statusCode, 405);
    assert.equal(typeof del.json().error, 'string'); // v2 routes answer the protocol's error shape
  });

  test('GET /v1/models lists the model with its metadata', async () => {
    const res = await served.app.inject({ method: 'GET', url: '/v1/models' });
    assert.equal(res.statusCode, 200);
    const [m] = res.json().models;
    assert.equal(m.name, MODEL);
    assert.equal(m.labels, 2);
    assert.equal(m.classes, 2);
    assert.deepEqual(m.inputSize, [80, 160]);
    assert.deepEqual(m.input, { name: 'image', shape: [-1, 3, 80, 160], datatype: 'FP32' });
    assert.deepEqual(m.preprocess, JSON.parse(JSON.stringify(clf.preprocess)));
    assert.equal(m.provider, 'cpu');
  });

  test('32 concurrent requests with different images: each answer equals the one-image result; batches > 1 happened', async () => {
    const app = await extraApp({ maxDelayMs: 10 });
    await app.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = app.app.server.address() as { port: number };
    const images = await thirtyTwoImages();
    assert.equal(images.length, 32);
    const expected = await Promise.all(images.map(async ([, b]) => (await clf.classify(b)).probs));
    const answers = await Promise.all(
      images.map(async ([, b]) => {
        const res = await fetch(`http://127.0.0.1:${port}${CLASSIFY}?topk=2`, { method: 'POST', body: new Uint8Array(b), headers: { 'content-type': 'application/octet-stream' } });
        assert.equal(res.status, 200);
        return ((await res.json()) as { results: ClassifyRow[] }).results[0]!;
      }),
    );
    let batched = 0;
    answers.forEach((a, i) => {
      assert.equal(a.topk!.length, 2);
      for (const t of a.topk!) assert.ok(Math.abs(t.score - expected[i]![t.classId]!) <= 1e-6, `${images[i]![0]}: ${t.score} vs ${expected[i]![t.classId]}`);
      if (a.timings!.batchSize! > 1) batched++;
    });
    assert.ok(batched > 0, 'no request shared a batch');
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const buckets = metricSamples(metrics, 'pplcnet_batch_size_bucket');
    const count = metricSamples(metrics, 'pplcnet_batch_size_count').get(`{model="${MODEL}"}`)!;
    const ones = buckets.get(`{le="1",model="${MODEL}"}`)!;
    const sum = metricSamples(metrics, 'pplcnet_batch_size_sum').get(`{model="${MODEL}"}`)!;
    assert.equal(sum, 32); // every image in exactly one run (the warm-up run bypasses the batcher)
    assert.ok(count < 32 && ones < count, `batches: ${count}, of one image: ${ones}`);
    assert.equal(metricSamples(metrics, 'pplcnet_images_classified_total').get(`{model="${MODEL}"}`), 32);
    assert.equal(metricSamples(metrics, 'pplcnet_queue_depth').get(''), 0);
    assert.equal(metricSamples(metrics, 'pplcnet_http_requests_total').get(`{method="POST",route="/v1/models/:name/classify",code="200"}`), 32);
  });

  test('a full queue answers 503 with Retry-After; a request over --timeout-ms answers 504 and leaves the queue', async () => {
    const [, bytes] = lines[0]!;
    const tight = await extraApp({ maxQueue: 2 });
    await tight.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = tight.app.server.address() as { port: number };
    const form = new FormData();
    for (let i = 0; i < 3; i++) form.append(`f${i}`, new Blob([new Uint8Array(bytes)], { type: 'image/png' }), `${i}.png`);
    const full = await fetch(`http://127.0.0.1:${port}${CLASSIFY}`, { method: 'POST', body: form });
    assert.equal(full.status, 503);
    assert.equal(full.headers.get('retry-after'), '1');
    assert.equal(((await full.json()) as { error: { code: string } }).error.code, 'E_QUEUE_FULL');
    // a batch that waits 10 s for company, and a 300 ms limit
    const slow = await extraApp({ maxDelayMs: 10_000, timeoutMs: 300 });
    const t0 = performance.now();
    const res = await slow.app.inject({ method: 'POST', url: CLASSIFY, headers: { 'content-type': 'image/png' }, payload: bytes });
    assert.equal(res.statusCode, 504, res.body);
    assert.equal(res.json().error.code, 'E_TIMEOUT');
    assert.ok(performance.now() - t0 < 5000);
    // the image leaves the queue as soon as its decoding (already started in a worker) ends
    for (let i = 0; i < 100 && slow.queueDepth > 0; i++) await sleep(50);
    assert.equal(slow.queueDepth, 0);
    assert.equal([...slow.models.values()][0]!.batcher.pending, 0);
  });

  test('--api-key: no key or a wrong key → 401 on classify, infer, models and metrics; health stays open', async () => {
    const locked = await extraApp({ apiKey: 's3cret-key' });
    const [, bytes] = lines[0]!;
    const calls = [
      { method: 'POST' as const, url: CLASSIFY, headers: { 'content-type': 'image/png' }, payload: bytes },
      { method: 'POST' as const, url: `/v2/models/${MODEL}/infer`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ inputs: [{ name: 'image', shape: [1, 3, 80, 160], datatype: 'FP32', data: new Array(3 * 80 * 160).fill(0) }] }) },
      { method: 'GET' as const, url: '/v1/models' },
      { method: 'GET' as const, url: '/metrics' },
    ];
    for (const c of calls) {
      for (const auth of [undefined, 'Bearer wrong-key', 'Bearer s3cret-ke', 'Basic s3cret-key']) {
        const res = await locked.app.inject({ ...c, headers: { ...c.headers, ...(auth ? { authorization: auth } : {}) } });
        assert.equal(res.statusCode, 401, `${c.url} with ${auth}`);
        assert.equal(res.headers['www-authenticate'], 'Bearer');
        noStack(res.body);
      }
      const ok = await locked.app.inject({ ...c, headers: { ...c.headers, authorization: 'Bearer s3cret-key' } });
      assert.equal(ok.statusCode, 200, `${c.url}: ${ok.body.slice(0, 200)}`);
    }
    for (const url of ['/v2/health/live', '/v2/health/ready']) assert.equal((await locked.app.inject({ method: 'GET', url })).statusCode, 200);
  });

  test('CORS is off unless origins are named; named origins get the headers and preflights', async () => {
    const plain = await served.app.inject({ method: 'GET', url: '/v1/models', headers: { origin: 'https://a.example' } });
    assert.equal(plain.headers['access-control-allow-origin'], undefined);
    const cors = await extraApp({ cors: ['https://a.example'] });
    const allowed = await cors.app.inject({ method: 'GET', url: '/v1/models', headers: { origin: 'https://a.example' } });
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://a.example');
    const other = await cors.app.inject({ method: 'GET', url: '/v1/models', headers: { origin: 'https://b.example' } });
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    const pre = await cors.app.inject({ method: 'OPTIONS', url: CLASSIFY, headers: { origin: 'https://a.example', 'access-control-request-method': 'POST' } });
    assert.equal(pre.statusCode, 204);
    assert.match(String(pre.headers['access-control-allow-headers']), /authorization/);
  });

  test('--log-json: one JSON object per request', async () => {
    const lines2: string[] = [];
    const app = await extraApp({ logJson: true, log: (l) => lines2.push(l) });
    await app.app.inject({ method: 'GET', url: '/v2/health/live' });
    await app.app.inject({ method: 'POST', url: CLASSIFY, headers: { 'content-type': 'image/png' }, payload: Buffer.alloc(0) });
    assert.equal(lines2.length, 2);
    const [a, b] = lines2.map((l) => JSON.parse(l));
    assert.deepEqual([a.method, a.route, a.status, a.images], ['GET', '/v2/health/live', 200, 0]);
    assert.deepEqual([b.method, b.url, b.status], ['POST', CLASSIFY, 400]);
    assert.equal(typeof b.ms, 'number');
  });

  test('several models: each listed and served under its name; two models of one name are refused', async () => {
    const two = await extraApp({});
    assert.deepEqual([...two.models.keys()], [MODEL]);
    const pair = await createServeApp(
      [
        { name: 'lines-a', classifier: clf },
        { name: 'lines-b', classifier: clf },
      ],
      { processMetrics: false },
    );
    apps.push(pair);
    const listed = (await pair.app.inject({ method: 'GET', url: '/v1/models' })).json().models.map((m: { name: string }) => m.name);
    assert.deepEqual(listed, ['lines-a', 'lines-b']);
    const [name, bytes] = lines[6]!;
    for (const m of listed) {
      const res = await pair.app.inject({ method: 'POST', url: `/v1/models/${m}/classify`, headers: { 'content-type': 'image/png' }, payload: bytes });
      assert.equal(res.json().model, m);
      const t = res.json().results[0].topk[0];
      assert.ok(Math.abs(t.score - reference.get(name)![t.classId]!) <= 1e-6);
    }
    await assert.rejects(
      createServeApp(
        [
          { name: 'same', classifier: clf },
          { name: 'same', classifier: clf },
        ],
        { processMetrics: false },
      ),
      /Two models are named 'same'/,
    );
  });

  test('GET / serves the page', async () => {
    const res = await served.app.inject({ method: 'GET', url: '/' });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(res.body, /<input id="file" type="file"/);
    assert.match(res.body, /name="viewport" content="width=device-width/);
  });

  test('the shipped example images through the API: upright → 0_degree, upside down → 180_degree', async () => {
    for (const [file, want] of [['textline_upright.png', '0_degree'], ['textline_upside_down.png', '180_degree']] as const) {
      const bytes = await readFile(join(FIXTURES.textlineModel, '..', 'examples', file));
      const res = await served.app.inject({ method: 'POST', url: CLASSIFY, headers: { 'content-type': 'image/png' }, payload: bytes });
      assert.equal(res.json().results[0].topk[0].label, want);
    }
  });
});
