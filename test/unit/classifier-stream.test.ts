/**
 * The stream's scheduling, with scripted preparers (no images, no model): every image prepared once and
 * classified in order; the main thread prepares ahead while a batch waits; no more images in hand than
 * allowed, on either side.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { streamBatches } from '../../src/classifier/stream.js';
import type { Classification, PreparedInput } from '../../src/classifier/types.js';
import { PplcnetError } from '../../src/errors.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function prepared(name: string): PreparedInput {
  return { name, data: new Float32Array(1), width: 1, height: 1, decodeMs: 0, preprocessMs: 0, queueMs: 0 };
}

interface Log {
  where: Map<string, string[]>;
  maxWorker: number;
  maxHere: number;
  /** For each batch classified: the images the main thread had started by then. */
  hereByBatch: string[][];
}

async function run(images: number, batchSize: number, workers: number, workerMs: number, hereMs: number, classifyMs: number, workersReady?: Promise<unknown>): Promise<{ batches: string[][]; log: Log }> {
  const log: Log = { where: new Map(), maxWorker: 0, maxHere: 0, hereByBatch: [] };
  let inWorker = 0;
  let here = 0;
  const hereStarted: string[] = [];
  const note = (name: string, who: string): void => {
    log.where.set(name, [...(log.where.get(name) ?? []), who]);
  };
  const inputs = Array.from({ length: images }, (_, i) => `img${String(i).padStart(3, '0')}`);
  const batches: string[][] = [];
  for await (const b of streamBatches(inputs, batchSize, {
    workers,
    ...(workersReady ? { workersReady } : {}),
    queuedPerWorker: 2,
    hereInFlight: 2,
    hereInFlightAlone: 3,
    inWorker: async (i) => {
      note(i as string, 'worker');
      log.maxWorker = Math.max(log.maxWorker, ++inWorker);
      await sleep(workerMs);
      inWorker--;
      return i === 'img005' ? new PplcnetError('E_IMAGE', 'img005: broken') : prepared(i as string);
    },
    here: async (i) => {
      note(i as string, 'here');
      hereStarted.push(i as string);
      log.maxHere = Math.max(log.maxHere, ++here);
      await sleep(hereMs);
      here--;
      return i === 'img005' ? new PplcnetError('E_IMAGE', 'img005: broken') : prepared(i as string);
    },
    classify: async (ready) => {
      log.hereByBatch.push([...hereStarted]);
      const t = Date.now();
      while (Date.now() - t < classifyMs); // onnxruntime blocks the thread while it runs
      return ready.map((r) => (r instanceof PplcnetError ? r : ({ input: r.name } as unknown as Classification)));
    },
  })) {
    batches.push(b.map((r) => (r instanceof PplcnetError ? `error:${r.message}` : (r as unknown as { input: string }).input)));
  }
  return { batches, log };
}

describe('streamBatches', () => {
  test('every image once, in order, errors in place; at most 2 in hand per worker and 2 on the main thread', async () => {
    const { batches, log } = await run(37, 8, 2, 15, 10, 5);
    assert.deepEqual(batches.map((b) => b.length), [8, 8, 8, 8, 5]);
    const flat = batches.flat();
    assert.equal(flat[5], 'error:img005: broken');
    assert.deepEqual(flat.filter((_, i) => i !== 5), Array.from({ length: 37 }, (_, i) => `img${String(i).padStart(3, '0')}`).filter((_, i) => i !== 5));
    for (const [name, who] of log.where) assert.equal(who.length, 1, `${name} prepared ${who.length} times (${who.join(', ')})`);
    assert.ok(log.maxWorker <= 4 && log.maxWorker >= 3, `worker images in hand at once: ${log.maxWorker} (2 workers x 2)`);
    assert.ok(log.maxHere <= 2, `main-thread images at once: ${log.maxHere}`);
  });

  test('the main thread prepares the next batches while the one it needs waits on slow workers', async () => {
    // one slow worker: the first batch waits on it, and meanwhile the main thread takes images beyond it
    const { log } = await run(32, 4, 1, 60, 5, 1);
    const firstBatch = new Set(['img000', 'img001', 'img002', 'img003']);
    const aheadByFirstRun = log.hereByBatch[0]!.filter((n) => !firstBatch.has(n));
    assert.ok(aheadByFirstRun.length > 0, `the main thread started only ${JSON.stringify(log.hereByBatch[0])} before the first run`);
    const byMain = [...log.where.values()].filter((w) => w[0] === 'here').length;
    assert.ok(byMain > 16, `the fast main thread prepared ${byMain} of 32 (the slow worker the rest)`);
  });

  test('with no workers the main thread prepares everything, hereInFlightAlone at a time', async () => {
    const { batches, log } = await run(10, 4, 0, 0, 5, 1);
    assert.equal(batches.flat().length, 10);
    assert.ok([...log.where.values()].every((w) => w.length === 1 && w[0] === 'here'));
    assert.equal(log.maxHere, 3);
  });

  test('workers still loading take nothing: the main thread prepares alone, then beside them', async () => {
    // the worker "loads" for 60 ms; the main thread prepares an image in 10 ms, three at once
    const ready = new Promise<void>((resolve) => setTimeout(resolve, 60));
    const { batches, log } = await run(40, 4, 1, 5, 10, 1, ready);
    assert.equal(batches.flat().length, 40);
    const order = [...log.where.entries()]; // in the order the images were started
    const firstWorker = order.findIndex(([, w]) => w[0] === 'worker');
    assert.ok(firstWorker >= 6, `a worker took image ${firstWorker}, before it could have loaded`);
    assert.ok(order.slice(0, firstWorker).every(([, w]) => w[0] === 'here'), 'until then the main thread prepared each image');
    assert.equal(log.maxHere, 3, 'alone: hereInFlightAlone at once');
    for (const [name, who] of log.where) assert.equal(who.length, 1, `${name} prepared ${who.length} times`);
  });

  test('a consumer that stops early leaves nothing running', async () => {
    let running = 0;
    const inputs = Array.from({ length: 40 }, (_, i) => `i${i}`);
    const gen = streamBatches(inputs, 4, {
      workers: 1,
      queuedPerWorker: 2,
      inWorker: async (i) => (running++, await sleep(10), running--, prepared(i as string)),
      here: async (i) => (running++, await sleep(10), running--, prepared(i as string)),
      classify: async (ready) => ready.map(() => ({}) as Classification),
    });
    for await (const b of gen) {
      assert.equal(b.length, 4);
      break;
    }
    assert.equal(running, 0, 'every started preparation settled before the stream returned');
  });
});

describe('streamBatches when a preparer throws', () => {
  test('a preparer that rejects fails only its image (an E_IMAGE row), and the stream finishes', async () => {
    const inputs = Array.from({ length: 10 }, (_, i) => `r${i}`);
    const rows: string[] = [];
    for await (const b of streamBatches(inputs, 4, {
      workers: 1,
      queuedPerWorker: 2,
      inWorker: async (i) => {
        await sleep(2);
        if (i === 'r1') throw new Error('worker exploded');
        return prepared(i as string);
      },
      here: async (i) => {
        if (i === 'r6') throw null; // not even an Error
        return prepared(i as string);
      },
      classify: async (ready) => ready.map((r) => (r instanceof PplcnetError ? r : ({ input: r.name } as unknown as Classification))),
    })) {
      for (const r of b) rows.push(r instanceof PplcnetError ? `${r.code}:${r.message}` : (r as unknown as { input: string }).input);
    }
    assert.equal(rows.length, 10);
    const failed = rows.filter((r) => r.startsWith('E_IMAGE:'));
    // which preparer took r1 and r6 depends on timing; whichever threw, its image is the one that failed
    assert.ok(failed.length <= 2 && failed.every((r) => /^E_IMAGE:r[16]: (worker exploded|null)$/.test(r)), JSON.stringify(failed));
    assert.deepEqual(rows.filter((r) => !r.startsWith('E_IMAGE:')), inputs.filter((i) => !failed.some((f) => f.includes(`${i}:`))));
  });
});

describe('streamBatches memory', () => {
  test('images in flight stay bounded: at most (ahead + 1) batches of prepared tensors are reachable at once', async () => {
    // a prepared image is released once its batch is classified: with a WeakRef on every one, a full GC
    // while the consumer reads batch k finds at most the batches the stream may hold ahead of it
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const refs: WeakRef<Float32Array>[] = [];
    const make = async (i: unknown): Promise<PreparedInput> => {
      await sleep(0);
      const data = new Float32Array(4096);
      refs.push(new WeakRef(data));
      return { ...prepared(i as string), data };
    };
    const batchSize = 4;
    const ahead = 2;
    const inputs = Array.from({ length: 80 }, (_, i) => `m${i}`);
    const alive: number[] = [];
    const names: string[] = [];
    for await (const b of streamBatches(inputs, batchSize, { workers: 1, queuedPerWorker: 2, inWorker: make, here: make, classify: async (ready) => ready.map((r) => ({ input: (r as PreparedInput).name }) as unknown as Classification) }, ahead)) {
      names.push(...b.map((r) => (r as unknown as { input: string }).input));
      await new Promise((r) => setImmediate(r));
      gc();
      alive.push(refs.filter((r) => r.deref() !== undefined).length);
    }
    assert.deepEqual(names, inputs);
    assert.equal(refs.length, 80);
    const worst = Math.max(...alive.slice(3));
    assert.ok(worst <= (ahead + 1) * batchSize, `prepared images reachable at once: ${worst} (per batch: ${alive.join(',')})`);
  });
});
