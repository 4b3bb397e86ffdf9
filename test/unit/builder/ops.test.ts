import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { GraphBuilder, type Value } from '../../../src/builder/graph.js';
import * as op from '../../../src/builder/ops.js';
import { assertAllClose, runOnnx, seededFloats } from '../../helpers.js';
import * as ref from '../../reference.js';

/** Build a one-op graph around `body`, run it in onnxruntime, return output 'y'. */
async function runOp(
  inputs: Record<string, { data: Float32Array; dims: number[] }>,
  body: (g: GraphBuilder, x: Record<string, Value>) => Value,
  opset = 17,
): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const g = new GraphBuilder();
  const vals: Record<string, Value> = {};
  for (const [k, v] of Object.entries(inputs)) vals[k] = g.input(k, v.dims);
  const y = op.identity(g, 'y', body(g, vals));
  g.output(y);
  const out = await runOnnx(g.toModel({ opset, producerName: 'test', producerVersion: '0', graphName: 't' }), inputs);
  return out.y!;
}

const t = (shape: number[], seed: number, lo = -2, hi = 2) => ({ data: seededFloats(shape.reduce((a, b) => a * b, 1), seed, lo, hi), dims: shape });

describe('op helpers against a naive float64 reference', () => {
  test('Conv: grouped, stride pair, padding, bias', async () => {
    const x = t([2, 4, 7, 9], 1);
    const wData = seededFloats(6 * 2 * 3 * 3, 2);
    const bData = seededFloats(6, 3);
    const y = await runOp({ x }, (g, v) => {
      const w = g.initializer('w', [6, 2, 3, 3], wData);
      const b = g.initializer('b', [6], bData);
      const out = op.conv(g, 'c', v.x!, w, b, { strides: [2, 1], pads: [1, 1, 1, 1], group: 2 });
      assert.deepEqual(out.shape, [2, 6, 4, 9]);
      return out;
    });
    const e = ref.conv2d({ data: x.data, shape: x.dims }, { data: wData, shape: [6, 2, 3, 3] }, bData, [2, 1], [1, 1], 2);
    assert.deepEqual([...y.dims], e.shape);
    assertAllClose(y.data, e.data, { atol: 1e-5, rtol: 1e-5 });
  });

  test('Conv: depthwise 5x5 stride 2', async () => {
    const x = t([1, 3, 11, 10], 4);
    const wData = seededFloats(3 * 25, 5);
    const y = await runOp({ x }, (g, v) => op.conv(g, 'c', v.x!, g.initializer('w', [3, 1, 5, 5], wData), undefined, { strides: [2, 2], pads: [2, 2, 2, 2], group: 3 }));
    const e = ref.conv2d({ data: x.data, shape: x.dims }, { data: wData, shape: [3, 1, 5, 5] }, undefined, [2, 2], [2, 2], 3);
    assertAllClose(y.data, e.data, { atol: 1e-5, rtol: 1e-5 });
  });

  test('BatchNormalization', async () => {
    const x = t([2, 3, 4, 5], 6);
    const [gm, bt, mn] = [seededFloats(3, 7), seededFloats(3, 8), seededFloats(3, 9)];
    const vr = seededFloats(3, 10, 0.1, 2);
    const y = await runOp({ x }, (g, v) =>
      op.batchNormalization(g, 'bn', v.x!, g.initializer('g', [3], gm), g.initializer('b', [3], bt), g.initializer('m', [3], mn), g.initializer('v', [3], vr), { epsilon: 1e-5 }),
    );
    assertAllClose(y.data, ref.batchNorm({ data: x.data, shape: x.dims }, gm, bt, mn, vr, 1e-5).data, { atol: 1e-5, rtol: 1e-5 });
  });

  test('HardSwish, Relu, Clip(0,6) at opsets 14 and 21', async () => {
    const x = t([1, 2, 3, 50], 11, -8, 8);
    for (const opset of [14, 21]) {
      const hs = await runOp({ x }, (g, v) => op.hardSwish(g, 'a', v.x!), opset);
      assertAllClose(hs.data, ref.map({ data: x.data, shape: x.dims }, ref.hardswish).data, { atol: 1e-6, rtol: 1e-6 });
      const r = await runOp({ x }, (g, v) => op.relu(g, 'a', v.x!), opset);
      assertAllClose(r.data, ref.map({ data: x.data, shape: x.dims }, ref.relu).data, { atol: 0 });
      const c = await runOp({ x }, (g, v) => op.clip(g, 'a', v.x!, g.initializer('lo', [], Float32Array.of(0)), g.initializer('hi', [], Float32Array.of(6))), opset);
      assertAllClose(c.data, ref.map({ data: x.data, shape: x.dims }, ref.relu6).data, { atol: 0 });
    }
  });

  test("HardSigmoid with Paddle's slope 0.1666667 and offset 0.5 (not ONNX's default 0.2)", async () => {
    const x = t([1, 1, 1, 64], 12, -6, 6);
    const y = await runOp({ x }, (g, v) => op.hardSigmoid(g, 'h', v.x!, { alpha: 0.1666667, beta: 0.5 }));
    assertAllClose(y.data, ref.map({ data: x.data, shape: x.dims }, ref.hardsigmoid(0.1666667, 0.5)).data, { atol: 1e-6 });
    const d = await runOp({ x }, (g, v) => op.hardSigmoid(g, 'h', v.x!));
    assertAllClose(d.data, ref.map({ data: x.data, shape: x.dims }, ref.hardsigmoid(0.2, 0.5)).data, { atol: 1e-6 });
  });

  test('GlobalAveragePool, Mul broadcast (SE gating), Flatten, Add', async () => {
    const x = t([2, 3, 5, 4], 13);
    const pooled = await runOp({ x }, (g, v) => op.globalAveragePool(g, 'p', v.x!));
    const ep = ref.globalAvgPool({ data: x.data, shape: x.dims });
    assertAllClose(pooled.data, ep.data, { atol: 1e-6 });
    const gated = await runOp({ x }, (g, v) => op.mul(g, 'm', v.x!, op.globalAveragePool(g, 'p', v.x!)));
    assertAllClose(gated.data, ref.scaleChannels({ data: x.data, shape: x.dims }, ep).data, { atol: 1e-6 });
    const flat = await runOp({ x }, (g, v) => {
      const f = op.flatten(g, 'f', v.x!, { axis: 1 });
      assert.deepEqual(f.shape, [2, 60]);
      return f;
    });
    assertAllClose(flat.data, x.data, { atol: 0 });
    const added = await runOp({ x }, (g, v) => op.add(g, 'a', v.x!, v.x!));
    assertAllClose(added.data, Float64Array.from(x.data, (q) => 2 * q), { atol: 0 });
  });

  test("Gemm with Paddle's [in, out] weight (transB 0) and the ONNX [out, in] one (transB 1)", async () => {
    const x = t([3, 5], 14);
    const w = seededFloats(5 * 4, 15);
    const b = seededFloats(4, 16);
    const e = ref.linear({ data: x.data, shape: x.dims }, w, b, 5, 4);
    const y = await runOp({ x }, (g, v) => op.gemm(g, 'fc', v.x!, g.initializer('w', [5, 4], w), g.initializer('b', [4], b)));
    assertAllClose(y.data, e.data, { atol: 1e-5 });
    const wt = new Float32Array(20);
    for (let i = 0; i < 5; i++) for (let o = 0; o < 4; o++) wt[o * 5 + i] = w[i * 4 + o]!;
    const y2 = await runOp({ x }, (g, v) => op.gemm(g, 'fc', v.x!, g.initializer('w', [4, 5], wt), g.initializer('b', [4], b), { transB: true }));
    assertAllClose(y2.data, e.data, { atol: 1e-5 });
  });

  test('Constant, Div and MatMul (the paddle2onnx-style baseline uses them)', async () => {
    const x = t([3, 4], 21);
    const w = seededFloats(4 * 5, 22);
    const y = await runOp({ x }, (g, v) => op.div(g, 'd', op.matMul(g, 'm', v.x!, op.constant(g, 'w', [4, 5], w)), op.constant(g, 'two', [], Float32Array.of(2))));
    const e = ref.linear({ data: x.data, shape: x.dims }, w, new Float64Array(5), 4, 5);
    assertAllClose(y.data, Float64Array.from(e.data, (q) => q / 2), { atol: 1e-5 });
    const g = new GraphBuilder();
    assert.throws(() => op.matMul(g, 'm', g.input('a', [2, 3]), g.input('b', [4, 5])), /MatMul 'm': A has 3 columns but B has 4 rows/);
    assert.throws(() => op.constant(g, 'c', [2, 2], new Float32Array(3)), /Constant 'c': dims \[2,2\] do not hold 3 values/);
  });

  test('Softmax along axis 1', async () => {
    const x = t([4, 7], 17, -5, 5);
    const y = await runOp({ x }, (g, v) => op.softmax(g, 's', v.x!, { axis: 1 }));
    assertAllClose(y.data, ref.softmaxRows(x.data, 7), { atol: 1e-7 });
  });

  test('shape mistakes throw at the node, naming op and node', () => {
    const g = new GraphBuilder();
    const x = g.input('x', ['N', 32, 8, 8]);
    const w = g.initializer('w', [32, 1, 3, 3], new Float32Array(288));
    assert.throws(() => op.conv(g, 'blocks3.0.dw_conv', x, w, undefined, { group: 16 }), {
      message: "Conv 'blocks3.0.dw_conv': W has 1 input channel(s) per group but X has 32 channels in 16 group(s)",
    });
    const b = g.initializer('b', [7], new Float32Array(7));
    assert.throws(() => op.conv(g, 'c2', x, w, b, { group: 32 }), { message: /Conv 'c2': B has shape \[7\] but W has 32 output channels/ });
    const a = g.input('a', ['N', 10]);
    const m = g.initializer('m', [12, 3], new Float32Array(36));
    assert.throws(() => op.gemm(g, 'fc', a, m, undefined), { message: /Gemm 'fc': A has 10 columns but B has 12 rows/ });
    assert.throws(() => g.initializer('bad', [2, 2], new Float32Array(3)), { message: /holds 4 values but 3 were given/ });
    assert.throws(() => g.input('x', [1]), { message: /value 'x' is defined twice/ });
  });
});
