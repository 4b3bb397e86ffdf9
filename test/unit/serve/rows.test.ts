/**
 * serve's classify rows are the rows `predict --json` writes: for a multi-label (sigmoid) model `?threshold=`
 * gives `labels` and `threshold`, byte for byte what the library's classification of the same image gives at
 * that threshold (timings aside), and the classes over it are the numpy reference's (make_heads.py).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Classification, type Classifier, createClassifier } from '../../../src/classifier.js';
import { convertPdparams } from '../../../src/convert/from-weights.js';
import { resultRow } from '../../../src/output-row.js';
import { type ServeApp, createServeApp } from '../../../src/serve/app.js';
import { FIXTURES } from '../../fixtures/index.js';
import { MODEL, injectForm, textlineClassifier, upload, withoutTimings } from './common.js';

interface Reference {
  threshold: number;
  labels: string[];
  size: number;
  images: { file: string; scores: number[] }[];
}

/** A row without its timings, as JSON text. */

describe('serve rows of a multi-label model', () => {
  let ref: Reference;
  let bytes: Uint8Array;
  let served: ServeApp;
  let clf: Classifier;
  const opened: Classifier[] = [];

  before(async () => {
    ref = JSON.parse(await readFile(join(FIXTURES.heads, 'reference.json'), 'utf8')) as Reference;
    bytes = (await convertPdparams(join(FIXTURES.heads, 'multilabel.pdparams'), { inputSize: ref.size, head: 'sigmoid' })).bytes;
    clf = await createClassifier({ model: bytes, labels: ref.labels, workers: 0, ep: 'cpu', threads: 1 });
    served = await createServeApp([{ name: 'attrs', classifier: clf }], { processMetrics: false });
  });
  after(async () => {
    await served?.close();
    for (const c of [clf, ...opened]) await c?.close();
  });

  /** `fn` with a server of the shipped text-line model, converted into a model cache of its own, closed after. */
  async function withTextlineApp(fn: (app: ServeApp, lines: Classifier) => Promise<void>): Promise<void> {
    const cache = await mkdtemp(join(tmpdir(), 'pplcnet-serve-rows-'));
    const lines = await textlineClassifier(cache);
    opened.push(lines);
    const app = await createServeApp([{ name: MODEL, classifier: lines }], { processMetrics: false });
    try {
      await fn(app, lines);
    } finally {
      await app.close();
      await rm(cache, { recursive: true, force: true });
    }
  }

  for (const threshold of [0.5, 0.3, 0.75]) {
    test(`?threshold=${threshold}&topk=3: the row predict --json writes, labels as the numpy reference`, async () => {
      const library = await createClassifier({ model: bytes, labels: ref.labels, threshold, topk: 3, workers: 0, ep: 'cpu', threads: 1 });
      opened.push(library);
      for (const img of ref.images) {
        const path = join(FIXTURES.heads, img.file);
        const res = await served.app.inject({ method: 'POST', url: `/v1/models/attrs/classify?threshold=${threshold}&topk=3`, headers: { 'content-type': 'image/bmp' }, payload: await readFile(path) });
        assert.equal(res.statusCode, 200, res.body);
        const row = res.json().results[0] as Record<string, unknown>;
        // what predict --json writes for the same image: the library's classification through the one row builder
        const r = await library.classify(path);
        const expected = resultRow(r, 'attrs', 'body');
        assert.ok(expected.labels && expected.threshold === threshold, 'the library gives labels and threshold');
        assert.equal(withoutTimings(row), withoutTimings(expected), img.file);
        // independent: the classes whose numpy sigmoid score reaches the threshold
        const over = img.scores.flatMap((s, i) => (s >= threshold ? [i] : []));
        assert.deepEqual((row.labels as { classId: number }[]).map((l) => l.classId), over, img.file);
        for (const l of row.labels as { classId: number; label: string; score: number }[]) {
          assert.ok(Math.abs(l.score - img.scores[l.classId]!) <= 1e-5, `${img.file} ${l.label}`);
          assert.equal(l.label, ref.labels[l.classId]);
        }
        assert.equal(row.threshold, threshold);
      }
    });
  }

  test("without ?threshold the classifier's threshold is used; a softmax model's row has no labels", async () => {
    const img = ref.images[0]!;
    const res = await served.app.inject({ method: 'POST', url: '/v1/models/attrs/classify', headers: { 'content-type': 'image/bmp' }, payload: await readFile(join(FIXTURES.heads, img.file)) });
    const row = res.json().results[0];
    assert.equal(row.threshold, clf.threshold);
    assert.deepEqual(row.labels.map((l: { classId: number }) => l.classId), img.scores.flatMap((s, i) => (s >= clf.threshold ? [i] : [])));
    const soft = await createClassifier({ model: (await convertPdparams(join(FIXTURES.heads, 'multilabel.pdparams'), { inputSize: ref.size })).bytes, workers: 0, ep: 'cpu', threads: 1 });
    opened.push(soft);
    const plain = await createServeApp([{ name: 'soft', classifier: soft }], { processMetrics: false });
    try {
      const r = (await plain.app.inject({ method: 'POST', url: '/v1/models/soft/classify?threshold=0.5', headers: { 'content-type': 'image/bmp' }, payload: await readFile(join(FIXTURES.heads, img.file)) })).json().results[0];
      assert.deepEqual(Object.keys(r), ['file', 'model', 'topk', 'timings']);
      assert.deepEqual(Object.keys(row), ['file', 'model', 'topk', 'labels', 'threshold', 'timings']);
    } finally {
      await plain.close();
    }
  });

  test('a softmax model: a multipart upload\'s row is the library\'s row of that file, byte for byte (timings aside)', () =>
    withTextlineApp(async (app, lines) => {
      for (const name of ['02_up.png', '09_down.png']) {
        const path = join(FIXTURES.textlines, name);
        const res = await injectForm(app, `/v1/models/${MODEL}/classify`, upload([[name, await readFile(path)]]));
        assert.equal(res.statusCode, 200, res.body);
        const row = res.json().results[0] as Record<string, unknown>;
        assert.equal(withoutTimings(row), withoutTimings({ ...resultRow(await lines.classify(path), MODEL, name) }), name);
      }
    }));

  test("a PNG with bytes after its IEND: the row carries the library's warning, byte for byte (timings aside)", () =>
    withTextlineApp(async (app, lines) => {
      const png = await readFile(join(FIXTURES.textlines, '03_down.png'));
      const trailing = Buffer.concat([png, Buffer.from('7 bytes')]);
      // the library's row of the same bytes under the same name: prepared, run, through the one row builder
      const library = await lines.classifyPrepared([await lines.prepare(new Uint8Array(trailing), 'trail.png')]);
      const expected = resultRow(library[0] as Classification, MODEL, 'trail.png');
      assert.deepEqual(expected.warnings, [`trail.png: 7 bytes after the end of the PNG image (byte ${png.length}) ignored, as OpenCV's imread ignores them`]);
      const res = await injectForm(app, `/v1/models/${MODEL}/classify`, upload([['trail.png', trailing]]));
      assert.equal(res.statusCode, 200, res.body);
      const row = res.json().results[0] as Record<string, unknown>;
      assert.deepEqual(Object.keys(row), ['file', 'model', 'topk', 'warnings', 'timings']);
      assert.equal(withoutTimings(row), withoutTimings(expected));
      // the bytes after IEND change nothing else: the row of the clean PNG is the same but for the warning
      const clean = resultRow(await lines.classify(png), MODEL, 'trail.png');
      assert.equal(withoutTimings({ ...row, warnings: undefined }), withoutTimings(clean));
      // a raw body is named 'body' in its warning and row
      const raw = await app.app.inject({ method: 'POST', url: `/v1/models/${MODEL}/classify?topk=1`, headers: { 'content-type': 'image/png' }, payload: trailing });
      const rawRow = raw.json().results[0];
      assert.deepEqual(rawRow.warnings, [`body: 7 bytes after the end of the PNG image (byte ${png.length}) ignored, as OpenCV's imread ignores them`]);
      assert.equal(rawRow.topk.length, 1);
    }));
});
