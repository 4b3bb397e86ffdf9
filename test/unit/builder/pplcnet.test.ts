import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { parameterShapes, resolveArchitecture } from '../../../src/builder/architecture.js';
import { initParameters } from '../../../src/builder/init.js';
import { buildPPLCNet } from '../../../src/builder/pplcnet.js';
import { METADATA_KEYS, parseMetadata } from '../../../src/metadata.js';
import { readMetadataProps, viewModel } from '../../../src/onnx/read.js';
import { assertAllClose, runOnnx, seededFloats } from '../../helpers.js';

const SCALES = [0.25, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5];

/** Random but plausible BatchNorm statistics, so folding is tested on non-trivial values. */
function perturbedWeights(scale: number, seed: number, extra: object = {}): Map<string, Float32Array> {
  const arch = resolveArchitecture({ scale, ...extra });
  const w = initParameters(arch, seed);
  let s = seed * 100;
  for (const [key] of parameterShapes(arch)) {
    const v = w.get(key)!;
    if (key.endsWith('bn.weight')) w.set(key, seededFloats(v.length, ++s, 0.5, 1.5));
    else if (key.endsWith('bn.bias') || key.endsWith('bn._mean') || key.endsWith('se.conv1.bias')) w.set(key, seededFloats(v.length, ++s, -0.3, 0.3));
    else if (key.endsWith('bn._variance')) w.set(key, seededFloats(v.length, ++s, 0.5, 2));
  }
  return w;
}

describe('buildPPLCNet', () => {
  for (const scale of SCALES) {
    test(`x${scale} loads and runs in onnxruntime at opsets 14, 17 and 21`, async () => {
      for (const opset of [14, 17, 21]) {
        const m = buildPPLCNet({ scale }, { opset, seed: 1 });
        const x = seededFloats(2 * 3 * 224 * 224, 3);
        const out = await runOnnx(m.bytes, { image: { data: x, dims: [2, 3, 224, 224] } });
        assert.deepEqual([...out.logits!.dims], [2, 1000]);
        assert.deepEqual([...out.probs!.dims], [2, 1000]);
        let sum = 0;
        for (let i = 0; i < 1000; i++) sum += out.probs!.data[i]!;
        assert.ok(Math.abs(sum - 1) < 1e-5, `probabilities sum to ${sum}`);
        assert.ok(out.logits!.data.every(Number.isFinite));
      }
    });
  }

  test('folded and unfolded (BatchNorm + dropout Mul) graphs agree with non-trivial statistics', async () => {
    const weights = perturbedWeights(0.5, 7);
    const a = buildPPLCNet({ scale: 0.5 }, { weights });
    const b = buildPPLCNet({ scale: 0.5 }, { weights, fold: false });
    const x = seededFloats(3 * 224 * 224, 9);
    const feeds = { image: { data: x, dims: [1, 3, 224, 224] } };
    const [ra, rb] = [await runOnnx(a.bytes, feeds), await runOnnx(b.bytes, feeds)];
    const spread = Math.max(...rb.logits!.data) - Math.min(...rb.logits!.data);
    assert.ok(spread > 0.1, `logits should not be degenerate (spread ${spread})`);
    assertAllClose(ra.logits!.data, rb.logits!.data, { atol: 1e-4, rtol: 1e-4, what: 'logits' });
    const model = viewModel(b.bytes);
    const ops = new Set(model.nodes.map((n) => n.opType));
    assert.ok(ops.has('BatchNormalization') && model.nodes.some((n) => n.name === 'dropout'));
    assert.ok(!viewModel(a.bytes).nodes.some((n) => n.opType === 'BatchNormalization'));
  });

  test('dropout scales logits by (1 - p) at inference: p = 0 vs p = 0.2 differ by exactly fc', async () => {
    const weights = perturbedWeights(0.25, 3);
    const x = seededFloats(3 * 224 * 224, 5);
    const feeds = { image: { data: x, dims: [1, 3, 224, 224] } };
    const p0 = await runOnnx(buildPPLCNet({ scale: 0.25, dropoutProb: 0 }, { weights }).bytes, feeds);
    const p2 = await runOnnx(buildPPLCNet({ scale: 0.25, dropoutProb: 0.2 }, { weights }).bytes, feeds);
    const bias = weights.get('fc.bias')!;
    const expected = Float64Array.from(p0.logits!.data, (v, i) => (v - bias[i]!) * 0.8 + bias[i]!);
    assertAllClose(p2.logits!.data, expected, { atol: 1e-4, rtol: 1e-4 });
  });

  test('80x160 text-line layout with stride pairs: feature shapes and fixed batch', async () => {
    const m = buildPPLCNet(
      { scale: 0.25, classNum: 2, useLastConv: false, strideList: [[1, 2], [2, 1], [2, 1], [2, 1], [2, 1]] },
      { inputSize: [80, 160], features: true, batch: 3 },
    );
    const byName = Object.fromEntries(m.summary.outputs.map((o) => [o.name, o.shape]));
    assert.deepEqual(byName['feature.blocks6'], [3, 128, 5, 80]);
    assert.deepEqual(byName['feature.blocks3'], [3, 16, 40, 80]);
    assert.deepEqual(byName.embedding, [3, 128]);
    const out = await runOnnx(m.bytes, { image: { data: seededFloats(3 * 3 * 80 * 160, 1), dims: [3, 3, 80, 160] } });
    assert.deepEqual([...out['feature.blocks6']!.dims], [3, 128, 5, 80]);
    assert.deepEqual([...out.logits!.dims], [3, 2]);
  });

  test('deterministic: same options and seed give byte-identical files; another seed differs', () => {
    const h = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
    const a = buildPPLCNet({ scale: 0.35, act: 'relu6' }, { seed: 42 });
    const b = buildPPLCNet({ scale: 0.35, act: 'relu6' }, { seed: 42 });
    const c = buildPPLCNet({ scale: 0.35, act: 'relu6' }, { seed: 43 });
    assert.equal(h(a.bytes), h(b.bytes));
    assert.notEqual(h(a.bytes), h(c.bytes));
  });

  test('names follow PaddleClas keys; metadata records architecture, preprocessing and labels', () => {
    const m = buildPPLCNet({ scale: 1.0 }, { fold: false, description: { name: 'PPLCNet_x1_0', labels: Array.from({ length: 1000 }, (_, i) => `c${i}`) } });
    const model = viewModel(m.bytes);
    const inits = new Set(model.initializers.map((t) => t.name));
    for (const [key] of parameterShapes(resolveArchitecture({ scale: 1 }))) assert.ok(inits.has(key), `initializer ${key}`);
    assert.ok(model.nodes.some((n) => n.name === 'blocks5.3.dw_conv.conv' && n.opType === 'Conv'));
    const hs = model.nodes.find((n) => n.name === 'blocks6.0.se.hardsigmoid')!;
    const alpha = hs.attributes.alpha as number;
    assert.ok(Math.abs(alpha - 1 / 6) < 1e-6, `HardSigmoid alpha ${alpha}`);
    assert.deepEqual(model.inputs, [{ name: 'image', dims: ['N', 3, 224, 224] }]);
    assert.deepEqual(model.outputs.map((o) => o.name), ['logits', 'probs']);
    assert.equal(model.producerName, 'pplcnet');
    const props = readMetadataProps(m.bytes);
    assert.deepEqual(props, model.metadata);
    const meta = parseMetadata(props);
    assert.equal(meta.name, 'PPLCNet_x1_0');
    assert.equal(meta.labels!.length, 1000);
    assert.equal((meta.architecture as { scale: number }).scale, 1);
    assert.deepEqual(meta.preprocess!.resize, { mode: 'short', size: 256 });
    assert.deepEqual(meta.preprocess!.crop, { width: 224, height: 224 });
    assert.ok(props[METADATA_KEYS.inputSize] === '[224,224]');
  });

  test('wrong weights are refused before anything is built', () => {
    const weights = initParameters(resolveArchitecture({ scale: 0.25 }));
    weights.delete('blocks4.1.pw_conv.bn._mean');
    assert.throws(() => buildPPLCNet({ scale: 0.25 }, { weights }), { message: /'blocks4.1.pw_conv.bn._mean' \[32\] is missing/ });
    assert.throws(() => buildPPLCNet({ scale: 0.25 }, { opset: 13 }), { name: 'RangeError', message: /'opset'/ });
  });
});

describe('initialization as PaddleClas constructs the model', () => {
  test('KaimingNormal convs, XavierUniform fc, BatchNorm 1/0/0/1, zero biases; seeded', () => {
    const arch = resolveArchitecture({ scale: 1.0 });
    const w = initParameters(arch, 5);
    const stats = (a: Float32Array) => {
      let m = 0;
      for (const v of a) m += v;
      m /= a.length;
      let s = 0;
      let max = 0;
      for (const v of a) {
        s += (v - m) ** 2;
        max = Math.max(max, Math.abs(v));
      }
      return { mean: m, std: Math.sqrt(s / a.length), max };
    };
    // pointwise conv 256→256: fan_in 256, std √(2/256)
    const pw = stats(w.get('blocks5.3.pw_conv.conv.weight')!);
    assert.ok(Math.abs(pw.std / Math.sqrt(2 / 256) - 1) < 0.02 && Math.abs(pw.mean) < 0.002, JSON.stringify(pw));
    // depthwise 5x5: fan_in 25
    const dw = stats(w.get('blocks5.3.dw_conv.conv.weight')!);
    assert.ok(Math.abs(dw.std / Math.sqrt(2 / 25) - 1) < 0.05, JSON.stringify(dw));
    // fc [1280, 1000]: uniform in ±√(6/2280), std = limit/√3
    const fc = stats(w.get('fc.weight')!);
    const limit = Math.sqrt(6 / 2280);
    assert.ok(fc.max <= limit && Math.abs(fc.std / (limit / Math.sqrt(3)) - 1) < 0.01, JSON.stringify(fc));
    assert.ok(w.get('conv1.bn.weight')!.every((v) => v === 1) && w.get('conv1.bn._variance')!.every((v) => v === 1));
    assert.ok(w.get('conv1.bn.bias')!.every((v) => v === 0) && w.get('fc.bias')!.every((v) => v === 0) && w.get('blocks6.0.se.conv1.bias')!.every((v) => v === 0));
    assert.deepEqual(initParameters(arch, 5).get('fc.weight'), w.get('fc.weight'));
  });
});
