/**
 * One classification, one row: `predict --json`, the queue (worker + `queue results`) and `pplcnet/web` write
 * the same JSON for the same image, timings aside (and serve, the same row with `file` the upload's name), for a softmax model (the shipped text-line model) and a
 * sigmoid model with labels and a threshold in its metadata. predict and the queue run on onnxruntime-node:
 * their rows are the same bytes. pplcnet/web runs onnxruntime-web's WASM kernels (here in Node, on the pixels
 * Node decodes: the browser's own decoding is test/e2e/web.test.ts's): its rows are the same bytes with the
 * scores left out, and each score within 1e-5 of Node's (WASM and native kernels round differently).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { convertPdparams, decodeImage, parseLabelFile, resolveModel } from '../../src/index.js';
import { ImageQueue, startImageWorker } from '../../src/queue/index.js';
import { createServeApp } from '../../src/serve/index.js';
import { createClassifier } from '../../src/index.js';
import { createClassifier as createWebClassifier, resultRow as webRow } from '../../src/web/index.js';
import { FIXTURES } from '../fixtures/index.js';
import { runCli, tempDir } from '../helpers.js';
import { type RedisServer, needRedis, redisServerPath, startRedis } from '../services.js';

interface Case {
  readonly title: string;
  model: string;
  images: string[];
  /** Inputs every front-end fails on, in place. */
  bad: string[];
}

type Row = Record<string, unknown> & { file: string; timings?: unknown };

/** The row without its timings, as the JSON bytes compared. */
const untimed = (row: Row): string => JSON.stringify({ ...row, timings: undefined });
/** The row with its scores left out too. */
const unscored = (row: Row): string => JSON.stringify({ ...row, timings: undefined }, (k, v: unknown) => (k === 'score' ? undefined : v));
const scores = (row: Row): number[] => {
  const out: number[] = [];
  JSON.stringify(row, (k, v: unknown) => {
    if (k === 'score') out.push(v as number);
    return v;
  });
  return out;
};

describe('one row per classification, from every front-end', () => {
  const tmp = tempDir('rows', { before, after });
  let redis: RedisServer | undefined;
  const home = (): string => join(tmp.path, 'home');
  const cases: Case[] = [];

  before(async () => {
    const bad = join(tmp.path, 'not-an-image.png');
    await writeFile(bad, 'this is not an image\n');
    cases.push({
      title: 'softmax (the shipped text-line model)',
      model: 'PP-LCNet_x0_25_textline_ori',
      images: ['00_up.png', '01_down.png', '02_up.png'].map((f) => join(FIXTURES.textlines, f)),
      bad: [bad],
    });
    // a sigmoid head with class names and a threshold recorded in the model (make_heads.py's weights)
    const labels = parseLabelFile(await readFile(join(FIXTURES.heads, 'labels.txt'), 'utf8'), 'labels.txt');
    const attrs = join(tmp.path, 'attrs.onnx');
    const converted = await convertPdparams(join(FIXTURES.heads, 'multilabel.pdparams'), {
      head: 'sigmoid',
      inputSize: [64, 64],
      description: { name: 'attrs', labels, threshold: 0.62 },
    });
    await writeFile(attrs, converted.bytes);
    cases.push({ title: 'sigmoid with labels and a threshold', model: attrs, images: ['img0.bmp', 'img1.bmp', 'img2.bmp'].map((f) => join(FIXTURES.heads, f)), bad: [bad] });
    if (redisServerPath()) redis = await startRedis();
  });
  after(async () => {
    await redis?.close();
  });

  const predictRows = async (c: Case): Promise<Row[]> => {
    const r = await runCli(['predict', '-m', c.model, '--json', '--ep', 'cpu', '--threads', '1', '--workers', '0', '--lanes', '0', ...c.images, ...c.bad], { env: { PPLCNET_HOME: home() } });
    assert.equal(r.code, 1, `predict exits 1 for the bad file: ${r.stderr}`);
    return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Row);
  };

  const queueRows = async (c: Case, name: string): Promise<Row[]> => {
    const q = await ImageQueue.open({ redis: redis!.url, queue: name });
    try {
      await q.add([...c.images, ...c.bad], { model: c.model });
      const worker = await startImageWorker({ redis: redis!.url, queue: name, untilEmpty: true, ep: 'cpu', threads: 1, workers: 0, cacheDir: home(), log: () => {} });
      await worker.done;
      const lines: string[] = [];
      await q.exportResults((line) => {
        lines.push(line);
      });
      const byFile = new Map(lines.map((l) => JSON.parse(l) as Row).map((row) => [row.file, row]));
      return [...c.images, ...c.bad].map((f) => byFile.get(f)!);
    } finally {
      await q.close();
    }
  };

  /** pplcnet/web on the pixels Node decodes (ImageData, as a page's canvas holds them). */
  const webRows = async (c: Case, onnx: Uint8Array): Promise<Row[]> => {
    const g = globalThis as { ImageData?: unknown };
    g.ImageData ??= class ImageData {
      constructor(
        readonly data: Uint8ClampedArray,
        readonly width: number,
        readonly height: number,
      ) {}
    };
    const clf = await createWebClassifier({ model: onnx });
    try {
      const rows: Row[] = [];
      for (const file of c.images) {
        const rgb = await decodeImage(file);
        const rgba = new Uint8ClampedArray(rgb.width * rgb.height * 4);
        for (let i = 0, j = 0; i < rgb.data.length; i += 3, j += 4) rgba.set([rgb.data[i]!, rgb.data[i + 1]!, rgb.data[i + 2]!, 255], j);
        const image = new (g.ImageData as new (d: Uint8ClampedArray, w: number, h: number) => ImageData)(rgba, rgb.width, rgb.height);
        rows.push(webRow(await clf.classify(image), clf.name, file) as unknown as Row);
      }
      return rows;
    } finally {
      await clf.release();
    }
  };

  for (const [i, title] of ['softmax (the shipped text-line model)', 'sigmoid with labels and a threshold'].entries()) {
    test(`${title}: predict --json and queue results write the same bytes, timings aside`, { timeout: 180_000 }, async (t) => {
      if (!needRedis(t)) return;
      const c = cases[i]!;
      const fromPredict = await predictRows(c);
      const fromQueue = await queueRows(c, `rows-${i}`);
      assert.equal(fromPredict.length, c.images.length + c.bad.length);
      assert.deepEqual(fromQueue.map(untimed), fromPredict.map(untimed));
      // what the rows hold, so that equal rows are not equally empty
      for (const row of fromPredict.slice(0, c.images.length)) {
        assert.deepEqual(Object.keys(row), i === 0 ? ['file', 'model', 'topk', 'timings'] : ['file', 'model', 'topk', 'labels', 'threshold', 'timings']);
        assert.deepEqual(Object.keys(row.timings as object), ['decodeMs', 'preprocessMs', 'queueMs', 'batchInferenceMs', 'batchSize']);
      }
      const bad = fromPredict.at(-1)!;
      assert.deepEqual(Object.keys(bad), ['file', 'error']);
      assert.equal((bad.error as { code: string }).code, 'E_IMAGE');
      if (i === 1) {
        // the labels over the recorded threshold: those of make_heads.py's numpy scores
        const reference = JSON.parse(await readFile(join(FIXTURES.heads, 'reference.json'), 'utf8')) as { labels: string[]; images: { scores: number[] }[] };
        fromPredict.slice(0, c.images.length).forEach((row, k) => {
          assert.equal(row.model, 'attrs');
          assert.equal(row.threshold, 0.62);
          const expected = reference.images[k]!.scores.flatMap((p, id) => (p >= 0.62 ? [`${id} ${reference.labels[id]}`] : []));
          assert.ok(expected.length > 0 && expected.length < 6, 'the threshold splits the classes');
          assert.deepEqual((row.labels as { classId: number; label: string }[]).map((l) => `${l.classId} ${l.label}`), expected);
        });
      }
    });

    test(`${title}: serve answers predict's rows, the same bytes`, { timeout: 180_000 }, async () => {
      const c = cases[i]!;
      // one image per onnxruntime run on both sides: serve's batcher sees one request at a time
      const r = await runCli(['predict', '-m', c.model, '--json', '--ep', 'cpu', '--threads', '1', '--workers', '0', '--lanes', '0', '-b', '1', ...c.images], { env: { PPLCNET_HOME: home() } });
      assert.equal(r.code, 0, r.stderr);
      const fromPredict = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Row);
      const clf = await createClassifier({ model: c.model, ep: 'cpu', threads: 1, workers: 0, cacheDir: home() });
      const served = await createServeApp([{ name: clf.name, classifier: clf }], { processMetrics: false, log: () => {} });
      try {
        const fromServe: Row[] = [];
        for (const file of c.images) {
          const res = await served.app.inject({ method: 'POST', url: `/v1/models/${encodeURIComponent(clf.name)}/classify`, headers: { 'content-type': 'application/octet-stream' }, payload: await readFile(file) });
          assert.equal(res.statusCode, 200, res.body);
          const body = res.json() as { results: Row[] };
          fromServe.push({ ...body.results[0]!, file });
        }
        assert.deepEqual(fromServe.map(untimed), fromPredict.map(untimed));
      } finally {
        await served.close();
        await clf.close();
      }
    });

    test(`${title}: pplcnet/web writes predict's row, scores within 1e-5`, { timeout: 180_000 }, async () => {
      const c = cases[i]!;
      const fromPredict = (await predictRows(c)).slice(0, c.images.length);
      // the model bytes the Node classifier ran: the cached conversion of the shipped model, or the file
      const onnx = c.model.endsWith('.onnx') ? new Uint8Array(await readFile(c.model)) : (await resolveModel(c.model, { cacheDir: home() })).bytes;
      const fromWeb = await webRows(c, onnx);
      assert.deepEqual(fromWeb.map(unscored), fromPredict.map(unscored));
      fromWeb.forEach((row, k) => {
        const a = scores(row);
        const b = scores(fromPredict[k]!);
        assert.equal(a.length, b.length);
        a.forEach((s, j) => assert.ok(Math.abs(s - b[j]!) <= 1e-5, `${row.file}: score ${j} ${s} vs ${b[j]}`));
      });
    });
  }
});
