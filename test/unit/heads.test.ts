/**
 * Heads other than softmax (multi-label sigmoid, none), label files in PaddleClas's "id label" form, and
 * embeddings, against the numpy reference of make_heads.py (a multi-label PP-LCNet and three images).
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveArchitecture } from '../../src/builder/architecture.js';
import { buildPPLCNet } from '../../src/builder/pplcnet.js';
import { createClassifier, l2Normalize, thresholdBinary } from '../../src/classifier.js';
import { convertPdparams } from '../../src/convert/from-weights.js';
import { convertInferenceModel } from '../../src/convert/inference-model.js';
import { writePdiparams } from '../../src/convert/pdiparams.js';
import { readPdparams } from '../../src/convert/pdparams.js';
import { pdiparamsOrder } from '../../src/convert/program.js';
import { preprocess } from '../../src/image/preprocess.js';
import { parseLabelFile, readLabelFile } from '../../src/labels.js';
import { PplcnetError } from '../../src/errors.js';
import { parseMetadata } from '../../src/metadata.js';
import { onnx } from '../../src/onnx/proto.js';
import { readMetadataProps } from '../../src/onnx/read.js';
import { FIXTURES } from '../fixtures/index.js';
import { assertAllClose, runOnnx, seededFloats, tempDir } from '../helpers.js';
import { toPirJson } from '../pir-writer.js';
import { writeProgram } from '../program-writer.js';

interface Reference {
  threshold: number;
  labels: string[];
  size: number;
  images: { file: string; logits: number[]; scores: number[]; attributes: { classId: number; label: string; score: number }[]; gap: number[]; embedding: number[] }[];
}
const reference = async (): Promise<Reference> => JSON.parse(await readFile(join(FIXTURES.heads, 'reference.json'), 'utf8'));
const weightsFile = join(FIXTURES.heads, 'multilabel.pdparams');
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

describe('heads', () => {
  const tmp = tempDir('heads', { before, after });

  test('the builder emits softmax probs, sigmoid scores, or logits only, and records the head', async () => {
    const x = seededFloats(2 * 3 * 64 * 64, 4, -2, 2);
    const feeds = { image: { data: x, dims: [2, 3, 64, 64] } };
    const arch = { scale: 0.25, classNum: 5 };
    const soft = buildPPLCNet(arch, { inputSize: 64, seed: 3 });
    const sig = buildPPLCNet(arch, { inputSize: 64, seed: 3, head: 'sigmoid' });
    const none = buildPPLCNet(arch, { inputSize: 64, seed: 3, head: 'none' });
    assert.deepEqual(sig.summary.outputs.map((o) => o.name), ['logits', 'scores']);
    assert.deepEqual(none.summary.outputs.map((o) => o.name), ['logits']);
    const [a, b, c] = [await runOnnx(soft.bytes, feeds), await runOnnx(sig.bytes, feeds), await runOnnx(none.bytes, feeds)];
    assertAllClose(b.logits!.data, a.logits!.data, { atol: 0, what: 'logits of the sigmoid head' });
    assertAllClose(c.logits!.data, a.logits!.data, { atol: 0, what: 'logits of no head' });
    assertAllClose(b.scores!.data, Array.from(a.logits!.data, sigmoid), { atol: 1e-6, what: 'scores' });
    assert.equal(b.probs, undefined);
    assert.deepEqual([parseMetadata(readMetadataProps(soft.bytes)).head, parseMetadata(readMetadataProps(sig.bytes)).head, parseMetadata(readMetadataProps(none.bytes)).head], ['softmax', 'sigmoid', 'none']);
    // a model without the key (written before heads were recorded) is a softmax model
    assert.equal(parseMetadata({}).head, 'softmax');
    assert.throws(() => parseMetadata({ 'pplcnet.head': 'tanh' }), /must be one of softmax, sigmoid, none/);
    assert.throws(() => buildPPLCNet(arch, { head: 'tanh' as never }), (e: unknown) => e instanceof RangeError && /'head'/.test(e.message));
  });

  test('label files: one per line, JSON, and PaddleClas class_id_map_file "id label" lines in any order', async () => {
    const ref = await reference();
    assert.deepEqual(await readLabelFile(join(FIXTURES.heads, 'labels.txt')), ref.labels);
    assert.deepEqual(parseLabelFile('0 tench, Tinca tinca\n1 goldfish, Carassius auratus\n', 'f'), ['tench, Tinca tinca', 'goldfish, Carassius auratus']);
    // not the "id label" form: kept whole
    assert.deepEqual(parseLabelFile('0_degree\n180_degree\n', 'f'), ['0_degree', '180_degree']);
    assert.deepEqual(parseLabelFile('0 a\n0 b\n', 'f'), ['0 a', '0 b']); // an id twice
    assert.deepEqual(parseLabelFile('1 a\n2 b\n', 'f'), ['1 a', '2 b']); // ids not 0..n-1
    assert.deepEqual(parseLabelFile('["x", "y"]', 'f'), ['x', 'y']);
  });

  test('a multi-label .pdparams converts with --head sigmoid and reports the reference attributes', async () => {
    const ref = await reference();
    const m = await convertPdparams(weightsFile, { inputSize: ref.size, head: 'sigmoid' });
    const path = join(tmp.path, 'pdparams.onnx');
    await writeFile(path, m.bytes);
    await using clf = await createClassifier({ model: path, labels: ref.labels, workers: 0, ep: 'cpu', threads: 1 });
    assert.equal(clf.multiLabel, true);
    assert.equal(clf.threshold, 0.5);
    for (const img of ref.images) {
      const r = await clf.classify(join(FIXTURES.heads, img.file));
      assertAllClose(r.probs, img.scores, { atol: 1e-5, what: `${img.file} scores` });
      assert.deepEqual(r.labels!.map((l) => [l.classId, l.label]), img.attributes.map((a) => [a.classId, a.label]), img.file);
      assert.equal(r.topk[0]!.score, Math.max(...r.probs));
    }
    // a higher threshold reports fewer attributes, exactly those of the reference over it
    await using strict = await createClassifier({ model: path, threshold: 0.8, workers: 0, ep: 'cpu', threads: 1 });
    const r = await strict.classify(join(FIXTURES.heads, ref.images[0]!.file));
    const over = ref.images[0]!.scores.flatMap((s, i) => (s >= 0.8 ? [i] : []));
    assert.ok(over.length > 0 && over.length < ref.images[0]!.attributes.length);
    assert.deepEqual(r.labels!.map((l) => l.classId), over);
    assert.equal(r.labels![0]!.label, String(r.labels![0]!.classId)); // no labels given: class ids
    await assert.rejects(createClassifier({ model: path, threshold: 2 }), /'threshold'/);
    await using wrong = await createClassifier({ model: path, labels: ['a', 'b'], workers: 0 });
    await assert.rejects(wrong.classify(join(FIXTURES.heads, ref.images[0]!.file)), /2 labels given for a model of 6 classes/);
  });

  test('the same network as an inference program with a sigmoid op converts as multi-label, with the same attributes', async () => {
    const ref = await reference();
    const contents = readPdparams(new Uint8Array(await readFile(weightsFile)), weightsFile);
    const tensors = contents.tensors;
    const arch = resolveArchitecture({ scale: 0.25, classNum: 6, classExpand: 64 });
    const { program, names } = writeProgram(arch, { head: 'sigmoid', inputSize: [ref.size, ref.size] });
    const byName = new Map([...names].map(([key, name]) => [name, tensors.get(key)!]));
    const dir = join(tmp.path, 'infer');
    await mkdir(dir);
    await writeFile(join(dir, 'inference.json'), toPirJson(program));
    await writeFile(join(dir, 'inference.pdiparams'), writePdiparams(pdiparamsOrder(byName.keys()).map((n) => ({ shape: byName.get(n)!.shape, data: byName.get(n)!.data }))));
    const m = await convertInferenceModel(dir);
    assert.equal(m.reading.head, 'sigmoid');
    assert.equal(m.reading.softmax, false);
    assert.deepEqual(m.summary.outputs.map((o) => o.name), ['logits', 'scores']);
    assert.equal(parseMetadata(readMetadataProps(m.bytes)).head, 'sigmoid');
    const path = join(tmp.path, 'infer.onnx');
    await writeFile(path, m.bytes);
    await using clf = await createClassifier({ model: path, labels: ref.labels, workers: 0, ep: 'cpu', threads: 1 });
    for (const img of ref.images) {
      const r = await clf.classify(join(FIXTURES.heads, img.file));
      assertAllClose(r.probs, img.scores, { atol: 1e-5, what: `${img.file} scores` });
      assert.deepEqual(r.labels, img.attributes.map((a) => ({ ...a, score: r.probs[a.classId] })), img.file);
    }
    // --head overrides the program's: a softmax over the same logits
    const soft = await convertInferenceModel(dir, { head: 'softmax' });
    assert.deepEqual(soft.summary.outputs.map((o) => o.name), ['logits', 'probs']);
  });

  test('a binary model recording a threshold reports class 1 only when its probability reaches it', async () => {
    const img = join(FIXTURES.heads, 'img0.bmp');
    const plain = buildPPLCNet({ scale: 0.25, classNum: 2 }, { inputSize: 64, seed: 5 });
    const path = join(tmp.path, 'binary.onnx');
    await writeFile(path, plain.bytes);
    await using free = await createClassifier({ model: path, workers: 0 });
    const p1 = (await free.classify(img)).probs[1]!;
    // thresholds just above and just below class 1's probability decide the reported class
    for (const [threshold, top] of [[Math.min(0.999, p1 + 0.01), 0], [Math.max(0.001, p1 - 0.01), 1]] as const) {
      const m = buildPPLCNet({ scale: 0.25, classNum: 2 }, { inputSize: 64, seed: 5, description: { threshold } });
      assert.equal(parseMetadata(readMetadataProps(m.bytes)).threshold, threshold);
      const file = join(tmp.path, `binary_${top}.onnx`);
      await writeFile(file, m.bytes);
      await using clf = await createClassifier({ model: file, workers: 0 });
      assert.equal(clf.threshold, threshold);
      assert.equal((await clf.classify(img)).topk[0]!.classId, top, `threshold ${threshold}, p1 ${p1}`);
    }
  });

  test("binary ThreshOutput: class 1 when its probability reaches the threshold, PaddleClas's rule", () => {
    assert.deepEqual(thresholdBinary([0.45, 0.55], 0.5, ['no', 'yes']).map((t) => t.label), ['yes', 'no']);
    assert.deepEqual(thresholdBinary([0.45, 0.55], 0.6, ['no', 'yes']).map((t) => [t.label, t.score]), [['no', 0.45], ['yes', 0.55]]);
    assert.deepEqual(thresholdBinary([0.5, 0.5], 0.5).map((t) => t.classId), [1, 0]);
  });
});

describe('embeddings', () => {
  const tmp = tempDir('embed', { before, after });

  test('classifier.embed equals the numpy reference (fc input and GAP) within 1e-5, and the builder --features output', async () => {
    const ref = await reference();
    const m = await convertPdparams(weightsFile, { inputSize: ref.size, head: 'sigmoid' });
    const path = join(tmp.path, 'm.onnx');
    await writeFile(path, m.bytes);
    const withFeatures = await convertPdparams(weightsFile, { inputSize: ref.size, head: 'sigmoid', features: true });
    await using clf = await createClassifier({ model: path, workers: 0, ep: 'cpu', threads: 1 });
    for (const img of ref.images) {
      const file = join(FIXTURES.heads, img.file);
      const e = await clf.embed(file);
      assert.equal(e.length, 64);
      assertAllClose(e, img.embedding, { atol: 1e-5, what: `${img.file} embedding` });
      const gap = await clf.embed(file, { layer: 'gap' });
      assert.equal(gap.length, 128);
      assertAllClose(gap, img.gap, { atol: 1e-5, rtol: 1e-5, what: `${img.file} gap` });
      const n = await clf.embed(file, { normalize: true });
      const norm = Math.hypot(...img.embedding);
      assertAllClose(n, img.embedding.map((v) => v / norm), { atol: 1e-5, what: `${img.file} normalized` });
      const p = await preprocess(file, clf.preprocess, file);
      const out = await runOnnx(withFeatures.bytes, { image: { data: p.data, dims: [1, 3, p.height, p.width] } });
      assertAllClose(e, out.embedding!.data, { atol: 1e-6, what: `${img.file} vs --features embedding` });
      assertAllClose(gap, out['feature.gap']!.data, { atol: 1e-6, what: `${img.file} vs --features gap` });
    }
    // the images differ: a test of equal vectors would not tell them apart
    assert.ok(Math.abs(ref.images[0]!.embedding[0]! - ref.images[1]!.embedding[0]!) > 1e-2);
  });

  test('with BatchNorm and the dropout Mul kept, the embedding is the same (before dropout\'s scale)', async () => {
    const ref = await reference();
    const kept = await convertPdparams(weightsFile, { inputSize: ref.size, fold: false });
    const path = join(tmp.path, 'kept.onnx');
    await writeFile(path, kept.bytes);
    await using clf = await createClassifier({ model: path, workers: 0, ep: 'cpu', threads: 1 });
    assertAllClose(await clf.embed(join(FIXTURES.heads, ref.images[2]!.file)), ref.images[2]!.embedding, { atol: 1e-5, what: 'embedding (BatchNorm kept)' });
  });

  test('a model whose graph does not list the feature values is refused with advice, and classify still works', async () => {
    const m = buildPPLCNet({ scale: 0.25, classNum: 3 }, { inputSize: 32, seed: 1 });
    const model = onnx.ModelProto.decode(m.bytes);
    model.graph!.valueInfo = [];
    const path = join(tmp.path, 'bare.onnx');
    await writeFile(path, onnx.ModelProto.encode(model).finish());
    await using clf = await createClassifier({ model: path, workers: 0 });
    await assert.rejects(clf.embed(join(FIXTURES.heads, 'img0.bmp')), (e: unknown) => e instanceof PplcnetError && e.code === 'E_MODEL' && /no value 'flatten'.*--features/.test(e.message));
    assert.equal((await clf.classify(join(FIXTURES.heads, 'img0.bmp'))).probs.length, 3);
    await assert.rejects(clf.embed(join(FIXTURES.heads, 'img0.bmp'), { layer: 'fc' as never }), /'layer'/);
  });

  test('l2Normalize leaves a zero vector at zero', () => {
    assert.deepEqual([...l2Normalize(new Float32Array(3))], [0, 0, 0]);
    assert.deepEqual([...l2Normalize(Float32Array.of(3, 4))], [Math.fround(0.6), Math.fround(0.8)]);
  });
});
