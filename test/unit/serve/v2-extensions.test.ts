/**
 * Triton's v2 extensions, through a client written from the protocol documents (Triton's
 * extension_binary_data.md, extension_classification.md, extension_model_repository.md,
 * extension_statistics.md), not from the server: the binary request bytes are built here by hand, the binary
 * answers split and decoded here. Every answer is checked against the library's run of the same tensor (1e-6),
 * every error against its status and message, the statistics against the requests this test made.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Classifier, createClassifier } from '../../../src/classifier.js';
import { convertPdparams } from '../../../src/convert/from-weights.js';
import { type ServeApp, createServeApp } from '../../../src/serve/app.js';
import { cFixed } from '../../../src/serve/v2-classification.js';
import { FIXTURES } from '../../fixtures/index.js';
import { assertAllClose, seededFloats } from '../../helpers.js';
import { MODEL, textlineClassifier, textlines } from './common.js';

const PLANE = 3 * 80 * 160;

interface Output {
  name: string;
  datatype: string;
  shape: number[];
  data?: (number | string | null)[];
  parameters?: { binary_data_size?: number };
}
interface Answer {
  status: number;
  headers: Headers;
  json: { outputs?: Output[]; error?: string; [k: string]: unknown };
  /** Each binary output's bytes, by name. */
  binary: Map<string, Buffer>;
}

/** Little-endian FP32 bytes of a tensor, row-major, no padding (the extension's layout). */
function fp32Bytes(t: Float32Array): Buffer {
  const b = Buffer.alloc(t.length * 4);
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < t.length; i++) view.setFloat32(4 * i, t[i]!, true);
  return b;
}

/** FP32 elements of little-endian bytes. */
function fp32Of(b: Buffer): Float32Array {
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  return Float32Array.from({ length: b.length / 4 }, (_, i) => view.getFloat32(4 * i, true));
}

/** BYTES elements: each a 4-byte little-endian length, then its bytes. */
function stringsOf(b: Buffer): string[] {
  const out: string[] = [];
  for (let at = 0; at < b.length; ) {
    const n = b.readUInt32LE(at);
    out.push(b.subarray(at + 4, at + 4 + n).toString('utf8'));
    at += 4 + n;
  }
  return out;
}

/**
 * The library's top classes of one row, written as the extension's strings: value:index[:label], highest first,
 * the value with six decimals as Triton writes it (C's "%f"; `toFixed(6)` is the same but for exact halfway
 * cases, which the "%f" test below covers).
 */
function expectedStrings(row: Float32Array, k: number, labels?: readonly string[]): string[] {
  return [...row.keys()]
    .sort((a, b) => row[b]! - row[a]! || a - b)
    .slice(0, k)
    .map((i) => [row[i]!.toFixed(6), String(i), ...(labels ? [labels[i]!] : [])].join(':'));
}

describe('v2 extensions: binary tensor data, classification, model repository, statistics', () => {
  let cache = '';
  let clf: Classifier;
  let plain: Classifier;
  let served: ServeApp;
  let base = '';

  /** POST a request: JSON, or (with `tensors`) the JSON then the tensors' bytes and Inference-Header-Content-Length. */
  const post = async (path: string, json: unknown, tensors?: Float32Array[], headers: Record<string, string> = {}): Promise<Answer> => {
    const head = Buffer.from(JSON.stringify(json));
    const body = tensors ? Buffer.concat([head, ...tensors.map(fp32Bytes)]) : head;
    const h = tensors ? { 'inference-header-content-length': String(head.length), ...headers } : { 'content-type': 'application/json', ...headers };
    return answerOf(await fetch(`${base}${path}`, { method: 'POST', body, headers: h }));
  };
  /** Split an answer: the JSON (Inference-Header-Content-Length bytes of it when given), then the binary outputs in order. */
  const answerOf = async (res: Response): Promise<Answer> => {
    const bytes = Buffer.from(await res.arrayBuffer());
    const given = res.headers.get('inference-header-content-length');
    const jsonLength = given === null ? bytes.length : Number(given);
    const json = JSON.parse(bytes.subarray(0, jsonLength).toString('utf8')) as Answer['json'];
    const binary = new Map<string, Buffer>();
    let at = jsonLength;
    for (const o of json.outputs ?? []) {
      const size = o.parameters?.binary_data_size;
      if (size === undefined) continue;
      binary.set(o.name, bytes.subarray(at, at + size));
      at += size;
    }
    assert.equal(at, bytes.length, 'the binary outputs fill the rest of the body');
    return { status: res.status, headers: res.headers, json, binary };
  };
  const get = async (path: string): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await fetch(`${base}${path}`);
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const library = async (c: Classifier, data: Float32Array, n: number, h = 80, w = 160): Promise<{ probs: Float32Array; logits: Float32Array | undefined }> => {
    const probs = await c.run(data, n, h, w);
    return { probs, logits: c.lastLogits };
  };
  const rows = (flat: Float32Array, n: number): Float32Array[] => Array.from({ length: n }, (_, i) => flat.subarray((i * flat.length) / n, ((i + 1) * flat.length) / n));
  const input = (n: number, binary?: number) => ({ name: 'image', shape: [n, 3, 80, 160], datatype: 'FP32', ...(binary !== undefined ? { parameters: { binary_data_size: binary } } : {}) });

  before(async () => {
    cache = await mkdtemp(join(tmpdir(), 'pplcnet-serve-v2ext-'));
    clf = await textlineClassifier(cache);
    // a model without labels: the multi-label fixture's network with a softmax head, no label file
    const ref = JSON.parse(await readFile(join(FIXTURES.heads, 'reference.json'), 'utf8')) as { size: number };
    plain = await createClassifier({ model: (await convertPdparams(join(FIXTURES.heads, 'multilabel.pdparams'), { inputSize: ref.size })).bytes, workers: 0, ep: 'cpu', threads: 1 });
    assert.equal(plain.labels, undefined, 'the fixture model has no labels');
    served = await createServeApp([{ name: MODEL, classifier: clf }, { name: 'plain', classifier: plain }], { processMetrics: false });
    await served.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(served.app.server.address() as { port: number }).port}`;
  });
  after(async () => {
    await served?.close();
    await clf?.close();
    await plain?.close();
    await rm(cache, { recursive: true, force: true });
  });

  test('GET /v2 lists the extensions', async () => {
    const meta = await get('/v2');
    assert.deepEqual(meta.json.extensions, ['binary_tensor_data', 'classification', 'model_repository', 'statistics']);
  });

  test('binary input, binary outputs: the bytes after the JSON, equal to the library (1e-6)', async () => {
    const data = seededFloats(3 * PLANE, 7, -2, 2);
    // no content-type, as Triton's Python client sends it
    const a = await post(`/v2/models/${MODEL}/infer`, { id: 'b1', inputs: [input(3, data.length * 4)], outputs: [{ name: 'logits', parameters: { binary_data: true } }, { name: 'probs', parameters: { binary_data: true } }] }, [data]);
    assert.equal(a.status, 200, JSON.stringify(a.json));
    assert.equal(a.headers.get('content-type'), 'application/octet-stream');
    assert.equal(a.json.id, 'b1');
    assert.deepEqual(a.json.outputs, [
      { name: 'logits', datatype: 'FP32', shape: [3, 2], parameters: { binary_data_size: 24 } },
      { name: 'probs', datatype: 'FP32', shape: [3, 2], parameters: { binary_data_size: 24 } },
    ]);
    const want = await library(clf, data, 3);
    assertAllClose(fp32Of(a.binary.get('probs')!), want.probs, { atol: 1e-6, what: 'probs' });
    assertAllClose(fp32Of(a.binary.get('logits')!), want.logits!, { atol: 1e-6, what: 'logits' });
  });

  test('binary input with a JSON answer; JSON input with binary_data_output, one output overriding it', async () => {
    const data = seededFloats(2 * PLANE, 8, -2, 2);
    const want = await library(clf, data, 2);
    const a = await post(`/v2/models/${MODEL}/infer`, { inputs: [input(2, data.length * 4)] }, [data], { 'content-type': 'application/octet-stream' });
    assert.equal(a.status, 200, JSON.stringify(a.json));
    assert.equal(a.headers.get('inference-header-content-length'), null);
    assertAllClose(a.json.outputs![1]!.data as number[], want.probs, { atol: 1e-6, what: 'probs (JSON)' });
    const b = await post(`/v2/models/${MODEL}/infer`, { inputs: [{ ...input(2), data: Array.from(data) }], parameters: { binary_data_output: true }, outputs: [{ name: 'logits', parameters: { binary_data: false } }, { name: 'probs' }] });
    assert.equal(b.status, 200, JSON.stringify(b.json));
    assert.equal(b.json.outputs![0]!.parameters, undefined);
    assertAllClose(b.json.outputs![0]!.data as number[], want.logits!, { atol: 1e-6, what: 'logits (JSON)' });
    assert.deepEqual([...b.binary.keys()], ['probs']);
    assertAllClose(fp32Of(b.binary.get('probs')!), want.probs, { atol: 1e-6, what: 'probs (binary)' });
  });

  test('classification: K strings "value:index:label" per row, [batch, K], highest first', async () => {
    const lines = await textlines();
    const data = new Float32Array(4 * PLANE);
    for (const [i, [, bytes]] of lines.slice(0, 4).entries()) data.set((await clf.prepare(bytes)).data, i * PLANE);
    const want = await library(clf, data, 4);
    const a = await post(`/v2/models/${MODEL}/infer`, { inputs: [{ ...input(4), data: Array.from(data) }], outputs: [{ name: 'probs', parameters: { classification: 2 } }, { name: 'logits', parameters: { classification: 1 } }] });
    assert.equal(a.status, 200, JSON.stringify(a.json));
    const [probs, logits] = a.json.outputs!;
    assert.deepEqual([probs!.datatype, probs!.shape, logits!.datatype, logits!.shape], ['BYTES', [4, 2], 'BYTES', [4, 1]]);
    const labels = clf.labels!;
    assert.deepEqual(labels, ['0_degree', '180_degree']);
    assert.deepEqual(probs!.data, rows(want.probs, 4).flatMap((r) => expectedStrings(r, 2, labels)));
    assert.deepEqual(logits!.data, rows(want.logits!, 4).flatMap((r) => expectedStrings(r, 1, labels)));
    // read back as a client would: the value within %f's 5e-7 of the library's, the index and label of that class
    for (const [i, s] of (probs!.data as string[]).entries()) {
      const [value, index, label] = s.split(':');
      assert.ok(Math.abs(Number(value) - want.probs[Math.floor(i / 2) * 2 + Number(index)]!) <= 5e-7 + 1e-6, s);
      assert.equal(label, labels[Number(index)]);
    }
    // the images are what their names say: the top class of row i is its file's direction
    for (const [i, [name]] of lines.slice(0, 4).entries()) assert.match((probs!.data as string[])[2 * i]!, new RegExp(`:${name.includes('down') ? '1:180' : '0:0'}_degree$`));
  });

  test('classification on a model without labels: "value:index" only; in binary as BYTES elements', async () => {
    const data = seededFloats(2 * 3 * 64 * 64, 9, -2, 2);
    const want = await library(plain, data, 2, 64, 64);
    const body = { inputs: [{ name: 'image', shape: [2, 3, 64, 64], datatype: 'FP32', data: Array.from(data) }], outputs: [{ name: 'probs', parameters: { classification: 3 } }] };
    const a = await post('/v2/models/plain/infer', body);
    assert.equal(a.status, 200, JSON.stringify(a.json));
    const expected = rows(want.probs, 2).flatMap((r) => expectedStrings(r, 3));
    assert.deepEqual(a.json.outputs![0]!.shape, [2, 3]);
    assert.deepEqual(a.json.outputs![0]!.data, expected);
    for (const s of expected) assert.match(s, /^\d+\.\d{6}:\d$/);
    const b = await post('/v2/models/plain/infer', { ...body, outputs: [{ name: 'probs', parameters: { classification: 3, binary_data: true } }] });
    assert.equal(b.status, 200);
    assert.deepEqual(b.json.outputs![0]!.datatype, 'BYTES');
    assert.deepEqual(stringsOf(b.binary.get('probs')!), expected);
    // more classes than the model has: every class once
    const c = await post('/v2/models/plain/infer', { ...body, outputs: [{ name: 'probs', parameters: { classification: 50 } }] });
    assert.deepEqual(c.json.outputs![0]!.shape, [2, 6]);
  });

  test('values are written as C\'s "%f" (the numbers Python\'s "%f" gives, halfway cases to even)', async () => {
    const cases = JSON.parse(await readFile(FIXTURES.cfixed, 'utf8')) as [number, string][];
    const f = new Float32Array(new Uint32Array(cases.map(([bits]) => bits)).buffer);
    const wrong = cases.flatMap(([, text], i) => (cFixed(f[i]!) === text ? [] : [`${f[i]} → ${cFixed(f[i]!)}, printf ${text}`]));
    assert.deepEqual(wrong, []);
  });

  test('binary errors: the header missing, not a number, too long; sizes not matching; data with binary_data_size', async () => {
    const url = `/v2/models/${MODEL}/infer`;
    const one = seededFloats(PLANE, 10);
    const raw = async (body: Buffer, headers: Record<string, string>): Promise<Answer> => answerOf(await fetch(`${base}${url}`, { method: 'POST', body: new Uint8Array(body), headers }));
    const head = Buffer.from(JSON.stringify({ inputs: [input(1, PLANE * 4)] }));
    const body = Buffer.concat([head, fp32Bytes(one)]);
    const cases: [string, Promise<Answer>, number, RegExp][] = [
      ['no header, octet-stream', raw(body, { 'content-type': 'application/octet-stream' }), 400, /Inference-Header-Content-Length is missing/],
      ['binary_data_size in a JSON request', raw(head, { 'content-type': 'application/json' }), 400, /"binary_data_size" but the request has no Inference-Header-Content-Length/],
      ['not a number', raw(body, { 'inference-header-content-length': 'abc' }), 400, /Inference-Header-Content-Length is "abc", not a number/],
      ['negative', raw(body, { 'inference-header-content-length': '-5' }), 400, /not a number of bytes/],
      ['past the body', raw(body, { 'inference-header-content-length': String(body.length + 1) }), 400, /but the body is only \d+ bytes/],
      ['cutting the JSON', raw(body, { 'inference-header-content-length': String(head.length - 3) }), 400, /not valid JSON/],
      ['size ≠ shape × 4', post(url, { inputs: [input(1, PLANE * 4 - 4)] }, [one.subarray(1)]), 400, /"binary_data_size": 153596; its shape \[1,3,80,160\] of FP32 \(4 bytes each\) is 153600 bytes/],
      ['size ≠ bytes sent', post(url, { inputs: [input(1, PLANE * 4)] }, [one, one.subarray(0, 1)]), 400, /holds 153604 bytes after its JSON part .* "binary_data_size": 153600/],
      ['bytes but no binary input', post(url, { inputs: [{ ...input(1), data: Array.from(one) }] }, [one.subarray(0, 2)]), 400, /8 bytes after its JSON part, but no input has "binary_data_size"/],
      ['data and binary_data_size', post(url, { inputs: [{ ...input(1, PLANE * 4), data: [1] }] }, [one]), 400, /both "data" and "binary_data_size"/],
      ['binary_data not a boolean', post(url, { inputs: [input(1, PLANE * 4)], outputs: [{ name: 'probs', parameters: { binary_data: 'yes' } }] }, [one]), 400, /"binary_data": "yes"; expected true or false/],
      ['classification 0', post(url, { inputs: [input(1, PLANE * 4)], outputs: [{ name: 'probs', parameters: { classification: 0 } }] }, [one]), 400, /"classification": 0; expected a positive integer/],
    ];
    for (const [what, pending, status, message] of cases) {
      const a = await pending;
      assert.equal(a.status, status, `${what}: ${JSON.stringify(a.json)}`);
      assert.deepEqual(Object.keys(a.json), ['error'], what);
      assert.match(a.json.error!, message, what);
    }
    // a non-finite element in the bytes: named with its position, as in JSON
    const nan = Float32Array.from(one);
    nan[PLANE - 1] = Number.NaN;
    const n = await post(url, { inputs: [input(1, PLANE * 4)] }, [nan]);
    assert.equal(n.status, 400);
    assert.match(n.json.error!, /element 38399 \(at \[0,2,79,159\]\) is NaN/);
  });

  test('binary limits: a header longer than any JSON request, a body over --max-batch rows → 400, 413', async () => {
    const small = await createServeApp([{ name: MODEL, classifier: clf }], { processMetrics: false, maxBatch: 1 });
    try {
      const url = `/v2/models/${MODEL}/infer`;
      const json = Buffer.from(JSON.stringify({ inputs: [input(2, 2 * PLANE * 4)] }));
      const big = Buffer.concat([json, Buffer.alloc(2 * 1024 * 1024, 0x20)]);
      const long = await small.app.inject({ method: 'POST', url, headers: { 'inference-header-content-length': String(big.length) }, payload: big });
      assert.equal(long.statusCode, 400, long.body);
      assert.match(long.json().error, /longer than any JSON request for this model \(at most \d+ bytes\)/);
      const rows2 = await small.app.inject({ method: 'POST', url, headers: { 'inference-header-content-length': String(json.length) }, payload: Buffer.concat([json, fp32Bytes(seededFloats(2 * PLANE, 3))]) });
      assert.equal(rows2.statusCode, 413, rows2.body);
      assert.match(rows2.json().error, /1 rows \(--max-batch\) of its input in binary/);
    } finally {
      await small.close();
    }
  });

  test('POST /v2/repository/index lists every model READY; load and unload are refused with the reason', async () => {
    const expected = [
      { name: MODEL, version: '1', state: 'READY', reason: '' },
      { name: 'plain', version: '1', state: 'READY', reason: '' },
    ];
    const inits: RequestInit[] = [{}, { body: '{"ready":true}' }, { body: '{"ready":false}', headers: { 'content-type': 'application/json' } }];
    for (const init of inits) {
      const res = await fetch(`${base}/v2/repository/index`, { method: 'POST', ...init });
      assert.equal(res.status, 200, JSON.stringify(init));
      assert.deepEqual(await res.json(), expected);
    }
    const bad = await fetch(`${base}/v2/repository/index`, { method: 'POST', body: '{"ready":' });
    assert.equal(bad.status, 400);
    for (const action of ['load', 'unload']) {
      const res = await fetch(`${base}/v2/repository/models/plain/${action}`, { method: 'POST' });
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { error: string }).error, new RegExp(`cannot ${action} model 'plain': this server serves the models it was started with`));
    }
  });
});

describe('v2 statistics extension', () => {
  let cache = '';
  let clf: Classifier;
  let served: ServeApp;

  before(async () => {
    cache = await mkdtemp(join(tmpdir(), 'pplcnet-serve-stats-'));
    clf = await textlineClassifier(cache);
    served = await createServeApp([{ name: MODEL, classifier: clf, aliases: ['textline'] }], { processMetrics: false, maxDelayMs: 5 });
  });
  after(async () => {
    await served?.close();
    await clf?.close();
    await rm(cache, { recursive: true, force: true });
  });

  test('counters after N requests: inferences, executions, successes, failures and their times', async () => {
    const started = Date.now();
    const stats = async (path = `/v2/models/${MODEL}/stats`) => served.app.inject({ method: 'GET', url: path });
    const empty = (await stats()).json().model_stats[0];
    assert.deepEqual([empty.inference_count, empty.execution_count, empty.last_inference, empty.inference_stats.success], [0, 0, 0, { count: 0, ns: 0 }]);

    // 5 v2 requests of 1..5 rows, sent together (their rows share batches), 2 classify images, 2 failures
    const sizes = [1, 2, 3, 4, 5];
    const answers = await Promise.all(
      sizes.map((n, i) =>
        served.app.inject({ method: 'POST', url: `/v2/models/${MODEL}/infer`, headers: { 'content-type': 'application/json' }, payload: { inputs: [{ name: 'image', shape: [n, 3, 80, 160], datatype: 'FP32', data: Array.from(seededFloats(n * PLANE, 20 + i)) }] } }),
      ),
    );
    for (const a of answers) assert.equal(a.statusCode, 200, a.body);
    const [[, png]] = await textlines();
    for (const url of [`/v1/models/${MODEL}/classify`, '/v1/models/textline/classify']) {
      assert.equal((await served.app.inject({ method: 'POST', url, headers: { 'content-type': 'image/png' }, payload: png })).statusCode, 200);
    }
    const failed = await served.app.inject({ method: 'POST', url: `/v2/models/${MODEL}/infer`, headers: { 'content-type': 'application/json' }, payload: { inputs: [{ name: 'image', shape: [1, 3, 8, 8], datatype: 'FP32', data: [] }] } });
    assert.equal(failed.statusCode, 400);
    assert.equal((await served.app.inject({ method: 'POST', url: `/v1/models/${MODEL}/classify`, headers: { 'content-type': 'image/png' }, payload: Buffer.from('not a png') })).statusCode, 400);

    const s = (await stats()).json().model_stats[0];
    assert.equal(s.name, MODEL);
    assert.equal(s.version, '1');
    assert.equal(s.inference_count, 15 + 2, 'one per row or image answered');
    const is = s.inference_stats;
    assert.equal(is.success.count, 7);
    assert.equal(is.fail.count, 2);
    for (const k of ['queue', 'compute_input', 'compute_infer', 'compute_output']) assert.equal(is[k].count, 7, k);
    for (const k of ['success', 'fail', 'compute_input', 'compute_infer', 'compute_output']) assert.ok(Number.isInteger(is[k].ns) && is[k].ns > 0, `${k}.ns ${is[k].ns}`);
    assert.ok(is.success.ns >= is.compute_infer.ns, 'a request lasts at least its inference');
    assert.deepEqual(is.cache_hit, { count: 0, ns: 0 });
    assert.ok(s.last_inference >= started && s.last_inference <= Date.now());
    // one execution per onnxruntime run: the batches the service's metrics counted, fewer than the rows
    const metrics = (await served.app.inject({ method: 'GET', url: '/metrics' })).body;
    const runs = Number(/pplcnet_batch_size_count\{model="[^"]+"\} (\d+)/.exec(metrics)![1]);
    assert.equal(s.execution_count, runs);
    assert.ok(s.execution_count >= 3 && s.execution_count < 17, `${s.execution_count} runs for 17 rows at --max-batch 8`);

    // the same under the alias and the version, and in the list of every model
    assert.deepEqual((await stats('/v2/models/textline/versions/1/stats')).json().model_stats[0], s);
    assert.deepEqual((await stats('/v2/models/stats')).json(), { model_stats: [s] });
    const missing = await stats('/v2/models/resnet/stats');
    assert.equal(missing.statusCode, 404);
    assert.match(missing.json().error, /model 'resnet' is not loaded/);
    assert.equal((await stats(`/v2/models/${MODEL}/versions/2/stats`)).statusCode, 404);
  });
});
