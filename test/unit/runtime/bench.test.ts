import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { benchWeights, paddle2onnxStyle } from '../../../bench/paddle2onnx-style.js';
import { countMultiplyAdds, resolveArchitecture } from '../../../src/builder/architecture.js';
import { buildPPLCNet } from '../../../src/builder/pplcnet.js';
import { compareModels } from '../../../src/compare.js';
import { benchModel, matmulModel, measureMatmulPeak, percentile } from '../../../src/runtime/bench.js';
import { FIXTURES } from '../../fixtures/index.js';
import { assertAllClose, runOnnx, seededFloats } from '../../helpers.js';

describe('bench and compare', () => {
  test('percentile picks the nearest rank', () => {
    const s = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    assert.equal(percentile(s, 50), 5);
    assert.equal(percentile(s, 90), 9);
    assert.equal(percentile(s, 100), 10);
    assert.equal(percentile([3], 50), 3);
  });

  test('benchModel reports every configuration; GFLOP/s follows from multiply-adds and p50', async () => {
    const arch = resolveArchitecture({ scale: 0.25, classNum: 10 });
    const m = buildPPLCNet(arch, { inputSize: 64 });
    const macs = countMultiplyAdds(arch, [64, 64]);
    const rows = await benchModel(m.bytes, { ep: 'cpu', threads: [1], batches: [1, 2], runs: 3, warmup: 1, inputSize: [64, 64], multiplyAdds: macs, peak: new Map([[1, 100]]) });
    assert.deepEqual(rows.map((r) => [r.threads, r.batch, r.runs]), [[1, 1, 3], [1, 2, 3]]);
    for (const r of rows) {
      assert.ok(r.p50Ms > 0 && r.p90Ms >= r.p50Ms && r.createMs > 0);
      assert.ok(Math.abs(r.gflops! - (2 * macs * r.batch) / (r.p50Ms * 1e6)) < 1e-9);
      assert.ok(Math.abs(r.peakRatio! - r.gflops! / 100) < 1e-12);
      assert.ok(Math.abs(r.imagesPerSec - (1000 * r.batch) / r.p50Ms) < 1e-9);
    }
  });

  test('the matmul model computes a product, and its peak is a positive rate', async () => {
    const out = await runOnnx(matmulModel(2, 3, 4), { a: { data: Float32Array.of(1, 0, 0, 0, 1, 0), dims: [2, 3] } });
    assert.deepEqual([...out.y!.dims], [2, 4]);
    assert.ok((await measureMatmulPeak(1, { ep: 'cpu' }, [64, 128], 3)) > 0);
  });

  test('the paddle2onnx-style baseline computes the same network (so the speed ratio compares like with like)', async () => {
    const arch = resolveArchitecture({ scale: 0.5, classNum: 20 });
    const weights = benchWeights(arch);
    const ours = buildPPLCNet(arch, { weights, inputSize: 96 }).bytes;
    const theirs = paddle2onnxStyle(arch, weights, [96, 96]);
    const x = seededFloats(2 * 3 * 96 * 96, 4);
    const a = await runOnnx(ours, { image: { data: x, dims: [2, 3, 96, 96] } });
    const b = await runOnnx(theirs, { x: { data: x, dims: [2, 3, 96, 96] } });
    assertAllClose(a.probs!.data, b['softmax_1.tmp_0']!.data, { atol: 1e-6 });
  });

  test('compare: the same network through two routes agrees; different weights do not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pplcnet-compare-'));
    try {
      const cache = join(dir, 'cache');
      const kept = join(dir, 'kept.onnx');
      const { convertInferenceModel } = await import('../../../src/convert/inference-model.js');
      await writeFile(kept, (await convertInferenceModel(FIXTURES.textlineModel, { fold: false })).bytes);
      const same = await compareModels(FIXTURES.textlineModel, kept, { cacheDir: cache, ep: 'cpu', random: 4 });
      assert.equal(same.inputs, 4);
      assert.ok(same.probs.maxAbs < 1e-5 && same.logits!.maxAbs < 1e-4, JSON.stringify(same));
      assert.equal(same.top1Agreement, 1);
      const imgs = await compareModels(FIXTURES.textlineModel, kept, { cacheDir: cache, ep: 'cpu', images: [FIXTURES.textlines] });
      assert.equal(imgs.inputs, 20);
      assert.equal(imgs.inputKind, 'images');
      const arch = resolveArchitecture({ scale: 0.25, classNum: 5 });
      await writeFile(join(dir, 'a.onnx'), buildPPLCNet(arch, { weights: benchWeights(arch, 1), inputSize: 64 }).bytes);
      await writeFile(join(dir, 'b.onnx'), buildPPLCNet(arch, { weights: benchWeights(arch, 2), inputSize: 64 }).bytes);
      const diff = await compareModels(join(dir, 'a.onnx'), join(dir, 'b.onnx'), { cacheDir: cache, ep: 'cpu', random: 4 });
      assert.ok(diff.logits!.maxAbs > 1e-2, JSON.stringify(diff));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
