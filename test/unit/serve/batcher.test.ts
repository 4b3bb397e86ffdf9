import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Batcher, BatcherClosedError, BatcherFullError } from '../../../src/serve/batcher.js';

/** A batcher whose run doubles numbers (rejecting negatives in place) and records each batch. */
function doubling(options: { maxBatch: number; maxDelayMs: number; maxQueue?: number; runMs?: number }) {
  const batches: number[][] = [];
  const b = new Batcher<number, number>({
    ...options,
    async run(items) {
      batches.push([...items]);
      if (options.runMs) await sleep(options.runMs);
      return items.map((x) => (x < 0 ? new RangeError(`negative: ${x}`) : 2 * x));
    },
  });
  return { b, batches };
}

describe('Batcher', () => {
  test('items submitted together share one run, up to maxBatch; each gets its own result', async () => {
    const { b, batches } = doubling({ maxBatch: 4, maxDelayMs: 50 });
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((x) => b.submit(x)));
    assert.deepEqual(results, [2, 4, 6, 8, 10, 12]);
    assert.deepEqual(batches, [[1, 2, 3, 4], [5, 6]]);
  });

  test('a lone item runs after maxDelayMs, not before', async () => {
    const { b, batches } = doubling({ maxBatch: 8, maxDelayMs: 60 });
    const t0 = performance.now();
    assert.equal(await b.submit(7), 14);
    const waited = performance.now() - t0;
    assert.ok(waited >= 55, `ran after ${waited} ms`);
    assert.deepEqual(batches, [[7]]);
  });

  test('items arriving while a batch runs form the next batch; errors stay with their item', async () => {
    const { b, batches } = doubling({ maxBatch: 8, maxDelayMs: 0, runMs: 40 });
    const first = b.submit(1);
    await sleep(5); // the first batch is running now
    const later = [b.submit(2), b.submit(-3), b.submit(4)];
    assert.equal(await first, 2);
    const settled = await Promise.allSettled(later);
    assert.deepEqual(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message)), [4, 'negative: -3', 8]);
    assert.deepEqual(batches, [[1], [2, -3, 4]]);
  });

  test('a full queue refuses with BatcherFullError; an aborted item leaves the queue', async () => {
    const { b, batches } = doubling({ maxBatch: 8, maxDelayMs: 100, maxQueue: 2 });
    const ac = new AbortController();
    const a = b.submit(1, ac.signal);
    const c = b.submit(2);
    await assert.rejects(b.submit(3), BatcherFullError);
    ac.abort(new Error('gave up'));
    await assert.rejects(a, /gave up/);
    assert.equal(b.pending, 1);
    assert.equal(await c, 4);
    assert.deepEqual(batches, [[2]]);
  });

  test('close runs what is queued, then refuses new items', async () => {
    const { b } = doubling({ maxBatch: 8, maxDelayMs: 30 });
    const p = b.submit(5);
    await b.close();
    assert.equal(await p, 10);
    await assert.rejects(b.submit(1), BatcherClosedError);
  });

  test('a run that throws rejects every item of its batch', async () => {
    const b = new Batcher<number, number>({ maxBatch: 4, maxDelayMs: 0, run: async () => Promise.reject(new Error('session lost')) });
    const r = await Promise.allSettled([b.submit(1), b.submit(2)]);
    assert.ok(r.every((x) => x.status === 'rejected' && /session lost/.test(String(x.reason))));
  });

  test('maxRunning 2: two batches run at once, the items arriving meanwhile wait for a free slot', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let twoStarted!: () => void;
    const bothRunning = new Promise<void>((r) => (twoStarted = r));
    const b = new Batcher<number, number>({
      maxBatch: 2,
      maxDelayMs: 5,
      maxRunning: 2,
      async run(items) {
        batches.push([...items]);
        if (batches.length === 2) twoStarted();
        await gate;
        return items.map((x) => x + 1);
      },
    });
    const all = [1, 2, 3, 4, 5, 6].map((x) => b.submit(x));
    await bothRunning;
    assert.equal(b.runningBatches, 2);
    assert.equal(b.pending, 2, 'the third batch waits for a slot');
    assert.deepEqual(batches, [[1, 2], [3, 4]]);
    release();
    assert.deepEqual(await Promise.all(all), [2, 3, 4, 5, 6, 7]);
    assert.deepEqual(batches, [[1, 2], [3, 4], [5, 6]]);
    assert.throws(() => new Batcher<number, number>({ maxBatch: 1, maxDelayMs: 0, maxRunning: 0, run: async (x) => x }), /maxRunning/);
  });
});
