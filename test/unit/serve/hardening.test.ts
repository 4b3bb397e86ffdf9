/**
 * Hostile HTTP requests against the service, generated here (seeded where random): non-finite and
 * FP32-overflowing v2 inputs, repeated outputs, JSON bodies that break the structure bound (while health
 * checks keep being answered), malformed multipart bodies, oversize bodies read by a real client, router
 * errors, Content-Encoding, digit-only query values, and a many-file upload. Each answer is checked for its
 * status, the project's error shape and what its message names; the server log must hold no stack.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import type { Classifier } from '../../../src/classifier.js';
import { type ServeApp, type ServeOptions, createServeApp } from '../../../src/serve/app.js';
import { seededFloats } from '../../helpers.js';
import { MODEL, textlines, textlineClassifier } from './common.js';

const CLASSIFY = `/v1/models/${MODEL}/classify`;
const INFER = `/v2/models/${MODEL}/infer`;
const PLANE = 3 * 80 * 160;
const FLT_MAX = 3.4028234663852886e38;

function noStack(text: string): void {
  assert.doesNotMatch(text, /\n\s+at\s|\.js:\d+/, `a stack trace: ${text.slice(0, 300)}`);
}

/** [n, c, y, x] of a flat index into [N, 3, 80, 160], computed independently of the server. */
function at(i: number): string {
  const x = i % 160;
  const y = ((i - x) / 160) % 80;
  const c = ((i - x - 160 * y) / (160 * 80)) % 3;
  const n = Math.floor(i / PLANE);
  return `[${n},${c},${y},${x}]`;
}

describe('serve under hostile HTTP requests', () => {
  let cache = '';
  let clf: Classifier;
  const apps: ServeApp[] = [];
  const log: string[] = [];
  let served: ServeApp;
  let base = '';

  const start = async (options: ServeOptions = {}): Promise<{ app: ServeApp; base: string; sockets: Socket[] }> => {
    const app = await createServeApp([{ name: MODEL, classifier: clf }], { processMetrics: false, log: (l) => log.push(l), ...options });
    apps.push(app);
    const sockets: Socket[] = [];
    app.app.server.on('connection', (s: Socket) => sockets.push(s));
    await app.app.listen({ host: '127.0.0.1', port: 0 });
    return { app, base: `http://127.0.0.1:${(app.app.server.address() as { port: number }).port}`, sockets };
  };
  const infer = (body: string, url = base + INFER): Promise<Response> => fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const tensor = (data: Float32Array | number[], n = 1): Record<string, unknown> => ({ inputs: [{ name: 'image', shape: [n, 3, 80, 160], datatype: 'FP32', data: Array.from(data) }] });

  before(async () => {
    cache = await mkdtemp(join(tmpdir(), 'pplcnet-serve-hostile-'));
    clf = await textlineClassifier(cache);
    ({ app: served, base } = await start());
  });
  after(async () => {
    for (const a of apps) await a.close();
    await clf?.close();
    await rm(cache, { recursive: true, force: true });
    for (const l of log) noStack(l);
    assert.equal(log.filter((l) => l.startsWith('error:')).length, 0, 'no request was a server fault');
  });

  test('v2 infer: a non-finite or FP32-overflowing element → 400 naming the element and its position; FLT_MAX itself is fine', async () => {
    // written into the JSON text as they are (JSON.stringify would write null for the infinite ones)
    for (const [seed, literal, shown] of [
      [1, '1e39', '1e+39'],
      [2, '-3.5e38', '-3.5e+38'],
      [3, '1e400', 'Infinity'],
      [4, '-1e999', '-Infinity'],
    ] as const) {
      const data = Array.from(seededFloats(2 * PLANE, seed, -2, 2));
      const i = PLANE + ((seed * 7919) % PLANE); // in the second row
      data[i] = 12345.5;
      const res = await infer(JSON.stringify(tensor(data, 2)).replace('12345.5', literal));
      const body = (await res.json()) as { error: string };
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(body.error, `input 'image' element ${i} (at ${at(i)}) is ${shown}, outside FP32's finite range (±3.4028235e38): send finite FP32 values`);
    }
    const edge = Array.from(seededFloats(PLANE, 9, -2, 2));
    edge[17] = FLT_MAX;
    edge[18] = -FLT_MAX;
    const ok = await infer(JSON.stringify(tensor(edge)));
    assert.equal(ok.status, 200, await ok.clone().text());
    // the network may overflow on such inputs: what it gives is answered (null where not finite), never a 500
    assert.deepEqual(((await ok.json()) as { outputs: { shape: number[]; data: unknown[] }[] }).outputs.map((o) => [o.shape, o.data.length]), [
      [[1, 2], 2],
      [[1, 2], 2],
    ]);
  });

  test('v2 infer: an output named twice, or 10,000 times, or unknown → 400; no answer is built', async () => {
    const data = seededFloats(PLANE, 5, -1, 1);
    const twice = await infer(JSON.stringify({ ...tensor(data), outputs: [{ name: 'probs' }, { name: 'logits' }, { name: 'probs' }] }));
    assert.equal(twice.status, 400);
    assert.equal(((await twice.json()) as { error: string }).error, "output 'probs' is asked for more than once: name each of logits, probs at most once");
    // 10,000 objects are more than a request for this model can hold: refused while reading
    const many = await infer(JSON.stringify({ ...tensor(data), outputs: Array.from({ length: 10_000 }, () => ({ name: 'logits' })) }));
    assert.equal(many.status, 400);
    assert.match(((await many.json()) as { error: string }).error, new RegExp(`holds more than ${8 * 3 * 80 + 256} arrays and objects`));
    const unknown = await infer(JSON.stringify({ ...tensor(data), outputs: [{ name: 'features' }] }));
    assert.equal(unknown.status, 400);
    assert.match(((await unknown.json()) as { error: string }).error, /unknown output "features": model '.*' offers logits, probs/);
  });

  test('v2 JSON structure bound: nesting past the rank, 100 keys, more rows than --max-batch, a body over the model bound', async () => {
    const prefix = '{"inputs":[{"name":"image","data":';
    const deep = await infer(`${prefix}${'['.repeat(5)}1${']'.repeat(5)}}]}`);
    assert.equal(deep.status, 400);
    // the fifth '[' of the data is the eighth level
    assert.equal(((await deep.json()) as { error: string }).error, `the infer request nests arrays and objects 8 deep at byte ${prefix.length + 4}; at most 7 (its data nests at most 4 deep, the rank of [N,3,H,W])`);
    const keys = await infer(`{${Array.from({ length: 100 }, (_, i) => `"k${i}":${i}`).join(',')}}`);
    assert.equal(keys.status, 400);
    assert.match(((await keys.json()) as { error: string }).error, /an object of more than 64 keys/);
    const rows = await infer(JSON.stringify({ inputs: [{ name: 'image', shape: [9, 3, 80, 160], datatype: 'FP32', data: [0] }] }));
    assert.equal(rows.status, 400);
    assert.match(((await rows.json()) as { error: string }).error, /has 9 rows; at most 8 per request \(--max-batch\)/);
    // the model's bound: 8 rows × 38400 values × 32 bytes + 64 kB
    const bound = 8 * PLANE * 32 + 65536;
    const over = await infer(`{"inputs":[{"data":[${'0,'.repeat(bound / 2)}0]}]}`);
    assert.equal(over.status, 413);
    assert.equal(((await over.json()) as { error: string }).error, `the infer request is over ${bound} bytes, the most model '${MODEL}' can take (8 rows (--max-batch) of its input in JSON, within --body-limit)`);
    for (const bad of ['{"inputs": [', '{"a":1}x', '{"a":tru}', '{"a":"\u0001"}', '{"a":01}', '[1,]']) {
      const res = await infer(bad);
      assert.equal(res.status, 400, bad);
      assert.match(((await res.json()) as { error: string }).error, /^the infer request is not valid JSON: .* at byte \d+$/, bad);
    }
    // a body of the wrong shape is not echoed back in the message
    for (const [body, want] of [[`[${'1,'.repeat(100_000)}1]`, /^body must/], ['{"inputs":{}}', /^body\.inputs must be array$/]] as const) {
      const res = await infer(body);
      const { error } = (await res.json()) as { error: string };
      assert.equal(res.status, 400);
      assert.match(error, want);
      assert.ok(error.length < 200, error.slice(0, 300));
    }
    // a key named __proto__ is a key, not a prototype
    const proto = await infer(`{"__proto__":{"inputs":1},"inputs":[{"name":"image","shape":[1,3,80,160],"datatype":"FP32","data":[${Array(PLANE).fill(0).join(',')}]}]}`);
    assert.equal(proto.status, 200, await proto.clone().text());
  });

  test('v2 JSON: while ten-megabyte hostile bodies are refused, /v2/health/live keeps answering', async () => {
    // a server whose bound lets 10 MB bodies through to the parser (16 rows of the model's input)
    const big = await start({ maxBatch: 16, bodyLimit: 32 * 1024 * 1024 });
    const MB10 = 10 * 1024 * 1024;
    const bodies = [
      '{"inputs":[{"data":' + '['.repeat(MB10) + ']}]}', // nesting: refused at its eighth level
      '{"inputs":[{"name":"image","shape":[16,3,80,160],"datatype":"FP32","data":[' + '0,'.repeat(MB10 / 2 - 64) + '0]}]}', // 5 M elements, the wrong count
      '{"inputs":[{"data":[' + '[0],'.repeat(MB10 / 4 - 16) + '[0]]}]}', // 2.6 M arrays
    ];
    let stop = false;
    /** When each health answer came, and each hostile answer. */
    const health: number[] = [];
    const waits: number[] = [];
    const refused: number[] = [];
    const poll = (async () => {
      while (!stop) {
        const t0 = performance.now();
        const res = await fetch(`${big.base}/v2/health/live`);
        assert.deepEqual(await res.json(), { live: true });
        health.push(performance.now());
        waits.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const answers = await Promise.all(
      bodies.map(async (b) => {
        const res = await infer(b, big.base + INFER);
        refused.push(performance.now());
        return { status: res.status, error: ((await res.json()) as { error: string }).error };
      }),
    );
    stop = true;
    await poll;
    assert.deepEqual(answers.map((a) => a.status), [400, 400, 400]);
    assert.match(answers[0]!.error, new RegExp(`nests arrays and objects 8 deep at byte ${'{"inputs":[{"data":'.length + 4};`));
    assert.match(answers[1]!.error, new RegExp(`holds more than ${16 * PLANE + 1024} numbers`));
    assert.match(answers[2]!.error, new RegExp(`holds more than ${16 * 3 * 80 + 256} arrays and objects`));
    // health checks were answered between the first hostile answer and the last: the loop was not held by them
    const between = health.filter((t) => t > Math.min(...refused) && t < Math.max(...refused)).length;
    const span = Math.max(...refused) - Math.min(...refused);
    assert.ok(between >= 1 || span < 50, `no health answer in the ${span.toFixed(0)} ms between the hostile answers`);
    assert.ok(health.length >= 1, `health answered ${health.length} times`);
    // a generous bound (no speed is asserted: the machine may be shared): never held for seconds
    assert.ok(Math.max(...waits) < 5000, `a health check waited ${Math.max(...waits).toFixed(0)} ms`);
  });

  test('malformed multipart (no boundary, a part cut short, gzip bytes, a bare boundary) → 400 E_BAD_REQUEST, no stack', async () => {
    const part = '--xyz\r\nContent-Disposition: form-data; name="a"; filename="a.png"\r\nContent-Type: image/png\r\n\r\nabcdef';
    for (const [type, body, why] of [
      ['multipart/form-data', `${part}\r\n--xyz--\r\n`, /Boundary not found/],
      ['multipart/form-data; boundary=xyz', part, /terminated early|Unexpected end/],
      ['multipart/form-data; boundary=xyz', gzipSync(`${part}\r\n--xyz--\r\n`), /Unexpected end|malformed/],
      ['multipart/form-data; boundary=xyz', '--xyz--\r\n', /holds no file|malformed/],
    ] as const) {
      const res = await fetch(base + CLASSIFY, { method: 'POST', body, headers: { 'content-type': type } });
      const text = await res.text();
      assert.equal(res.status, 400, text);
      noStack(text);
      const { error } = JSON.parse(text) as { error: { code: string; message: string } };
      assert.equal(error.code, 'E_BAD_REQUEST');
      assert.match(error.message, why);
    }
  });

  test('an oversize body: a fetch client sees the 413; a far larger one is read only up to twice the limit', async () => {
    const small = await start({ bodyLimit: 100_000 });
    const res = await fetch(small.base + CLASSIFY, { method: 'POST', body: new Uint8Array(150_000), headers: { 'content-type': 'image/png' } });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'E_TOO_LARGE');
    // eight clients at once, each sending 1.9× the limit of a server allowing 4 MB, and eight v2 bodies of
    // 3.5 MB refused at their first bytes: every one reads its answer (the connection is kept while the rest
    // drains; closing it made a client still sending see EPIPE)
    const mb = await start({ bodyLimit: 4 * 1024 * 1024 });
    const big = new Uint8Array(Math.floor(1.9 * 4 * 1024 * 1024));
    const nested = `{"inputs":[{"data":${'['.repeat(3_500_000)}`;
    const answers = await Promise.all([
      ...Array.from({ length: 8 }, () => fetch(mb.base + CLASSIFY, { method: 'POST', body: big, headers: { 'content-type': 'image/png' } }).then((r) => r.status, (e: Error) => `${e.message} ${String((e.cause as { code?: string })?.code)}`)),
      ...Array.from({ length: 8 }, () => infer(nested, mb.base + INFER).then((r) => r.status, (e: Error) => `${e.message} ${String((e.cause as { code?: string })?.code)}`)),
    ]);
    assert.deepEqual(answers, [...Array(8).fill(413), ...Array(8).fill(400)]);
    // the answer given while the client still sends keeps the connection (it is drained, not cut)
    const early = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = httpRequest(`${mb.base}${INFER}`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': 3_000_000 } }, (res) => {
        resolve({ status: res.statusCode!, connection: res.headers.connection });
        res.resume();
        req.destroy();
      });
      req.on('error', () => {});
      req.on('close', () => reject(new Error('closed before an answer')));
      req.write('{"inputs":[{"data":[[[[[');
    });
    assert.equal(early.status, 400);
    assert.notEqual(early.connection, 'close');
    // 5 MB streamed without a length (50× the limit): the server stops reading near 2× and closes
    const chunk = new Uint8Array(64 * 1024);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (sent >= 5_000_000) return c.close();
        sent += chunk.length;
        c.enqueue(chunk);
      },
    });
    const outcome = await fetch(small.base + CLASSIFY, { method: 'POST', body: stream, duplex: 'half', headers: { 'content-type': 'image/png' } } as RequestInit).then(
      (r) => r.status,
      () => 'closed',
    );
    assert.ok(outcome === 413 || outcome === 'closed', String(outcome));
    await new Promise((r) => setTimeout(r, 200));
    const read = Math.max(...small.sockets.map((s) => s.bytesRead));
    assert.ok(read <= 2 * 100_000 + 256 * 1024, `the server read ${read} bytes of a 5 MB body over a 100 kB limit`);
  });

  test("router errors answer {error:{code,message}}: a bad %-escape, an 8 kB name, a 100 kB URL", async () => {
    const pct = await fetch(`${base}/v1/models/%zz/classify`, { method: 'POST' });
    assert.equal(pct.status, 400);
    assert.deepEqual(Object.keys(((await pct.json()) as { error: object }).error), ['code', 'message']);
    const name = 'n'.repeat(8192);
    const long = await fetch(`${base}/v1/models/${name}/classify`, { method: 'POST', body: new Uint8Array([1]), headers: { 'content-type': 'image/png' } });
    const longBody = (await long.json()) as { error: { code: string; message: string } };
    assert.equal(long.status, 404);
    assert.equal(longBody.error.code, 'E_NOT_FOUND');
    assert.ok(longBody.error.message.length < 600, 'the name is not echoed whole');
    assert.match(longBody.error.message, /\(8192 characters\)/);
    const url = await fetch(`${base}${CLASSIFY}?x=${'u'.repeat(100_000)}`, { method: 'POST' });
    assert.equal(url.status, 431);
    const urlBody = (await url.json()) as { error: { code: string; message: string } };
    assert.equal(urlBody.error.code, 'E_TOO_LARGE');
    assert.match(urlBody.error.message, /over 16 kB/);
  });

  test('Content-Encoding other than identity → 415; identity is fine', async () => {
    const [, png] = (await textlines())[0]!;
    for (const encoding of ['gzip', 'deflate', 'br', 'x-custom']) {
      const res = await served.app.inject({ method: 'POST', url: CLASSIFY, headers: { 'content-type': 'image/png', 'content-encoding': encoding }, payload: gzipSync(png) });
      assert.equal(res.statusCode, 415, encoding);
      assert.equal(res.json().error.code, 'E_MEDIA_TYPE');
      assert.match(res.json().error.message, new RegExp(`Content-Encoding "${encoding}" is not supported`));
    }
    const v2 = await served.app.inject({ method: 'POST', url: INFER, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: gzipSync('{}') });
    assert.equal(v2.statusCode, 415);
    assert.equal(typeof v2.json().error, 'string');
    const identity = await served.app.inject({ method: 'POST', url: CLASSIFY, headers: { 'content-type': 'image/png', 'content-encoding': 'identity' }, payload: png });
    assert.equal(identity.statusCode, 200);
  });

  test('topk and threshold take digits only: 0x2, 1e1, " 2", -1, 0 and 2.0e0 are refused; 02 is 2', async () => {
    const [, png] = (await textlines())[0]!;
    const post = (q: string) => served.app.inject({ method: 'POST', url: `${CLASSIFY}?${q}`, headers: { 'content-type': 'image/png' }, payload: png });
    for (const q of ['topk=0x2', 'topk=1e1', 'topk=%202', 'topk=-1', 'topk=0', 'topk=2.0', 'threshold=2', 'threshold=5e-1', 'threshold=0x1', 'threshold=-0.5']) {
      const res = await post(q);
      assert.equal(res.statusCode, 400, q);
      assert.equal(res.json().error.code, 'E_BAD_REQUEST');
      const [key, value] = q.split('=') as [string, string];
      assert.match(res.json().error.message, new RegExp(`^Expected .* for '${key}' but received ${JSON.stringify(decodeURIComponent(value)).replace(/[.+]/g, '\\$&')}$`), q);
    }
    const ok = await post('topk=02');
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().results[0].topk.length, 2);
  });

  test('a request of 20 images raises no MaxListenersExceededWarning', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const lines = await textlines();
      const form = new FormData();
      for (const [n, b] of lines) form.append(n, new Blob([new Uint8Array(b)], { type: 'image/png' }), n);
      const res = await fetch(base + CLASSIFY, { method: 'POST', body: form });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { results: unknown[] }).results.length, 20);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(warnings.filter((w) => /MaxListeners/.test(w)), []);
  });

  test('a raw upload without a content-type gets the message a JSON upload gets: what to send', async () => {
    const none = await fetch(base + CLASSIFY, { method: 'POST', body: new Uint8Array([0x89, 0x50, 0x4e, 0x47]) });
    const json = await fetch(base + CLASSIFY, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    const [a, b] = [(await none.json()) as { error: { code: string; message: string } }, (await json.json()) as { error: { code: string; message: string } }];
    assert.deepEqual([none.status, json.status], [415, 415]);
    assert.equal(a.error.code, 'E_MEDIA_TYPE');
    const what = 'send the image bytes with content-type image/* (e.g. image/png) or application/octet-stream, or a multipart/form-data upload of files';
    assert.equal(a.error.message, `a body without a content-type is not an image: ${what}`);
    assert.equal(b.error.message, `content-type application/json is not an image: ${what}`);
  });
});
