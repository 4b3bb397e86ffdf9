/**
 * The classifier's pipeline: honest per-image timings (work, queue wait, the batch's inference), bytes moved
 * to worker threads instead of cloned, and threads/workers/batch planned from the core count.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Classifier, createClassifier, planExecution } from '../../src/classifier.js';
import { inferenceEstimate } from '../../src/classifier/plan.js';
import { PplcnetError } from '../../src/errors.js';
import { IMAGES_IN_HAND } from '../../src/image/pool.js';
import { preprocess } from '../../src/image/preprocess.js';
import { FIXTURES } from '../fixtures/index.js';
import { tempDir } from '../helpers.js';

const IMAGE = join(FIXTURES.textlines, '03_up.png');

describe('classifier pipeline: timings and worker transfers', () => {
  const cache = tempDir('pipeline', { before, after });
  let clf: Classifier;
  before(async () => {
    clf = await createClassifier({ model: 'PP-LCNet_x0_25_textline_ori', cacheDir: cache.path, ep: 'cpu', threads: 1, workers: 1 });
  });
  after(async () => {
    await clf.close();
  });

  test('through one worker: at most four images in hand, the wait is queueMs, inference is the batch’s', async () => {
    const n = 24;
    const files = Array.from({ length: n }, (_, i) => join(FIXTURES.textlines, `${String(i % 10).padStart(2, '0')}_${i % 2 ? 'down' : 'up'}.png`));
    const t0 = performance.now();
    const rows = [];
    const batches = [];
    // two batches of 12: both are handed to the worker at once (the stream prepares ahead)
    for await (const batch of clf.classifyStream(files, { batchSize: n / 2 })) {
      rows.push(...batch);
      batches.push(batch);
    }
    const wall = performance.now() - t0;
    assert.equal(clf.workers, 1);
    const ok = rows.map((r) => {
      assert.ok(!(r instanceof Error), String(r));
      return r;
    });
    // two preparers (the worker, and the main thread between runs), each with two images in hand, or the main
    // thread alone with six while the worker loads: the work times add up to no more than six times the wall time
    const inHand = Math.max(IMAGES_IN_HAND + 2, 6);
    const work = ok.map((r) => r.timings.decodeMs + r.timings.preprocessMs);
    const sum = work.reduce((a, b) => a + b, 0);
    assert.ok(sum <= inHand * wall, `decode+preprocess add up to ${sum.toFixed(1)} ms in ${wall.toFixed(1)} ms of wall time`);
    // all 24 were queued at once: the last waited for the work of the images before it, shared by four
    const last = ok[n - 1]!.timings.queueMs;
    const before = work.slice(0, n - 1).reduce((a, b) => a + b, 0);
    assert.ok(last >= (0.8 / inHand) * before, `last queueMs ${last.toFixed(1)} vs ${before.toFixed(1)} ms of work before it`);
    assert.ok(ok[0]!.timings.queueMs < last);
    // one run per batch, the same figure on each of its rows, labeled as the batch's
    assert.equal(batches.length, 2);
    for (const b of batches) {
      const first = b[0] as { timings: { batchInferenceMs: number } };
      assert.ok(first.timings.batchInferenceMs > 0);
      assert.ok(b.every((r) => !(r instanceof Error) && r.timings.batchSize === n / 2 && r.timings.batchInferenceMs === first.timings.batchInferenceMs));
    }
    // work times are the images' own: comparable first and last (a queued image's wait is not in decodeMs)
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const early = median(ok.slice(0, 8).map((r) => r.timings.decodeMs));
    const late = median(ok.slice(-8).map((r) => r.timings.decodeMs));
    assert.ok(late < 4 * early + 2, `decodeMs grew from ${early.toFixed(2)} to ${late.toFixed(2)} ms`);
  });

  test('bytes given up with transfer move to the worker (detached here); others are copied; tensors identical', async () => {
    const bytes = new Uint8Array(await readFile(IMAGE)); // its own ArrayBuffer
    const want = await preprocess(IMAGE, clf.preprocess);
    const kept = bytes.slice();
    const copied = await clf.prepare(kept, 'kept.png');
    assert.equal(kept.byteLength, bytes.byteLength, 'without transfer the caller keeps its bytes');
    const moved = await clf.prepare(bytes, 'moved.png', { transfer: true });
    assert.equal(bytes.byteLength, 0, 'with transfer the bytes were moved, not cloned');
    // a view into a larger buffer is copied (its own bytes only) even with transfer, and stays usable
    const big = new Uint8Array(kept.byteLength + 64);
    big.set(kept, 32);
    const view = big.subarray(32, 32 + kept.byteLength);
    const fromView = await clf.prepare(view, 'view.png', { transfer: true });
    assert.equal(view.byteLength, kept.byteLength);
    for (const p of [copied, moved, fromView]) {
      assert.deepEqual([p.width, p.height], [want.width, want.height]);
      assert.deepEqual(Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength), Buffer.from(want.data.buffer, want.data.byteOffset, want.data.byteLength));
    }
    const r = await clf.classifyPrepared([moved, new PplcnetError('E_IMAGE', 'x'), fromView]);
    assert.ok(r[1] instanceof PplcnetError);
    assert.equal((r[0] as { timings: { batchSize: number } }).timings.batchSize, 2);
  });
});

describe('execution plan', () => {
  const cache = tempDir('plan', { before, after });
  const x10 = { architecture: { scale: 1.0 }, inputSize: [224, 224] as const };
  const textline = { architecture: { scale: 0.25, classNum: 2 }, inputSize: [80, 160] as const };

  test('threads + workers = cores, split by the estimated costs; a 1-core machine prepares on the main thread', () => {
    const inf = inferenceEstimate(x10)!;
    assert.ok(inf > inferenceEstimate(textline)! * 10, 'x1_0 at 224 costs far more than x0_25 at 80x160');
    for (const cores of [1, 2, 3, 4, 8, 16, 64]) {
      const p = planExecution({}, inf, cores);
      assert.equal(p.cores, cores);
      assert.equal(p.threads + p.workers, Math.max(cores, 1), `${cores} cores: ${p.reason}`);
      assert.ok(p.threads >= 1);
      assert.equal(p.workers, cores === 1 ? 0 : Math.min(cores - 1, Math.max(1, Math.round((cores * p.estimate.preprocessMs) / (p.estimate.preprocessMs + inf)))));
      assert.equal(p.spinning, false);
      assert.equal(p.batchSize, 8);
      assert.match(p.reason, new RegExp(`^${cores} cores: ${p.threads} intra-op thread\\(s\\), ${p.workers} preprocessing worker\\(s\\), batch 8`));
    }
    // a cheap model leaves more cores to preprocessing than an expensive one
    assert.ok(planExecution({}, inferenceEstimate(textline), 16).workers > planExecution({}, inf, 16).workers);
  });

  test('what the caller fixes is kept; the rest fills the other cores; bad values are refused', () => {
    assert.deepEqual([planExecution({ threads: 3 }, 2, 8).threads, planExecution({ threads: 3 }, 2, 8).workers], [3, 5]);
    assert.deepEqual([planExecution({ workers: 2 }, 2, 8).threads, planExecution({ workers: 2 }, 2, 8).workers], [6, 2]);
    assert.deepEqual([planExecution({ threads: 2 }, 2, 2).threads, planExecution({ threads: 2 }, 2, 2).workers], [2, 1], 'a worker still overlaps inference');
    assert.deepEqual(planExecution({ threads: 0 }, 2, 4), planExecution({}, 2, 4), 'threads 0 is planned like no value');
    assert.equal(planExecution({ workers: 0, threads: 2, batchSize: 16 }, 2, 2).batchSize, 16);
    assert.throws(() => planExecution({ workers: -1 }, 2, 2), (e: unknown) => e instanceof RangeError && /'workers'/.test(e.message));
    assert.throws(() => planExecution({ batchSize: 0 }, 2, 2), (e: unknown) => e instanceof RangeError && /'batchSize'/.test(e.message));
  });

  test('the classifier runs its plan and says so', async () => {
    {
      const clf = await createClassifier({ model: 'PP-LCNet_x0_25_textline_ori', cacheDir: cache.path, ep: 'cpu', workers: 1, batchSize: 4 });
      try {
        assert.equal(clf.plan.workers, 1);
        assert.equal(clf.plan.batchSize, 4);
        const files = Array.from({ length: 9 }, () => IMAGE);
        const sizes: number[] = [];
        for await (const b of clf.classifyStream(files)) sizes.push(b.length);
        assert.deepEqual(sizes, [4, 4, 1]);
        assert.equal(clf.workers, 1);
      } finally {
        await clf.close();
      }
    }
  });
});
