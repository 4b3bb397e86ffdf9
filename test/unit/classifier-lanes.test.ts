/**
 * Inference lanes: worker threads with their own session that prepare and run whole batches. Their results
 * must be the main thread's, row for row, in input order, errors in place; the plan turns them on only for
 * inference-heavy models with the layout not fixed by the caller.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Classification, createClassifier, planExecution } from '../../src/classifier.js';
import { streamLanes } from '../../src/classifier/lanes.js';
import { PREPROCESS_MS_ESTIMATE, SHORT_STREAM_IMAGES, inferenceEstimate } from '../../src/classifier/plan.js';
import { PplcnetError } from '../../src/errors.js';
import { FIXTURES } from '../fixtures/index.js';
import { tempDir } from '../helpers.js';

describe('inference lanes', () => {
  const tmp = tempDir('lanes', { before, after });

  test('two lanes give the main thread’s results, in order, with a broken image in place', { timeout: 120_000 }, async () => {
    const broken = join(tmp.path, 'broken.png');
    await writeFile(broken, Buffer.from('not a png at all'));
    const files = Array.from({ length: 30 }, (_, i) => join(FIXTURES.textlines, `${String(i % 10).padStart(2, '0')}_${i % 3 ? 'up' : 'down'}.png`));
    files.splice(13, 0, broken);
    const options = { model: 'PP-LCNet_x0_25_textline_ori', cacheDir: join(tmp.path, 'cache'), ep: 'cpu' as const, batchSize: 4 };
    const run = async (lanes: number): Promise<(Classification | PplcnetError)[]> => {
      const clf = await createClassifier({ ...options, lanes });
      try {
        assert.equal(clf.plan.lanes, lanes);
        const rows: (Classification | PplcnetError)[] = [];
        for await (const b of clf.classifyStream(files)) rows.push(...b);
        return rows;
      } finally {
        await clf.close();
      }
    };
    const here = await run(0);
    const laned = await run(2);
    assert.equal(laned.length, files.length);
    laned.forEach((r, i) => {
      const h = here[i]!;
      if (h instanceof PplcnetError) {
        assert.ok(r instanceof PplcnetError, `row ${i}: an error on the main thread, ${JSON.stringify(r)} in a lane`);
        assert.equal(r.code, h.code);
        assert.equal(r.message, h.message);
        return;
      }
      assert.ok(!(r instanceof PplcnetError), `row ${i}: ${String(r)}`);
      assert.equal(r.input, files[i]);
      assert.deepEqual(r.topk.map((t) => t.label), h.topk.map((t) => t.label));
      assert.deepEqual([...r.probs], [...h.probs], `row ${i}: the same session options, the same bytes in: the same probabilities`);
      assert.equal(r.timings.batchSize, h.timings.batchSize);
    });
    assert.ok(laned[13] instanceof PplcnetError && /broken\.png/.test(laned[13].message));
  });

  for (const layout of [{ lanes: 2 }, { lanes: 0, workers: 1 }]) {
    test(`a consumer that stops early, then close() while the threads are busy (${JSON.stringify(layout)}): no abort, nothing left running`, { timeout: 60_000 }, async () => {
      // 10 rounds: stopping a thread inside a decode or a run used to abort the process now and then
      for (let round = 0; round < 10; round++) {
        const clf = await createClassifier({ model: 'PP-LCNet_x0_25_textline_ori', cacheDir: join(tmp.path, 'cache'), ep: 'cpu', batchSize: 2, ...layout });
        const files = Array.from({ length: 24 }, (_, i) => join(FIXTURES.textlines, `0${i % 10}_up.png`));
        for await (const b of clf.classifyStream(files)) {
          assert.equal(b.length, 2);
          break;
        }
        await clf.close(); // stops the threads: the test would not end otherwise
      }
    });
  }

  test('close() while a stream is being read: the stream ends (batches still out would be E_CLOSED rows), nothing hangs', { timeout: 60_000 }, async () => {
    const clf = await createClassifier({ model: 'PP-LCNet_x0_25_textline_ori', cacheDir: join(tmp.path, 'cache'), ep: 'cpu', batchSize: 2, lanes: 1 });
    const files = Array.from({ length: 40 }, (_, i) => join(FIXTURES.textlines, `0${i % 10}_down.png`));
    const rows: (Classification | PplcnetError)[] = [];
    let closing: Promise<void> | undefined;
    for await (const b of clf.classifyStream(files)) {
      rows.push(...b);
      closing ??= clf.close();
    }
    await closing;
    assert.ok(rows.length >= 2 && rows.length < files.length, `${rows.length} rows: the stream ended at the close`);
    assert.ok(rows.slice(0, 2).every((r) => !(r instanceof PplcnetError)), 'the first batch came back before the close');
    const errors = rows.filter((r) => r instanceof PplcnetError);
    assert.ok(errors.every((r) => (r as PplcnetError).code === 'E_CLOSED'), JSON.stringify(errors.slice(0, 2)));
  });

  test('the plan: one lane per core (up to 4, the calling thread one of them when its session has one thread) for inference-heavy models on 3+ cores, none when the layout is given', () => {
    const x10 = inferenceEstimate({ architecture: { scale: 1.0 }, inputSize: [224, 224] })!;
    const textline = inferenceEstimate({ architecture: { scale: 0.25, classNum: 2 }, inputSize: [80, 160] })!;
    assert.equal(planExecution({}, x10, 2).lanes, 0, '2 cores: a worker feeds the calling thread (measured faster and smaller than lanes)');
    assert.equal(planExecution({}, x10, 3).lanes, 3);
    // inference as costly as preparing, on 3 cores: 2 workers, 1 intra-op thread, so the calling thread is a lane
    const even = planExecution({}, PREPROCESS_MS_ESTIMATE, 3);
    assert.deepEqual([even.threads, even.lanes, even.hereLane], [1, 2, true]);
    assert.equal(planExecution({}, x10, 16).lanes, 4);
    assert.equal(planExecution({}, x10, 16).hereLane, false, 'its session has several threads: it only deals batches');
    assert.equal(planExecution({ lanes: 2 }, x10, 2).hereLane, false, 'lanes as given');
    assert.equal(planExecution({}, x10, 1).lanes, 0, 'one core: the main thread');
    assert.equal(planExecution({}, textline, 2).lanes, 0, 'decoding outweighs inference: workers feed the main thread');
    assert.equal(planExecution({ threads: 2 }, x10, 2).lanes, 0);
    assert.equal(planExecution({ workers: 1 }, x10, 2).lanes, 0);
    assert.equal(planExecution({ lanes: 3 }, textline, 2).lanes, 3);
    assert.match(even.reason, /streams: 2 inference lane\(s\), .*and this thread as one more/);
    assert.doesNotMatch(planExecution({}, x10, 2).reason, /lane/);
    assert.throws(() => planExecution({ lanes: -1 }, x10, 2), (e: unknown) => e instanceof RangeError && /'lanes'/.test(e.message));
  });

  test('short streams: on 2 cores, with inference the cheaper stage, the workers start only for 500 images or more', () => {
    const x10 = inferenceEstimate({ architecture: { scale: 1.0 }, inputSize: [224, 224] })!;
    const textline = inferenceEstimate({ architecture: { scale: 0.25, classNum: 2 }, inputSize: [80, 160] })!;
    const short = planExecution({}, textline, 2);
    assert.deepEqual([short.workers, short.streamWorkersFrom], [1, SHORT_STREAM_IMAGES]);
    assert.equal(SHORT_STREAM_IMAGES, 500);
    assert.match(short.reason, /streams under 500 images prepare on this thread/);
    assert.equal(planExecution({}, x10, 2).streamWorkersFrom, 0, 'inference outweighs preparing: the worker always helps');
    assert.equal(planExecution({}, textline, 4).streamWorkersFrom, 0, 'more cores: the workers always start');
    assert.equal(planExecution({ workers: 1 }, textline, 2).streamWorkersFrom, 0, 'workers as given');
    assert.equal(planExecution({ threads: 1 }, textline, 2).streamWorkersFrom, 0, 'threads as given');
    assert.equal(planExecution({ workers: 0 }, textline, 2).streamWorkersFrom, 0, 'no workers to start');
  });
});

describe('streamLanes while the lanes start', () => {
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const row = (i: unknown): Classification | PplcnetError => (String(i).endsWith('bad') ? new PplcnetError('E_IMAGE', `${String(i)}: broken`) : ({ input: String(i) } as unknown as Classification));

  /** A pool whose lanes load after `loadMs`: batches handed out before wait for it, like a lane's queue. */
  function slowPool(loadMs: number, size = 2) {
    const loaded = sleep(loadMs);
    const pool = { size, ready: 0, batches: [] as string[][], run: async (inputs: readonly unknown[]) => (pool.batches.push(inputs.map(String)), await loaded, await sleep(2), inputs.map(row)) };
    void loaded.then(() => (pool.ready = size));
    return pool;
  }

  test('until a lane has loaded, batches run here; then on the lanes; every row once, in order, errors in place', async () => {
    const inputs = Array.from({ length: 61 }, (_, i) => (i === 9 || i === 50 ? `i${i}bad` : `i${i}`));
    const pool = slowPool(80);
    const hereBatches: string[][] = [];
    const here = async (batch: readonly unknown[]) => {
      hereBatches.push(batch.map(String));
      await sleep(25);
      return batch.map(row);
    };
    const rows: string[] = [];
    for await (const b of streamLanes(inputs as string[], 4, pool as never, undefined, here)) rows.push(...b.map((r) => (r instanceof PplcnetError ? `error:${r.message}` : r.input)));
    assert.deepEqual(rows, inputs.map((i) => (i.endsWith('bad') ? `error:${i}: broken` : i)));
    assert.ok(hereBatches.length >= 2, `batches run here while the lanes loaded: ${hereBatches.length}`);
    assert.equal(hereBatches.length + pool.batches.length, 16, 'each batch ran once, here or in a lane');
    assert.deepEqual(hereBatches[0], ['i0', 'i1', 'i2', 'i3'], 'the first batch starts here at once');
    const lastHere = Math.max(...hereBatches.map((b) => Number(b[0]!.slice(1).replace('bad', ''))));
    assert.ok(lastHere < 40, `no batch runs here long after the lanes are ready (last at image ${lastHere})`);
  });

  test('without `here`, or with lanes ready, every batch goes to the lanes', async () => {
    const inputs = Array.from({ length: 20 }, (_, i) => `i${i}`);
    for (const [pool, here] of [
      [slowPool(30), undefined],
      [Object.assign(slowPool(0), { ready: 2 }), async () => assert.fail('ran here with lanes ready')],
    ] as const) {
      const rows: string[] = [];
      for await (const b of streamLanes(inputs, 4, pool as never, undefined, here)) rows.push(...b.map((r) => (r as Classification).input));
      assert.deepEqual(rows, inputs);
      assert.equal(pool.batches.length, 5);
    }
  });

  test('a consumer that stops early: the batch running here settles before the stream returns', async () => {
    let running = 0;
    const here = async (batch: readonly unknown[]) => (running++, await sleep(30), running--, batch.map(row));
    // lanes that answer at once but never report ready: after the first batch, the next one starts here
    const pool = { size: 2, ready: 0, run: async (inputs: readonly unknown[]) => inputs.map(row) };
    let seen = 0;
    for await (const b of streamLanes(Array.from({ length: 40 }, (_, i) => `i${i}`), 4, pool as never, undefined, here)) {
      assert.equal(b.length, 4);
      if (++seen === 2) {
        assert.equal(running, 1, 'a batch is running here as the consumer stops');
        break;
      }
    }
    assert.equal(running, 0);
  });
});

describe('streamLanes with the calling thread as a lane', () => {
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  test('`alongside`: the calling thread keeps taking batches after the lanes are ready; rows in order', async () => {
    const inputs = Array.from({ length: 80 }, (_, i) => `i${i}`);
    const lane: string[] = [];
    const pool = { size: 1, ready: 1, run: async (b: readonly unknown[]) => (lane.push(String(b[0])), await sleep(15), b.map((i) => ({ input: String(i) }) as unknown as Classification)) };
    const mine: string[] = [];
    const here = async (b: readonly unknown[]) => (mine.push(String(b[0])), await sleep(15), b.map((i) => ({ input: String(i) }) as unknown as Classification));
    const rows: string[] = [];
    for await (const b of streamLanes(inputs, 4, pool as never, undefined, here, true)) rows.push(...b.map((r) => (r as Classification).input));
    assert.deepEqual(rows, inputs);
    assert.equal(mine.length + lane.length, 20);
    assert.ok(mine.length >= 5 && lane.length >= 5, `batches here ${mine.length}, in the lane ${lane.length}: both take a share`);
  });
});
