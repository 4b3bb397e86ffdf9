/**
 * `classifier.openLanes(n)`: prepared images run in worker threads with their own session give the rows the
 * classifier gives on its own thread (errors in place, in order); `transfer` moves the tensors; closed lanes
 * answer E_CLOSED rows. A model resolved once (`resolveModel`) is taken by createClassifier as it is.
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Classification, createClassifier } from '../../src/classifier.js';
import { PplcnetError } from '../../src/errors.js';
import { resolveModel } from '../../src/models/resolve.js';
import { FIXTURES } from '../fixtures/index.js';
import { tempDir } from '../helpers.js';

describe('classifier.openLanes', () => {
  const tmp = tempDir('open-lanes', { before, after });

  test('lanes give the classifier’s rows; errors stay in place; transfer detaches; closed lanes answer E_CLOSED', { timeout: 120_000 }, async () => {
    const resolved = await resolveModel('PP-LCNet_x0_25_textline_ori', { cacheDir: join(tmp.path, 'cache') });
    const clf = await createClassifier({ model: resolved, ep: 'cpu', threads: 1, workers: 0 });
    try {
      assert.equal(clf.name, 'PP-LCNet_x0_25_textline_ori');
      const names = (await readdir(FIXTURES.textlines)).filter((f) => f.endsWith('.png')).sort().slice(0, 6);
      const prepared = await Promise.all(names.map(async (n) => clf.prepare(await readFile(join(FIXTURES.textlines, n)), n)));
      const broken = new PplcnetError('E_IMAGE', 'broken.png: not an image');
      const batch = [prepared[0]!, broken, ...prepared.slice(1)];
      const here = await clf.classifyPrepared(batch);
      const lanes = clf.openLanes(2);
      assert.equal(lanes.size, 2);
      const copies = batch.map((p) => (p instanceof PplcnetError ? p : { ...p, data: p.data.slice() }));
      const [laned, again] = await Promise.all([lanes.classifyPrepared(batch), lanes.classifyPrepared(copies, { transfer: true })]);
      for (const rows of [laned, again]) {
        assert.equal(rows.length, batch.length);
        assert.equal(rows[1], broken, 'the error given stays in place');
        rows.forEach((r, i) => {
          if (i === 1) return;
          const h = here[i] as Classification;
          const l = r as Classification;
          assert.equal(l.input, h.input);
          assert.deepEqual(l.topk.map((t) => t.classId), h.topk.map((t) => t.classId));
          h.probs.forEach((v, j) => assert.ok(Math.abs(v - l.probs[j]!) <= 1e-6, `${h.input} class ${j}`));
          assert.equal(l.timings.batchSize, batch.length - 1);
        });
      }
      assert.ok((prepared[0]!.data.length as number) > 0, 'without transfer the caller keeps its tensors');
      assert.equal((copies[0] as { data: Float32Array }).data.length, 0, 'with transfer the tensors moved (detached here)');
      await lanes.close();
      const closed = await lanes.classifyPrepared([prepared[0]!]);
      assert.ok(closed[0] instanceof PplcnetError && closed[0].code === 'E_CLOSED');
      assert.throws(() => clf.openLanes(0), /count/);
    } finally {
      await clf.close();
    }
    assert.throws(() => clf.openLanes(1), (e: unknown) => e instanceof PplcnetError && e.code === 'E_CLOSED');
  });
});
