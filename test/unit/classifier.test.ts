import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Classifier, createClassifier, topK } from '../../src/classifier.js';
import { PplcnetError } from '../../src/errors.js';
import { FIXTURES } from '../fixtures/index.js';
import { assertAllClose } from '../helpers.js';

describe('createClassifier with the shipped text-line model', () => {
  let cache = '';
  let clf: Classifier;
  before(async () => {
    cache = await mkdtemp(join(tmpdir(), 'pplcnet-cache-'));
    clf = await createClassifier({ model: 'PP-LCNet_x0_25_textline_ori', cacheDir: cache, ep: 'cpu', threads: 1 });
  });
  after(async () => {
    await clf.close();
    await rm(cache, { recursive: true, force: true });
  });

  test('converted once into the cache, then read from it', async () => {
    const files = await readdir(join(cache, 'onnx'));
    assert.equal(files.length, 3, files.join(', '));
    assert.match(files.sort()[0]!, /^[0-9a-f]{64}\.onnx$/);
    assert.deepEqual(files.slice(1), [`${files[0]}.json`, `${files[0]}.sha256`], 'its source record and digest beside it');
    const again = await createClassifier({ model: 'textline', cacheDir: cache, ep: 'cpu' });
    assert.equal(again.name, 'PP-LCNet_x0_25_textline_ori');
    await again.close();
    assert.equal((await readdir(join(cache, 'onnx'))).length, 3, 'read from the cache: nothing new');
  });

  test('rendered text lines: upright → 0_degree, upside down → 180_degree, each > 0.95, 10 lines', async () => {
    const files = (await readdir(FIXTURES.textlines)).filter((f) => f.endsWith('.png')).sort();
    assert.equal(files.length, 20);
    const results = await clf.classifyBatch(files.map((f) => join(FIXTURES.textlines, f)));
    results.forEach((r, i) => {
      assert.ok(!(r instanceof Error), String(r));
      const want = files[i]!.includes('_up') ? '0_degree' : '180_degree';
      assert.equal(r.topk[0]!.label, want, files[i]);
      assert.ok(r.topk[0]!.score > 0.95, `${files[i]}: ${r.topk[0]!.score}`);
    });
  });

  test('probabilities equal the reference computed from OpenCV-preprocessed pixels (1e-5)', async () => {
    const ref = JSON.parse(await readFile(FIXTURES.textlineReference, 'utf8'));
    for (const [name, probs] of Object.entries(ref.images as Record<string, number[]>)) {
      const r = await clf.classify(join(FIXTURES.textlines, name));
      assertAllClose(r.probs, probs, { atol: 1e-5, what: name });
      assert.equal(r.timings.batchSize, 1);
    }
  });

  test('a batch with an unreadable image yields its error in place; the rest still run', async () => {
    const good = join(FIXTURES.textlines, '03_up.png');
    const results = await clf.classifyBatch([good, '/no/such/image.png', new Uint8Array([1, 2, 3]), good]);
    assert.ok(!(results[0] instanceof Error) && !(results[3] instanceof Error));
    assert.ok(results[1] instanceof PplcnetError && /image\.png: no such file/.test(results[1].message));
    assert.ok(results[2] instanceof PplcnetError && results[2].code === 'E_IMAGE');
    assert.equal((results[0] as { timings: { batchSize: number } }).timings.batchSize, 2);
  });

  test('topK orders by score and labels classes', () => {
    assert.deepEqual(topK([0.1, 0.5, 0.4], 2, ['a', 'b', 'c']), [
      { classId: 1, label: 'b', score: 0.5 },
      { classId: 2, label: 'c', score: 0.4 },
    ]);
    assert.deepEqual(topK([0.5, 0.5], 5).map((t) => t.label), ['0', '1']);
  });

  test('unknown models are refused with the nearest zoo names, not the whole list', async () => {
    await assert.rejects(createClassifier({ model: 'resnet50', cacheDir: cache }), /'resnet50' is neither a file nor a zoo model; 'pplcnet zoo list' shows all \d+$/);
    // equally near to three SSLD models; the beginning of two PULC names
    await assert.rejects(createClassifier({ model: 'PPLCNet_x1_5_ssl', cacheDir: cache }), /; did you mean one of PPLCNet_x0_5_ssld, PPLCNet_x1_0_ssld, PPLCNet_x2_5_ssld\? \('pplcnet zoo list' shows all \d+\)$/);
    await assert.rejects(createClassifier({ model: 'pulc_person', cacheDir: cache }), /; did you mean one of PULC_person_attribute, PULC_person_exists\? /);
  });
});

describe('createClassifier with a .pdparams file', () => {
  test('converted on the fly (cached), scores equal the numpy reference for preprocessed input', async () => {
    const cache = await mkdtemp(join(tmpdir(), 'pplcnet-cache-'));
    try {
      const e = JSON.parse(await readFile(join(FIXTURES.pdparams, 'expected.json'), 'utf8')).x0_25;
      const clf = await createClassifier({ model: join(FIXTURES.pdparams, e.file), cacheDir: cache, ep: 'cpu', build: { inputSize: 64 } });
      const n = 2 * 3 * 64 * 64;
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = Math.sin(0.001 * i * 7.3) * 2;
      assertAllClose(await clf.run(x, 2, 64, 64), e.probs.flat(), { atol: 1e-6 });
      assert.equal(clf.name, 'PPLCNet_x0_25');
      await clf.close();
      assert.equal((await readdir(join(cache, 'onnx'))).filter((f) => f.endsWith('.onnx')).length, 1);
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });
});
