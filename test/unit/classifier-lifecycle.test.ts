/** A classifier's life: closing, use after close, `await using`, and worker threads that never hold the process. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClassifier } from '../../src/classifier.js';
import { PplcnetError } from '../../src/errors.js';
import { ROOT, childOutput } from '../helpers.js';

const IMAGE = join(ROOT, 'models/examples/textline_upright.png');

describe('classifier lifecycle', () => {
  let cache = '';
  before(async () => {
    cache = await mkdtemp(join(tmpdir(), 'pplcnet-life-'));
  });
  after(async () => {
    await rm(cache, { recursive: true, force: true });
  });

  test('every use after close() throws E_CLOSED naming what to do; close() twice is fine', async () => {
    const clf = await createClassifier({ model: 'PP-LCNet_x0_25_textline_ori', cacheDir: cache, threads: 1 });
    assert.equal((await clf.classify(IMAGE)).topk[0]!.label, '0_degree');
    await clf.close();
    await clf.close();
    const isClosed = (err: unknown): boolean => err instanceof PplcnetError && err.code === 'E_CLOSED' && /createClassifier/.test(err.message);
    await assert.rejects(clf.classify(IMAGE), isClosed);
    await assert.rejects(clf.classifyBatch([IMAGE]), isClosed);
    await assert.rejects(clf.run(new Float32Array(3 * 80 * 160), 1, 80, 160), isClosed);
    await assert.rejects(async () => {
      for await (const _ of clf.classifyStream([IMAGE, IMAGE])) assert.fail('a closed classifier yielded');
    }, isClosed);
  });

  test('await using closes the classifier at the end of the block', async () => {
    let escaped: Awaited<ReturnType<typeof createClassifier>> | undefined;
    {
      await using clf = await createClassifier({ model: 'PP-LCNet_x0_25_textline_ori', cacheDir: cache, threads: 1 });
      escaped = clf;
      assert.equal((await clf.classify(IMAGE)).topk[0]!.label, '0_degree');
    }
    await assert.rejects(escaped.classify(IMAGE), (err: unknown) => err instanceof PplcnetError && err.code === 'E_CLOSED');
  });

  test('a process that streams through worker threads and never calls close() still exits', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pplcnet-life-imgs-'));
    try {
      const files: string[] = [];
      for (let i = 0; i < 12; i++) {
        files.push(join(dir, `${i}.png`));
        await copyFile(IMAGE, files[i]!);
      }
      const code = `
        import { createClassifier } from './dist/src/index.js';
        const clf = await createClassifier({ model: 'PP-LCNet_x0_25_textline_ori', threads: 1, workers: 2, cacheDir: ${JSON.stringify(cache)} });
        let n = 0;
        for await (const batch of clf.classifyStream(${JSON.stringify(files)}, { batchSize: 4 })) n += batch.filter((r) => !(r instanceof Error)).length;
        process.stdout.write(JSON.stringify({ n, workers: clf.workers }));`;
      const out = await childOutput(spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }), 30_000);
      assert.equal(out.signal, null, 'the process had to be killed: something held it open');
      assert.equal(out.code, 0, out.stderr);
      assert.deepEqual(JSON.parse(out.stdout), { n: 12, workers: 2 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
