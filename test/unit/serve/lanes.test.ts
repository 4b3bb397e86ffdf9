/**
 * serve's inference lanes: the batches run in worker threads with their own session, so the thread that
 * answers requests stays free. Their answers are the library's; a health check is answered while a long batch
 * runs (shown by timestamps: with the batch on the event loop, no answer can come during it); closing the
 * server stops the threads (the process ends by itself); a lane that dies answers 500, not a hang.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { buildPPLCNet } from '../../../src/builder/pplcnet.js';
import { type Classifier, createClassifier } from '../../../src/classifier.js';
import { resultRow } from '../../../src/output-row.js';
import { type ServeApp, createServeApp } from '../../../src/serve/app.js';
import { ROOT, tempDir } from '../../helpers.js';
import { MODEL, textlineClassifier, textlines, thirtyTwoImages, upload, withoutTimings } from './common.js';


describe('serve: inference lanes', () => {
  const tmp = tempDir('serve-lanes', { before, after });
  const opened: Classifier[] = [];
  const apps: ServeApp[] = [];
  after(async () => {
    for (const a of apps) await a.close();
    for (const c of opened) await c.close();
  });

  test('rows answered from two lanes, requests side by side, are the library’s rows byte for byte; v2 probs within 1e-6', { timeout: 180_000 }, async () => {
    const clf = await textlineClassifier(join(tmp.path, 'cache'));
    opened.push(clf);
    const served = await createServeApp([{ name: MODEL, classifier: clf }], { lanes: 2, maxBatch: 4, processMetrics: false, browser: false });
    apps.push(served);
    assert.equal(served.models.get(MODEL)!.lanes?.size, 2);
    const lines = await textlines();
    const answers = await Promise.all(
      lines.map(([, bytes]) => served.app.inject({ method: 'POST', url: `/v1/models/${MODEL}/classify`, headers: { 'content-type': 'image/png' }, payload: bytes })),
    );
    const sizes = new Set<number>();
    for (const [i, [name, bytes]] of lines.entries()) {
      assert.equal(answers[i]!.statusCode, 200, answers[i]!.body);
      const row = answers[i]!.json().results[0];
      const expected = resultRow(await clf.classify(bytes), MODEL, 'body');
      assert.equal(withoutTimings(row), withoutTimings(expected), name);
      sizes.add(row.timings.batchSize);
    }
    assert.ok([...sizes].some((s) => s > 1), `requests shared runs (batch sizes ${[...sizes].join(', ')})`);
    // v2: the rows of one tensor, each the library's run of that row
    const prepared = await Promise.all(lines.slice(0, 3).map(([n, b]) => clf.prepare(b, n)));
    const [h, w] = [prepared[0]!.height, prepared[0]!.width];
    const data = prepared.flatMap((p) => [...p.data]);
    const res = await served.app.inject({ method: 'POST', url: `/v2/models/${MODEL}/infer`, payload: { inputs: [{ name: clf.inputName, shape: [3, 3, h, w], datatype: 'FP32', data }], outputs: [{ name: 'probs' }] } });
    assert.equal(res.statusCode, 200, res.body);
    const probs = res.json().outputs[0].data as number[];
    for (let k = 0; k < 3; k++) {
      const here = await clf.run(prepared[k]!.data, 1, h, w);
      here.forEach((v, j) => assert.ok(Math.abs(v - probs[k * here.length + j]!) <= 1e-6, `row ${k} class ${j}: ${v} vs ${probs[k * here.length + j]}`));
    }
  });

  /**
   * A 32-image upload to an x1.0 at 224 (one batch of 32, which starts when the 32nd image is prepared: a long
   * run), while this process asks /v2/health/live one request after another. The run lasts D ms (its batchInferenceMs) within [sent, answered]; when every
   * gap between health answers over that interval is shorter than D, one answer came during the run.
   */
  async function healthDuringBatch(lanes: number): Promise<{ maxGap: number; runMs: number; answers: number }> {
    const clf = await createClassifier({ model: buildPPLCNet({ scale: 1.0 }).bytes, ep: 'cpu', threads: 1, workers: 1 });
    opened.push(clf);
    const served = await createServeApp([{ name: 'x1', classifier: clf }], { lanes, maxBatch: 32, maxDelayMs: 60_000, timeoutMs: 240_000, processMetrics: false, browser: false });
    apps.push(served);
    await served.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = served.app.server.address() as { port: number };
    const images = await thirtyTwoImages();
    const t0 = performance.now();
    let done = false;
    const classify = fetch(`http://127.0.0.1:${port}/v1/models/x1/classify`, { method: 'POST', body: upload(images) }).finally(() => {
      done = true;
    });
    const marks = [t0];
    while (!done) {
      const r = await fetch(`http://127.0.0.1:${port}/v2/health/live`);
      assert.equal(r.status, 200);
      await r.arrayBuffer();
      marks.push(performance.now());
    }
    const res = await classify;
    assert.equal(res.status, 200);
    const rows = ((await res.json()) as { results: { timings: { batchInferenceMs: number; batchSize: number } }[] }).results;
    assert.deepEqual(new Set(rows.map((r) => r.timings.batchSize)), new Set([32]), 'one batch of 32');
    const answered = marks.pop()!; // the last health answer came after the classify answer: the interval ends at it
    marks.push(Math.min(answered, performance.now()));
    const gaps = marks.slice(1).map((m, i) => m - marks[i]!);
    return { maxGap: Math.max(...gaps), runMs: rows[0]!.timings.batchInferenceMs, answers: marks.length - 2 };
  }

  test('health is answered while a long batch runs in a lane; on the event loop (lanes 0) it is not', { timeout: 300_000 }, async (t) => {
    const inLane = await healthDuringBatch(1);
    t.diagnostic(`lanes 1: run ${inLane.runMs.toFixed(0)} ms, longest wait between health answers ${inLane.maxGap.toFixed(0)} ms, ${inLane.answers} answers`);
    assert.ok(inLane.maxGap < inLane.runMs, `lanes 1: the longest wait between health answers (${inLane.maxGap.toFixed(0)} ms) is shorter than the run (${inLane.runMs.toFixed(0)} ms), so one came during it (${inLane.answers} answers)`);
    // the same check fails when the batch runs on the event loop: the check can fail
    const here = await healthDuringBatch(0);
    t.diagnostic(`lanes 0: run ${here.runMs.toFixed(0)} ms, longest wait between health answers ${here.maxGap.toFixed(0)} ms`);
    assert.ok(here.maxGap >= 0.9 * here.runMs, `lanes 0: no health answer during the run (longest wait ${here.maxGap.toFixed(0)} ms, run ${here.runMs.toFixed(0)} ms)`);
  });

  test('a lane that dies: the request in flight and later ones answer 500, not a hang', { timeout: 120_000 }, async () => {
    // every worker thread started from here on is recorded (the lanes are the only ones: no preprocessing workers)
    const wt = createRequire(import.meta.url)('node:worker_threads') as { Worker: typeof Worker };
    const Original = wt.Worker;
    const started: Worker[] = [];
    wt.Worker = class extends Original {
      constructor(...args: ConstructorParameters<typeof Worker>) {
        super(...args);
        started.push(this);
      }
    };
    syncBuiltinESMExports();
    let served: ServeApp;
    const clf = await textlineClassifier(join(tmp.path, 'cache'));
    opened.push(clf);
    try {
      served = await createServeApp([{ name: MODEL, classifier: clf }], { lanes: 1, processMetrics: false, browser: false });
      apps.push(served);
    } finally {
      wt.Worker = Original;
      syncBuiltinESMExports();
    }
    assert.equal(started.length, 1, 'one lane thread');
    const [[, bytes]] = await textlines();
    const ask = () => served.app.inject({ method: 'POST', url: `/v1/models/${MODEL}/classify`, headers: { 'content-type': 'image/png' }, payload: bytes! });
    assert.equal((await ask()).statusCode, 200);
    assert.equal((await served.app.inject({ url: '/v2/health/ready' })).statusCode, 200);
    const inFlight = ask();
    await started[0]!.terminate();
    for (const res of [await inFlight, await ask()]) {
      assert.equal(res.statusCode, 500, res.body);
      assert.equal(res.json().error.code, 'E_MODEL');
    }
    // the server no longer says it is ready, and says why
    const ready = await served.app.inject({ url: '/v2/health/ready' });
    assert.equal(ready.statusCode, 503);
    assert.match(ready.json().error, new RegExp(`model ${MODEL} cannot run \\(an inference lane exited`));
    assert.deepEqual((await served.app.inject({ url: `/v2/models/${MODEL}/ready` })).json(), { name: MODEL, ready: false });
    const index = (await served.app.inject({ method: 'POST', url: '/v2/repository/index' })).json() as { name: string; state: string; reason: string }[];
    assert.equal(index.find((e) => e.name === MODEL)?.state, 'UNAVAILABLE');
  });

  test('closing the server stops its lanes: the process ends by itself', { timeout: 180_000 }, async () => {
    const script = `
      import { startServer } from ${JSON.stringify(join(ROOT, 'dist/src/serve/index.js'))};
      import { readFileSync } from 'node:fs';
      const server = await startServer({ models: [${JSON.stringify(MODEL)}], cacheDir: process.argv[1], port: 0, lanes: 2, processMetrics: false, browser: false, ep: 'cpu' });
      const res = await fetch(server.url + 'v1/models/' + ${JSON.stringify(MODEL)} + '/classify', { method: 'POST', headers: { 'content-type': 'image/png' }, body: readFileSync(process.argv[2]) });
      console.log('status', res.status, 'lanes', server.models.get(${JSON.stringify(MODEL)}).lanes.size);
      await server.close();
      console.log('closed');`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, join(tmp.path, 'cache'), join(ROOT, 'models/examples/textline_upright.png')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 150_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(timer);
    assert.equal(code, 0, `the process ended by itself (exit ${code}):\n${out}\n${err}`);
    assert.match(out, /status 200 lanes 2\nclosed\n/);
  });
});
