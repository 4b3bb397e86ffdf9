/**
 * The preprocessing pool when a worker dies: only that worker's images fail, the others' carry on, and new
 * work goes to the workers still alive. And the per-thread turn for large decodes: one at a time.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PplcnetError } from '../../../src/errors.js';
import { largeTurn } from '../../../src/image/decode.js';
import { PreprocessPool } from '../../../src/image/pool.js';
import { IMAGENET_PREPROCESS } from '../../../src/metadata.js';
import { FIXTURES } from '../../fixtures/index.js';

const IMAGE = join(FIXTURES.textlines, '03_up.png');

describe('PreprocessPool', () => {
  test('a worker that exits fails its own images only; later images go to the living worker', async () => {
    const pool = new PreprocessPool(2);
    try {
      // least-busy placement alternates: even requests on worker 0, odd on worker 1
      const jobs = Array.from({ length: 6 }, (_, i) => pool.prepare(IMAGE, `img${i}`, IMAGENET_PREPROCESS).then((r) => r, (e: unknown) => e));
      await (pool as unknown as { workers: { terminate(): Promise<number> }[] }).workers[0]!.terminate();
      const results = await Promise.all(jobs);
      const failed = results.map((r, i) => (r instanceof PplcnetError ? i : -1)).filter((i) => i >= 0);
      assert.ok(failed.length >= 1 && failed.every((i) => i % 2 === 0), `failed: ${failed.join(', ')} (only worker 0's)`);
      for (const i of failed) assert.match((results[i] as Error).message, /preprocessing worker exited/);
      for (const i of [1, 3, 5]) assert.ok(!(results[i] instanceof Error), `img${i} on the living worker: ${String(results[i])}`);
      const later = await pool.prepare(IMAGE, 'later', IMAGENET_PREPROCESS);
      assert.deepEqual([later.width, later.height], [224, 224]);
    } finally {
      await pool.close();
    }
  });
});

describe('large decodes take turns', () => {
  test('a second turn starts only when the first is released, in order', async () => {
    const order: string[] = [];
    const first = await largeTurn();
    const second = largeTurn().then((release) => (order.push('second'), release));
    const third = largeTurn().then((release) => (order.push('third'), release));
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(order, [], 'both wait while the first holds the turn');
    first();
    (await second)();
    (await third)();
    assert.deepEqual(order, ['second', 'third']);
    // free again: taken at once
    const again = await Promise.race([largeTurn(), new Promise((r) => setTimeout(() => r('waited'), 50))]);
    assert.equal(typeof again, 'function');
    (again as () => void)();
  });
});
