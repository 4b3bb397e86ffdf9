/**
 * The v2 inference protocol over gRPC, called by a client built from the protocol document's definition
 * (test/fixtures/grpc/v2_client.proto, not the server's), against `startServer` with a gRPC port on
 * 127.0.0.1; every answer checked against the library's classification of the same tensor.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Classifier } from '../../../src/classifier.js';
import { preprocess } from '../../../src/image/preprocess.js';
import { type RunningServer, startServer } from '../../../src/serve/start.js';
import { FIXTURES } from '../../fixtures/index.js';
import { assertAllClose, seededFloats } from '../../helpers.js';
import { MODEL, metricSamples, textlineClassifier } from './common.js';

const KEY = 'grpc-test-key';
const ROW = 3 * 80 * 160;

interface OutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  contents: { fp32_contents: number[] } | null;
}
interface InferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: OutputTensor[];
  raw_output_contents: Buffer[];
}
type Unary = (request: unknown, metadata: grpc.Metadata, callback: (err: grpc.ServiceError | null, response: unknown) => void) => void;

/** Little-endian FP32 bytes, as the protocol's raw contents carry them. */
function leBytes(values: Float32Array): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, 4 * i));
  return b;
}
function fromLeBytes(b: Buffer): Float32Array {
  return Float32Array.from({ length: b.length / 4 }, (_, i) => b.readFloatLE(4 * i));
}

describe('v2 inference protocol over gRPC', () => {
  let cache = '';
  let clf: Classifier;
  let server: RunningServer;
  let client: grpc.Client;
  let Service: grpc.ServiceClientConstructor;
  const logged: string[] = [];
  const callOn = <T>(c: grpc.Client, method: string, request: unknown, key: string | null): Promise<T> => {
    const md = new grpc.Metadata();
    if (key !== null) md.set('authorization', `Bearer ${key}`);
    const fn = (c as unknown as Record<string, Unary>)[method]!.bind(c);
    return new Promise((resolve, reject) => fn(request, md, (err, res) => (err ? reject(err) : resolve(res as T))));
  };
  const call = <T>(method: string, request: unknown, key: string | null = KEY): Promise<T> => callOn<T>(client, method, request, key);
  /** The call fails with this status and a message matching `message`. */
  const fails = (p: Promise<unknown>, code: grpc.status, message: RegExp): Promise<void> =>
    assert.rejects(p, (err: grpc.ServiceError) => {
      assert.equal(err.code, code, `status ${grpc.status[err.code]} (${err.details}); expected ${grpc.status[code]}`);
      assert.match(err.details, message);
      return true;
    });
  const library = async (data: Float32Array, n: number): Promise<{ probs: Float32Array; logits: Float32Array }> => {
    const probs = await clf.run(data, n, 80, 160);
    return { probs, logits: clf.lastLogits! };
  };
  const input = (n: number, extra: Record<string, unknown> = {}) => ({ name: 'image', datatype: 'FP32', shape: [n, 3, 80, 160], ...extra });

  before(async () => {
    cache = await mkdtemp(join(tmpdir(), 'pplcnet-serve-grpc-'));
    clf = await textlineClassifier(cache);
    server = await startServer({ models: [MODEL], port: 0, grpcPort: 0, apiKey: KEY, maxBatch: 4, log: (line) => logged.push(line), cacheDir: cache, ep: 'cpu', threads: 1, workers: 1, processMetrics: false, browser: false });
    const definition = await protoLoader.load(FIXTURES.grpcClientProto, { keepCase: true, longs: Number, defaults: true });
    Service = (grpc.loadPackageDefinition(definition).inference as grpc.GrpcObject).GRPCInferenceService as grpc.ServiceClientConstructor;
    assert.ok(server.grpcPort! > 0);
    client = new Service(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 64 * 1024 * 1024 });
  });
  after(async () => {
    client?.close();
    await server?.shutdown(5000);
    await clf?.close();
    await rm(cache, { recursive: true, force: true });
  });

  test('health, server metadata, model metadata and readiness (health without the key, as over HTTP)', async () => {
    assert.deepEqual(await call('ServerLive', {}, null), { live: true });
    assert.deepEqual(await call('ServerReady', {}, null), { ready: true });
    const http = (await (await fetch(`${server.url}v2`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as Record<string, unknown>;
    // the extensions HTTP lists (binary tensors, classification, repository, statistics) are HTTP's: gRPC has none
    assert.deepEqual(await call('ServerMetadata', {}), { ...http, extensions: [] });
    const meta = { name: MODEL, versions: ['1'], platform: 'onnx', inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 3, 80, 160] }], outputs: [{ name: 'logits', datatype: 'FP32', shape: [-1, 2] }, { name: 'probs', datatype: 'FP32', shape: [-1, 2] }] };
    assert.deepEqual(await call('ModelMetadata', { name: MODEL }), meta);
    assert.deepEqual(await call('ModelMetadata', { name: MODEL, version: '1' }), meta);
    assert.deepEqual(await call('ModelReady', { name: MODEL }), { ready: true });
    // the zoo alias answers too, under the served name
    assert.deepEqual(await call('ModelReady', { name: 'textline' }), { ready: true });
    assert.equal((await call<{ name: string }>('ModelMetadata', { name: 'textline' })).name, MODEL);
    await fails(call('ModelReady', { name: 'resnet50' }), grpc.status.NOT_FOUND, /model 'resnet50' is not loaded; loaded: PP-LCNet_x0_25_textline_ori/);
    await fails(call('ModelMetadata', { name: MODEL, version: '2' }), grpc.status.NOT_FOUND, /has no version '2'/);
  });

  test('ModelInfer with raw_input_contents answers raw_output_contents equal to the library (1e-6)', async () => {
    const names = ['00_up.png', '05_down.png', '09_up.png'];
    const data = new Float32Array(3 * ROW);
    for (const [i, n] of names.entries()) data.set((await preprocess(join(FIXTURES.textlines, n), clf.preprocess)).data, i * ROW);
    const res = await call<InferResponse>('ModelInfer', { model_name: MODEL, id: 'raw-1', inputs: [input(3)], raw_input_contents: [leBytes(data)] });
    assert.equal(res.model_name, MODEL);
    assert.equal(res.model_version, '1');
    assert.equal(res.id, 'raw-1');
    assert.deepEqual(res.outputs.map((o) => [o.name, o.datatype, o.shape, o.contents]), [
      ['logits', 'FP32', [3, 2], null],
      ['probs', 'FP32', [3, 2], null],
    ]);
    assert.equal(res.raw_output_contents.length, 2);
    const want = await library(data, 3);
    const probs = fromLeBytes(res.raw_output_contents[1]!);
    assertAllClose(fromLeBytes(res.raw_output_contents[0]!), want.logits, { atol: 1e-6, what: 'logits' });
    assertAllClose(probs, want.probs, { atol: 1e-6, what: 'probs' });
    // the images are what they look like: up, down, up
    assert.ok(probs[0]! > 0.9 && probs[3]! > 0.9 && probs[4]! > 0.9);
    // one log line per call, as for HTTP requests
    assert.ok(logged.some((l) => /^gRPC ModelInfer OK [\d.]+ ms 3 image\(s\)$/.test(l)), logged.join('\n'));
  });

  test('ModelInfer with typed contents and an outputs selection; concurrent calls stay separate and equal the library (1e-6)', async () => {
    const tensors = [11, 12, 13, 14].map((seed) => seededFloats(ROW, seed, -2, 2));
    const answers = await Promise.all(
      tensors.map((t, i) => call<InferResponse>('ModelInfer', { model_name: MODEL, id: `typed-${i}`, inputs: [input(1, { contents: { fp32_contents: Array.from(t) } })], outputs: [{ name: 'probs' }] })),
    );
    for (const [i, a] of answers.entries()) {
      assert.equal(a.id, `typed-${i}`);
      assert.deepEqual(a.raw_output_contents, []);
      assert.deepEqual(a.outputs.map((o) => [o.name, o.shape]), [['probs', [1, 2]]]);
      assertAllClose(a.outputs[0]!.contents!.fp32_contents, (await library(tensors[i]!, 1)).probs, { atol: 1e-6, what: `tensor ${i}` });
    }
  });

  test('without the API key, or with a wrong one → UNAUTHENTICATED', async () => {
    const req = { model_name: MODEL, inputs: [input(1)], raw_input_contents: [leBytes(new Float32Array(ROW))] };
    await fails(call('ModelInfer', req, null), grpc.status.UNAUTHENTICATED, /requires an API key: send metadata authorization: Bearer <key>/);
    await fails(call('ModelInfer', req, 'not-the-key'), grpc.status.UNAUTHENTICATED, /the API key is wrong/);
    await fails(call('ModelMetadata', { name: MODEL }, null), grpc.status.UNAUTHENTICATED, /API key/);
    await fails(call('ServerMetadata', {}, null), grpc.status.UNAUTHENTICATED, /API key/);
  });

  test("ModelInfer calls count in the model's v2 statistics: rows, successes, failures", async () => {
    const stats = async () => ((await (await fetch(`${server.url}v2/models/${MODEL}/stats`, { headers: { authorization: `Bearer ${KEY}` } })).json()) as { model_stats: { inference_count: number; inference_stats: Record<string, { count: number; ns: number }> }[] }).model_stats[0]!;
    const before = await stats();
    await call('ModelInfer', { model_name: MODEL, inputs: [input(2)], raw_input_contents: [leBytes(seededFloats(2 * ROW, 30))] });
    await fails(call('ModelInfer', { model_name: MODEL, inputs: [input(1)], raw_input_contents: [leBytes(new Float32Array(5))] }), grpc.status.INVALID_ARGUMENT, /elements/);
    const after = await stats();
    assert.equal(after.inference_count - before.inference_count, 2);
    assert.equal(after.inference_stats.success!.count - before.inference_stats.success!.count, 1);
    assert.equal(after.inference_stats.fail!.count - before.inference_stats.fail!.count, 1);
    assert.equal(after.inference_stats.compute_infer!.count - before.inference_stats.compute_infer!.count, 1);
    assert.ok(after.inference_stats.compute_infer!.ns > before.inference_stats.compute_infer!.ns);
  });

  test('bad tensors → INVALID_ARGUMENT naming what was expected; unknown model → NOT_FOUND; over the message bound → RESOURCE_EXHAUSTED', async () => {
    const zeros = (n: number) => leBytes(new Float32Array(n));
    const infer = (inputs: unknown[], raw?: Buffer[], model = MODEL) => call('ModelInfer', { model_name: model, inputs, ...(raw ? { raw_input_contents: raw } : {}) });
    await fails(infer([{ ...input(1), shape: [1, 3, 224, 224] }], [zeros(3 * 224 * 224)]), grpc.status.INVALID_ARGUMENT, /shape \[1,3,224,224\]; expected \[N,3,80,160\]/);
    await fails(infer([{ ...input(1), datatype: 'INT32', contents: { int_contents: new Array(ROW).fill(0) } }]), grpc.status.INVALID_ARGUMENT, /datatype "INT32"; expected FP32 with shape \[N,3,80,160\]/);
    await fails(infer([input(1, { contents: { fp64_contents: new Array(ROW).fill(0) } })]), grpc.status.INVALID_ARGUMENT, /carries its elements in contents\.fp64_contents/);
    await fails(infer([input(2)], [zeros(ROW)]), grpc.status.INVALID_ARGUMENT, /holds 38400 elements, its shape gives 76800/);
    await fails(infer([input(1)], [Buffer.alloc(ROW * 4 - 1)]), grpc.status.INVALID_ARGUMENT, /153599 bytes, not a whole number of FP32 elements/);
    await fails(infer([input(1), input(1)], [zeros(ROW)]), grpc.status.INVALID_ARGUMENT, /raw_input_contents holds 1 entries for 2 inputs/);
    await fails(infer([{ ...input(1), name: 'x' }], [zeros(ROW)]), grpc.status.INVALID_ARGUMENT, /unknown input "x"/);
    // a non-finite element, named by its index and [n,c,y,x] position: 12345 = 0·38400 + 0·12800 + 77·160 + 25
    const nan = seededFloats(ROW, 5);
    nan[12345] = NaN;
    await fails(infer([input(1, { contents: { fp32_contents: Array.from(nan) } })]), grpc.status.INVALID_ARGUMENT, /element 12345 \(at \[0,0,77,25\]\) is NaN, outside FP32's finite range/);
    const inf = new Float32Array(2 * ROW);
    inf[ROW + 7] = -Infinity;
    await fails(infer([input(2)], [leBytes(inf)]), grpc.status.INVALID_ARGUMENT, /element 38407 \(at \[1,0,0,7\]\) is -Infinity/);
    await fails(call('ModelInfer', { model_name: MODEL, inputs: [input(1)], raw_input_contents: [zeros(ROW)], outputs: [{ name: 'embedding' }] }), grpc.status.INVALID_ARGUMENT, /unknown output "embedding"/);
    // --max-batch 4: five rows are refused by the message bound (4 rows of FP32 and an envelope) before they are read
    await fails(infer([input(5)], [zeros(5 * ROW)]), grpc.status.RESOURCE_EXHAUSTED, /larger than max/i);
    await fails(infer([input(5, { contents: { fp32_contents: [1] } })]), grpc.status.INVALID_ARGUMENT, /has 5 rows; at most 4 per request \(--max-batch\)/);
    await fails(infer([input(1)], [zeros(ROW)], 'resnet50'), grpc.status.NOT_FOUND, /model 'resnet50' is not loaded/);
    // the service still answers
    assert.deepEqual(await call('ServerLive', {}), { live: true });
  });

  test('gRPC rows and HTTP images share batches and the queue: one run for both; a full queue → UNAVAILABLE', async () => {
    // a batch waits up to 1.5 s for company; two images fill the queue
    const other = await startServer({ models: [MODEL], port: 0, grpcPort: 0, maxBatch: 4, maxDelayMs: 1500, maxQueue: 2, cacheDir: cache, ep: 'cpu', threads: 1, workers: 1, processMetrics: false, browser: false });
    const c = new Service(`127.0.0.1:${other.grpcPort}`, grpc.credentials.createInsecure());
    try {
      const [a, b] = [seededFloats(ROW, 21, -2, 2), seededFloats(ROW, 22, -2, 2)];
      const viaGrpc = callOn<InferResponse>(c, 'ModelInfer', { model_name: MODEL, inputs: [input(1)], raw_input_contents: [leBytes(a)], outputs: [{ name: 'probs' }] }, null);
      const viaHttp = fetch(`${other.url}v2/models/${MODEL}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [{ name: 'image', shape: [1, 3, 80, 160], datatype: 'FP32', data: Array.from(b) }], outputs: [{ name: 'probs' }] }) });
      // both wait in the batcher now: a third image finds the queue full
      for (let i = 0; i < 100 && other.queueDepth < 2; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(other.queueDepth, 2);
      await fails(callOn(c, 'ModelInfer', { model_name: MODEL, inputs: [input(1)], raw_input_contents: [leBytes(a)] }, null), grpc.status.UNAVAILABLE, /the server is busy: 2 images queued, the limit is 2 \(--max-queue\)/);
      const [g, h] = await Promise.all([viaGrpc, viaHttp]);
      assertAllClose(fromLeBytes(g.raw_output_contents[0]!), (await library(a, 1)).probs, { atol: 1e-6, what: 'gRPC row' });
      const hj = (await h.json()) as { outputs: { data: number[] }[] };
      assertAllClose(hj.outputs[0]!.data, (await library(b, 1)).probs, { atol: 1e-6, what: 'HTTP row' });
      // a call whose deadline passes while its row waits: the row leaves the queue, no run is made for it
      await fails(
        new Promise((resolve, reject) =>
          (c as unknown as Record<string, (r: unknown, md: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v: unknown) => void) => void>).ModelInfer!.call(
            c,
            { model_name: MODEL, inputs: [input(1)], raw_input_contents: [leBytes(a)] },
            new grpc.Metadata(),
            { deadline: Date.now() + 300 },
            (e, v) => (e ? reject(e) : resolve(v)),
          ),
        ),
        grpc.status.DEADLINE_EXCEEDED,
        /deadline/i,
      );
      for (let i = 0; i < 100 && other.queueDepth > 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(other.queueDepth, 0, 'the expired call left its row queued');
      const metrics = await (await fetch(`${other.url}metrics`)).text();
      // the warm-up run is not a batch: one run of two images
      assert.equal(metricSamples(metrics, 'pplcnet_batch_size_count').get(`{model="${MODEL}"}`), 1);
      assert.equal(metricSamples(metrics, 'pplcnet_batch_size_sum').get(`{model="${MODEL}"}`), 2);
      assert.equal(metricSamples(metrics, 'pplcnet_images_classified_total').get(`{model="${MODEL}"}`), 2);
      // shutting down: the call in flight is answered, then the server stops
      const last = callOn<InferResponse>(c, 'ModelInfer', { model_name: MODEL, inputs: [input(1)], raw_input_contents: [leBytes(b)], outputs: [{ name: 'probs' }] }, null);
      for (let i = 0; i < 100 && other.queueDepth < 1; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(other.queueDepth, 1);
      const stopped = other.shutdown(5000);
      assertAllClose(fromLeBytes((await last).raw_output_contents[0]!), (await library(b, 1)).probs, { atol: 1e-6, what: 'the row in flight at shutdown' });
      assert.equal(await stopped, true);
    } finally {
      c.close();
      await other.shutdown(5000);
    }
  });
});
