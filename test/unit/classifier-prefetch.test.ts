/**
 * `prefetch`: images read and decoded while the model loads. The answers are the classifier's own either way
 * (scores, labels, error rows); a prefetched image is taken once, by the first call that asks for it, and the
 * option is checked like every other.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClassifier, type Classification, PREFETCH_LIMIT } from '../../src/classifier.js';
import { PplcnetError } from '../../src/errors.js';
import { ROOT } from '../helpers.js';

const UPRIGHT = join(ROOT, 'models/examples/textline_upright.png');
const DOWN = join(ROOT, 'models/examples/textline_upside_down.png');
const MODEL = 'PP-LCNet_x0_25_textline_ori';

/** A row without its timings: what must not depend on how the image was prepared. */
function answer(r: Classification | PplcnetError): unknown {
  if (r instanceof PplcnetError) return { code: r.code, message: r.message };
  const { timings: _timings, ...rest } = r as Classification & { timings?: unknown };
  return rest;
}

describe('classifier prefetch', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pplcnet-prefetch-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the same rows with and without prefetch: images, a damaged file, a missing file, bytes', async () => {
    const broken = join(dir, 'broken.png');
    await writeFile(broken, Buffer.from('\x89PNG\r\n\x1a\nnot really'));
    const bytes = new Uint8Array(await readFile(DOWN));
    const inputs = [UPRIGHT, broken, join(dir, 'missing.png'), bytes, DOWN];
    const rows = async (prefetch: boolean): Promise<unknown[]> => {
      const clf = await createClassifier({ model: MODEL, cacheDir: join(dir, 'cache'), threads: 1, workers: 0, ...(prefetch ? { prefetch: inputs } : {}) });
      try {
        const out: unknown[] = [];
        for await (const batch of clf.classifyStream(inputs, { batchSize: 2 })) out.push(...batch.map(answer));
        return out;
      } finally {
        await clf.close();
      }
    };
    const plain = await rows(false);
    const ahead = await rows(true);
    assert.deepEqual(ahead, plain);
    assert.equal((plain[0] as Classification).topk[0]!.label, '0_degree');
    assert.equal((plain[4] as Classification).topk[0]!.label, '180_degree');
    assert.equal((plain[1] as { code: string }).code, 'E_IMAGE');
    assert.match((plain[1] as { message: string }).message, /broken\.png/);
    assert.match((plain[2] as { message: string }).message, /missing\.png/);
  });

  test('a prefetched image is the one read while the model loaded, taken once; the next call reads the file again', async () => {
    const file = join(dir, 'swapped.png');
    await copyFile(UPRIGHT, file);
    const clf = await createClassifier({ model: MODEL, cacheDir: join(dir, 'cache'), threads: 1, workers: 0, prefetch: [file] });
    try {
      await copyFile(DOWN, file); // the file changes after the classifier read it
      assert.equal((await clf.classify(file)).topk[0]!.label, '0_degree', 'the first call takes the image read ahead');
      assert.equal((await clf.classify(file)).topk[0]!.label, '180_degree', 'the second reads the file as it is now');
    } finally {
      await clf.close();
    }
  });

  test(`at most ${PREFETCH_LIMIT} images are read ahead`, async () => {
    const files: string[] = [];
    for (let i = 0; i <= PREFETCH_LIMIT; i++) {
      files.push(join(dir, `many-${i}.png`));
      await copyFile(UPRIGHT, files[i]!);
    }
    const clf = await createClassifier({ model: MODEL, cacheDir: join(dir, 'cache'), threads: 1, workers: 0, prefetch: files });
    try {
      for (const f of files) await copyFile(DOWN, f);
      const labels: string[] = [];
      for await (const batch of clf.classifyStream(files)) labels.push(...batch.map((r) => (r instanceof Error ? r.message : r.topk[0]!.label)));
      assert.deepEqual(labels, [...Array<string>(PREFETCH_LIMIT).fill('0_degree'), '180_degree']);
    } finally {
      await clf.close();
    }
  });

  test('prefetch must be an array of paths and bytes', async () => {
    for (const bad of ['one.png', [UPRIGHT, 3], { 0: UPRIGHT }]) {
      await assert.rejects(createClassifier({ model: MODEL, cacheDir: join(dir, 'cache'), prefetch: bad as never }), (err: unknown) => err instanceof TypeError && /prefetch/.test(err.message));
    }
  });
});
