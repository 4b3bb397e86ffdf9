/**
 * A v2 inference protocol client written from the protocol (KServe Open Inference Protocol / Triton REST),
 * with plain fetch against a server on a 127.0.0.1 socket, checked against the library.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Classifier } from '../../../src/classifier.js';
import { preprocess } from '../../../src/image/preprocess.js';
import { type ServeApp, createServeApp } from '../../../src/serve/app.js';
import { FIXTURES } from '../../fixtures/index.js';
import { assertAllClose, seededFloats } from '../../helpers.js';
import { MODEL, textlineClassifier } from './common.js';

interface Tensor {
  name: string;
  shape: number[];
  datatype: string;
  data: number[];
}

describe('v2 inference protocol over HTTP', () => {
  let cache = '';
  let clf: Classifier;
  let served: ServeApp;
  let base = '';
  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await fetch(`${base}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : {} };
  };
  /** What the library gives for the same tensor: probabilities and logits. */
  const library = async (data: Float32Array, n: number): Promise<{ probs: Float32Array; logits: Float32Array }> => {
    const probs = await clf.run(data, n, 80, 160);
    return { probs, logits: clf.lastLogits! };
  };

  before(async () => {
    cache = await mkdtemp(join(tmpdir(), 'pplcnet-serve-v2-'));
    clf = await textlineClassifier(cache);
    served = await createServeApp([{ name: MODEL, classifier: clf }], { processMetrics: false });
    await served.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(served.app.server.address() as { port: number }).port}`;
  });
  after(async () => {
    await served?.close();
    await clf?.close();
    await rm(cache, { recursive: true, force: true });
  });

  test('health, server metadata, model metadata and readiness', async () => {
    assert.equal((await call('GET', '/v2/health/live')).status, 200);
    assert.equal((await call('GET', '/v2/health/ready')).status, 200);
    const server = await call('GET', '/v2');
    assert.equal(server.json.name, 'pplcnet');
    assert.deepEqual(server.json.extensions, ['binary_tensor_data', 'classification', 'model_repository', 'statistics']);
    const meta = await call('GET', `/v2/models/${MODEL}`);
    assert.equal(meta.status, 200);
    assert.deepEqual(meta.json, {
      name: MODEL,
      versions: ['1'],
      platform: 'onnx',
      inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 3, 80, 160] }],
      outputs: [
        { name: 'logits', datatype: 'FP32', shape: [-1, 2] },
        { name: 'probs', datatype: 'FP32', shape: [-1, 2] },
      ],
    });
    assert.deepEqual((await call('GET', `/v2/models/${MODEL}/versions/1`)).json, meta.json);
    assert.equal((await call('GET', `/v2/models/${MODEL}/ready`)).status, 200);
    const missing = await call('GET', '/v2/models/resnet50/ready');
    assert.equal(missing.status, 404);
    assert.equal(typeof missing.json.error, 'string');
    assert.match(missing.json.error as string, /resnet50/);
  });

  test('infer with preprocessed images (flat data): logits and probs equal the library (1e-6)', async () => {
    const names = ['00_up.png', '05_down.png', '09_up.png'];
    const data = new Float32Array(3 * 3 * 80 * 160);
    for (const [i, n] of names.entries()) data.set((await preprocess(join(FIXTURES.textlines, n), clf.preprocess)).data, i * 3 * 80 * 160);
    const res = await call('POST', `/v2/models/${MODEL}/infer`, { id: 'req-1', inputs: [{ name: 'image', shape: [3, 3, 80, 160], datatype: 'FP32', data: Array.from(data) }] });
    assert.equal(res.status, 200, JSON.stringify(res.json).slice(0, 300));
    assert.equal(res.json.model_name, MODEL);
    assert.equal(res.json.id, 'req-1');
    const outputs = res.json.outputs as Tensor[];
    assert.deepEqual(outputs.map((o) => [o.name, o.datatype, o.shape]), [
      ['logits', 'FP32', [3, 2]],
      ['probs', 'FP32', [3, 2]],
    ]);
    const want = await library(data, 3);
    assertAllClose(outputs[1]!.data, want.probs, { atol: 1e-6, what: 'probs' });
    assertAllClose(outputs[0]!.data, want.logits, { atol: 1e-6, what: 'logits' });
    // the images are what they look like
    assert.ok(outputs[1]!.data[0]! > 0.9 && outputs[1]!.data[3]! > 0.9 && outputs[1]!.data[4]! > 0.9);
  });

  test('infer with nested data and an outputs selection; concurrent requests stay separate', async () => {
    const tensors = [1, 2, 3, 4].map((seed) => seededFloats(3 * 80 * 160, seed, -2, 2));
    const nest = (t: Float32Array): number[][][][] =>
      [Array.from({ length: 3 }, (_, c) => Array.from({ length: 80 }, (_, y) => Array.from(t.subarray(c * 12800 + y * 160, c * 12800 + (y + 1) * 160))))];
    const answers = await Promise.all(
      tensors.map((t) => call('POST', `/v2/models/${MODEL}/infer`, { inputs: [{ name: 'image', shape: [1, 3, 80, 160], datatype: 'FP32', data: nest(t) }], outputs: [{ name: 'probs' }] })),
    );
    for (const [i, a] of answers.entries()) {
      assert.equal(a.status, 200);
      const outputs = a.json.outputs as Tensor[];
      assert.deepEqual(outputs.map((o) => o.name), ['probs']);
      assertAllClose(outputs[0]!.data, (await library(tensors[i]!, 1)).probs, { atol: 1e-6, what: `tensor ${i}` });
    }
  });

  test('protocol errors: wrong shape or datatype → 400 naming the expected shape; bad outputs, bad JSON, unknown model', async () => {
    const url = `/v2/models/${MODEL}/infer`;
    const zeros = (n: number) => new Array(n).fill(0);
    const wrongShape = await call('POST', url, { inputs: [{ name: 'image', shape: [1, 3, 224, 224], datatype: 'FP32', data: zeros(3 * 224 * 224) }] });
    assert.equal(wrongShape.status, 400);
    assert.match(wrongShape.json.error as string, /shape \[1,3,224,224\]; expected \[N,3,80,160\]/);
    const wrongType = await call('POST', url, { inputs: [{ name: 'image', shape: [1, 3, 80, 160], datatype: 'INT8', data: zeros(38400) }] });
    assert.equal(wrongType.status, 400);
    assert.match(wrongType.json.error as string, /datatype "INT8"; expected FP32 with shape \[N,3,80,160\]/);
    const short = await call('POST', url, { inputs: [{ name: 'image', shape: [2, 3, 80, 160], datatype: 'FP32', data: zeros(38400) }] });
    assert.equal(short.status, 400);
    assert.match(short.json.error as string, /holds 38400 elements, its shape gives 76800/);
    const text = await call('POST', url, { inputs: [{ name: 'image', shape: [1, 3, 80, 160], datatype: 'FP32', data: ['a', ...zeros(38399)] }] });
    assert.equal(text.status, 400);
    const name = await call('POST', url, { inputs: [{ name: 'x', shape: [1, 3, 80, 160], datatype: 'FP32', data: zeros(38400) }] });
    assert.match(name.json.error as string, /unknown input "x"/);
    const out = await call('POST', url, { inputs: [{ name: 'image', shape: [1, 3, 80, 160], datatype: 'FP32', data: zeros(38400) }], outputs: [{ name: 'embedding' }] });
    assert.equal(out.status, 400);
    assert.match(out.json.error as string, /unknown output "embedding": .* offers logits, probs/);
    const res = await fetch(`${base}${url}`, { method: 'POST', body: '{"inputs": [', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400);
    assert.equal(typeof ((await res.json()) as { error: unknown }).error, 'string');
    const unknown = await call('POST', '/v2/models/resnet50/infer', { inputs: [] });
    assert.equal(unknown.status, 404);
    assert.equal(typeof unknown.json.error, 'string');
    for (const r of [wrongShape, wrongType, short, text, name, out, unknown]) assert.deepEqual(Object.keys(r.json), ['error']);
  });
});
