/**
 * Training on the shipped text-line backbone, against independent computations:
 * - the features `train` computes (through the classifier's workers and batches) are the committed
 *   embeddings that `pplcnet embed` wrote for the fixture (make_train_fixture.py), within 1e-5;
 * - the trained head is at least as accurate on the test list as the numpy logistic regression fitted on
 *   those embeddings (train_reference.json), within 2 points;
 * - the saved model's scores equal `embed` × the trained weights (softmax, in float64) within 1e-5, and
 *   predict reads its labels, `trained=true`, the dataset summary and validation accuracy from its metadata;
 * - a second run reads every feature from the cache and gives bit-identical weights (same seed);
 * - multi-label lists train a sigmoid head; `last-conv` tunes a backbone's last conv, and its saved model's
 *   scores equal hardswish(gap × conv) × fc;
 * - the metrics equal numpy's on seeded score matrices (top-1/top-5, per-class P/R/F1, confusion, mA).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile, cp } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Random } from '../../../src/builder/random.js';
import {
  augmentView,
  buildPPLCNet,
  createClassifier,
  evaluateModel,
  extractFeatures,
  headScores,
  multiLabelMetrics,
  parseMetadata,
  resolveModel,
  singleLabelMetrics,
  trainClassifier,
  trainHead,
} from '../../../src/index.js';
import { readMetadataProps } from '../../../src/onnx/metadata-props.js';
import { FIXTURES } from '../../fixtures/index.js';
import { tempDir } from '../../helpers.js';

const MODEL = 'PP-LCNet_x0_25_textline_ori';

/** A float32 little-endian .npy matrix (format 1.0 as numpy and `pplcnet embed` write it). */
function readNpy(buf: Buffer): { rows: number; cols: number; data: Float32Array } {
  const len = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + len);
  assert.match(header, /'descr': '<f4'/);
  const [rows, cols] = /'shape': \((\d+), (\d+)\)/.exec(header)!.slice(1).map(Number) as [number, number];
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = buf.readFloatLE(10 + len + i * 4);
  return { rows, cols, data };
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * (1 + Math.abs(b[i]!)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

describe('train', { timeout: 600_000 }, () => {
  const tmp = tempDir('train', { before, after });
  const cacheDir = (): string => join(tmp.path, 'cache');
  let files: string[] = [];
  let committed: { rows: number; cols: number; data: Float32Array };
  let ref: {
    logistic: { test_accuracy: number };
    single: { scores: number[][]; truth: number[]; expected: { top1: number; top5: number; confusion: number[][]; precision: number[]; recall: number[]; f1: number[]; support: number[] } };
    multi: { scores: number[][]; targets: number[][]; expected: { mA: number; positiveRecall: number[]; negativeRecall: number[]; instance: Record<string, number> } };
  };
  let data = '';

  before(async () => {
    files = (await readFile(join(FIXTURES.fonts, 'files.txt'), 'utf8')).split('\n').filter(Boolean).map((f) => join(FIXTURES.fonts, f));
    committed = readNpy(await readFile(join(FIXTURES.fonts, 'embeddings.npy')));
    ref = JSON.parse(await readFile(FIXTURES.trainReference, 'utf8'));
    // a copy, so nothing is ever written beside the fixture
    data = join(tmp.path, 'fonts');
    await cp(FIXTURES.fonts, data, { recursive: true });
  });

  test('features through the classifier pipeline equal the committed embed output', async () => {
    const resolved = await resolveModel(MODEL, { cacheDir: cacheDir() });
    const f = await extractFeatures(resolved, files, { layer: 'embedding', cacheDir: cacheDir(), workers: 1, batchSize: 8 });
    assert.equal(f.dims, committed.cols);
    assert.equal(f.rows.length, committed.rows);
    f.rows.forEach((r, i) => close(r as Float32Array, committed.data.subarray(i * f.dims, (i + 1) * f.dims), 1e-5, files[i]!));
    assert.deepEqual([f.cached, f.computed], [0, files.length]);
  });

  let first: Awaited<ReturnType<typeof trainClassifier>>;
  test('the trained head is as accurate as an independent logistic regression (within 2 points) on the test list', async () => {
    const epochs: number[] = [];
    first = await trainClassifier({ model: MODEL, data, cacheDir: cacheDir(), seed: 0, onEpoch: (e) => epochs.push(e.epoch) });
    assert.equal(first.dataset.kind, 'split');
    assert.deepEqual([first.dataset.train, first.dataset.val], [150, 75]);
    assert.equal(first.features.train.cached, 150, 'the previous test filled the cache');
    assert.deepEqual(epochs, first.head.epochs.map((e) => e.epoch));
    const out = join(tmp.path, 'fonts.onnx');
    await writeFile(out, first.bytes);
    const ev = await evaluateModel({ model: out, data: join(data, 'test_list.txt') });
    assert.equal(ev.images, 75);
    assert.ok(ev.single!.top1 >= ref.logistic.test_accuracy - 0.02, `trained ${ev.single!.top1} vs logistic regression ${ref.logistic.test_accuracy}`);
  });

  test('the saved model: scores = embed × trained weights (1e-5), metadata read by predict', async () => {
    const out = join(tmp.path, 'fonts.onnx');
    const meta = parseMetadata(readMetadataProps(await readFile(out)));
    assert.deepEqual(meta.labels, ['sans', 'serif', 'script']);
    assert.equal(meta.trained, true);
    assert.equal(meta.head, 'softmax');
    const props = readMetadataProps(await readFile(out));
    assert.equal(JSON.parse(props['pplcnet.validation']!).accuracy, first.head.valAccuracy);
    assert.deepEqual(JSON.parse(props['pplcnet.dataset']!).perClass.sans, [50, 25]);
    await using clf = await createClassifier({ model: out, threads: 1 });
    for (const i of [0, 101, 299]) {
      const emb = committed.data.subarray(i * committed.cols, (i + 1) * committed.cols);
      const expected = headScores(first.head, emb);
      const r = await clf.classify(files[i]!);
      close(r.probs, expected, 1e-5, files[i]!);
      close(await clf.embed(files[i]!), emb, 1e-5, `embedding of ${files[i]}`);
      assert.equal(r.topk[0]!.label, ['sans', 'serif', 'script'][[...expected].indexOf(Math.max(...expected))]);
    }
  });

  test('a second run reads every feature from the cache and gives the same weights', async () => {
    const again = await trainClassifier({ model: MODEL, data, cacheDir: cacheDir(), seed: 0 });
    assert.deepEqual([again.features.train.computed, again.features.val.computed], [0, 0]);
    assert.deepEqual(Buffer.from(again.head.fcWeight.buffer), Buffer.from(first.head.fcWeight.buffer));
    assert.deepEqual(again.bytes, first.bytes);
    const other = await trainClassifier({ model: MODEL, data, cacheDir: cacheDir(), seed: 1, epochs: 3, augment: { flip: true, crop: true, views: 3 } });
    assert.equal(other.features.views, 3);
    assert.equal(other.features.train.computed, 150, 'augmented views are cached under their own key');
    assert.notDeepEqual(Buffer.from(other.head.fcWeight.buffer), Buffer.from(first.head.fcWeight.buffer));
  });

  test('multi-label lists train a sigmoid head whose scores are sigmoid(embed × W + b)', async () => {
    // labels: serif-like (serif or script), and "from the first half of its class"
    const rel = (await readFile(join(data, 'files.txt'), 'utf8')).split('\n').filter(Boolean);
    const list = rel.map((r, i) => `${r} ${r.startsWith('sans') ? 0 : 1},${i % 100 < 50 ? 1 : 0}\n`).join('');
    const ml = join(tmp.path, 'fonts', 'multi.txt');
    await writeFile(ml, list);
    const labels = join(tmp.path, 'fonts', 'labels.txt');
    const saved = await readFile(labels);
    await writeFile(labels, 'curly\nfirst_half\n');
    try {
      const r = await trainClassifier({ model: MODEL, data: ml, cacheDir: cacheDir(), epochs: 40 });
      assert.equal(r.multiLabel, true);
      assert.equal(r.head.multiLabel, true);
      const out = join(tmp.path, 'multi.onnx');
      await writeFile(out, r.bytes);
      await using clf = await createClassifier({ model: out, threads: 1 });
      assert.equal(clf.multiLabel, true);
      const row = committed.data.subarray(150 * committed.cols, 151 * committed.cols);
      close((await clf.classify(files[150]!)).probs, headScores(r.head, row), 1e-5, 'multi-label scores');
      const ev = await evaluateModel({ model: out, data: ml });
      assert.ok(ev.multi && ev.multi.perLabel.length === 2);
      assert.ok(ev.multi.perLabel[0]!.mA > 0.8, `curly mA ${ev.multi.perLabel[0]!.mA}`);
    } finally {
      await writeFile(labels, saved);
    }
  });

  test('last-conv: the pretrained 1×1 conv is tuned; the saved model computes hardswish(gap × conv) × fc', async () => {
    const backbone = join(tmp.path, 'lastconv.onnx');
    // a backbone with a last conv (random weights: the numerics, not the accuracy, are checked here)
    await writeFile(backbone, buildPPLCNet({ scale: 0.25, classNum: 3, classExpand: 64 }, { inputSize: [32, 64], seed: 2, description: { name: 'tiny', labels: ['a', 'b', 'c'] } }).bytes);
    const rel = (await readFile(join(data, 'files.txt'), 'utf8')).split('\n').filter(Boolean).filter((_, i) => i % 100 < 12);
    await writeFile(join(data, 'small.txt'), rel.map((r) => `${r} ${['sans', 'serif', 'script'].indexOf(r.split('/')[0]!)}\n`).join(''));
    const r = await trainClassifier({ model: backbone, data: join(data, 'small.txt'), cacheDir: cacheDir(), mode: 'last-conv', epochs: 5, dropout: 0.2 });
    assert.equal(r.head.hidden, 64);
    const resolved = await resolveModel(backbone, {});
    const original = (await import('../../../src/index.js')).lastConvWeight(resolved.bytes, backbone);
    assert.notDeepEqual(Buffer.from(r.head.lastConvWeight!.buffer), Buffer.from(original.weight.buffer), 'the conv was tuned');
    const out = join(tmp.path, 'lastconv-trained.onnx');
    await writeFile(out, r.bytes);
    await using base = await createClassifier({ model: backbone, threads: 1 });
    await using clf = await createClassifier({ model: out, threads: 1 });
    for (const f of [files[0]!, files[150]!]) {
      const gap = await base.embed(f, { layer: 'gap' });
      close((await clf.classify(f)).probs, headScores(r.head, gap), 1e-5, `last-conv scores of ${f}`);
    }
    await assert.rejects(trainClassifier({ model: MODEL, data: join(data, 'small.txt'), cacheDir: cacheDir(), mode: 'last-conv' }), /has no last conv/);
  });

  test('the trainer alone: balanced class weights and early stopping on validation rows', () => {
    // two separable blobs; validation rows that disagree after the first epochs stop training early
    const n = 40;
    const x = new Float32Array(n * 2);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i < 30 ? 0 : 1;
      x[2 * i] = labels[i] ? 1 + (i % 5) * 0.1 : -1 - (i % 7) * 0.1;
      x[2 * i + 1] = (i % 3) - 1;
    }
    const val = { x: Float32Array.of(-1, 0, 1, 0), n: 2, dims: 2, labels: Int32Array.of(1, 0) };
    const h = trainHead({ x, n, dims: 2, labels }, val, { classes: 2, patience: 3, epochs: 100 });
    assert.ok(h.stoppedEarly, 'stopped on the validation rows');
    assert.equal(h.epochs.length, h.bestEpoch + 3);
  });

  test('augmented views: a flip mirrors the tensor exactly; a crop stays within the value range', () => {
    const [h, w] = [3, 5];
    const src = Float32Array.from({ length: 3 * h * w }, (_, i) => i * 0.5 - 7);
    const flipped = augmentView(src, h, w, { flip: true, crop: false, views: 2, seed: 0 }, new Random(1));
    for (let c = 0; c < 3; c++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) assert.equal(flipped[c * h * w + y * w + x], src[c * h * w + y * w + (w - 1 - x)]);
    const cropped = augmentView(src, h, w, { flip: false, crop: true, views: 2, seed: 0 }, new Random(2));
    assert.notDeepEqual(cropped, src);
    for (let c = 0; c < 3; c++) {
      const plane = src.subarray(c * h * w, (c + 1) * h * w);
      for (const v of cropped.subarray(c * h * w, (c + 1) * h * w)) assert.ok(v >= Math.min(...plane) - 1e-6 && v <= Math.max(...plane) + 1e-6);
    }
  });

  test('metrics equal numpy on seeded score matrices', () => {
    const s = ref.single;
    const m = singleLabelMetrics(s.scores, s.truth, ['0', '1', '2', '3', '4', '5', '6']);
    assert.equal(m.top1, s.expected.top1);
    assert.equal(m.top5, s.expected.top5);
    assert.deepEqual(m.confusion, s.expected.confusion);
    close(m.perClass.map((c) => c.precision), s.expected.precision, 1e-12, 'precision');
    close(m.perClass.map((c) => c.recall), s.expected.recall, 1e-12, 'recall');
    close(m.perClass.map((c) => c.f1), s.expected.f1, 1e-12, 'f1');
    assert.deepEqual(m.perClass.map((c) => c.support), s.expected.support);
    const u = ref.multi;
    const mm = multiLabelMetrics(u.scores, u.targets, ['a', 'b', 'c', 'd', 'e'], 0.5);
    close([mm.mA], [u.expected.mA], 1e-12, 'mA');
    close(mm.perLabel.map((l) => l.positiveRecall), u.expected.positiveRecall, 1e-12, 'positive recall');
    close(mm.perLabel.map((l) => l.negativeRecall), u.expected.negativeRecall, 1e-12, 'negative recall');
    for (const k of ['accuracy', 'precision', 'recall', 'f1'] as const) close([mm.instance[k]], [u.expected.instance[k]!], 1e-12, k);
  });
});
