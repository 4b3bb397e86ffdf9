import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  countMultiplyAdds,
  countPaddleFlops,
  countParameters,
  layerPlan,
  makeDivisible,
  parameterShapes,
  resolveArchitecture,
  stageShapes,
} from '../../../src/builder/architecture.js';

/** Published parameter counts (millions, 1000 classes) and FLOPs (millions, 224²) from PaddleClas's docs. */
const PUBLISHED: [number, number, number][] = [
  [0.25, 1.5, 18],
  [0.35, 1.6, 29],
  [0.5, 1.9, 47],
  [0.75, 2.4, 99],
  [1.0, 3.0, 161],
  [1.5, 4.5, 342],
  [2.0, 6.5, 590],
  [2.5, 9.0, 906],
];

/**
 * An independent count, written from the paper's table rather than the library's plan: per layer,
 * weights + BN γ/β (ConvBN), SE weights + biases, last conv, fc weight + bias.
 */
function paramsByHand(scale: number): number {
  const md = (v: number): number => {
    const n = Math.max(8, Math.floor((v + 4) / 8) * 8);
    return n < 0.9 * v ? n + 8 : n;
  };
  const blocks: [number, number, number, boolean][] = [
    [3, 16, 32, false],
    [3, 32, 64, false], [3, 64, 64, false],
    [3, 64, 128, false], [3, 128, 128, false],
    [3, 128, 256, false], [5, 256, 256, false], [5, 256, 256, false], [5, 256, 256, false], [5, 256, 256, false], [5, 256, 256, false],
    [5, 256, 512, true], [5, 512, 512, true],
  ];
  const c0 = md(16 * scale);
  let n = 27 * c0 + 2 * c0;
  for (const [k, i, o, se] of blocks) {
    const ci = md(i * scale);
    const co = md(o * scale);
    n += k * k * ci + 2 * ci; // depthwise conv + BN
    if (se) {
      const r = Math.floor(ci / 4);
      n += ci * r + r + r * ci + ci;
    }
    n += ci * co + 2 * co; // pointwise conv + BN
  }
  n += md(512 * scale) * 1280; // last conv, no bias
  n += 1280 * 1000 + 1000; // fc
  return n;
}

describe('architecture', () => {
  test('make_divisible matches PaddleClas on known values', () => {
    assert.equal(makeDivisible(16 * 0.25), 8);
    assert.equal(makeDivisible(16 * 0.35), 8);
    assert.equal(makeDivisible(32 * 0.35), 16); // 11.2 → 8 < 0.9·11.2 → 16
    assert.equal(makeDivisible(512 * 0.35), 176); // int(183.2)//8*8 = 176 ≥ 0.9·179.2
    assert.equal(makeDivisible(512 * 0.75), 384);
    assert.equal(makeDivisible(16 * 2.5), 40);
  });

  for (const [scale, params, flops] of PUBLISHED) {
    test(`x${scale}: parameters equal an independent count and round to the published ${params}M`, () => {
      const arch = resolveArchitecture({ scale });
      const n = countParameters(arch);
      assert.equal(n, paramsByHand(scale));
      assert.equal(Math.round(n / 1e5) / 10, params);
    });
    test(`x${scale}: FLOPs at 224 within 5% of the published ${flops}M`, () => {
      const arch = resolveArchitecture({ scale });
      const paddle = countPaddleFlops(arch, [224, 224]) / 1e6;
      assert.ok(Math.abs(paddle / flops - 1) < 0.05, `Paddle-convention FLOPs ${paddle.toFixed(2)}M vs ${flops}M`);
      // plain multiply-adds leave out BatchNorm and pooling, so they sit a little below the table
      const macs = countMultiplyAdds(arch, [224, 224]) / 1e6;
      assert.ok(macs < paddle && macs > 0.9 * flops, `MACs ${macs.toFixed(2)}M`);
    });
  }

  test('parameter keys follow the PaddleClas state_dict', () => {
    const keys = parameterShapes(resolveArchitecture({ scale: 1 })).map(([k]) => k);
    assert.equal(keys[0], 'conv1.conv.weight');
    assert.ok(keys.includes('blocks5.3.dw_conv.conv.weight'));
    assert.ok(keys.includes('blocks6.1.se.conv2.bias'));
    assert.ok(!keys.includes('blocks5.0.se.conv1.weight'));
    assert.deepEqual(keys.slice(-3), ['last_conv.weight', 'fc.weight', 'fc.bias']);
    const shapes = new Map(parameterShapes(resolveArchitecture({ scale: 1 })));
    assert.deepEqual(shapes.get('fc.weight'), [1280, 1000]); // Paddle's [in, out]
    assert.deepEqual(shapes.get('blocks6.0.se.conv1.weight'), [64, 256, 1, 1]);
    assert.deepEqual(shapes.get('blocks5.3.dw_conv.conv.weight'), [256, 1, 5, 5]);
  });

  test('no last conv: fc reads the stage-6 width', () => {
    const arch = resolveArchitecture({ scale: 0.25, useLastConv: false, classNum: 2 });
    const plan = layerPlan(arch);
    assert.equal(plan.lastConv, undefined);
    assert.deepEqual(plan.fc, { key: 'fc', inFeatures: 128, outFeatures: 2 });
  });

  test('stride pairs: the text-line layout gives 5 x 80 before pooling from 80 x 160', () => {
    const arch = resolveArchitecture({ scale: 0.25, strideList: [[1, 2], [2, 1], [2, 1], [2, 1], [2, 1]] });
    const s = stageShapes(arch, [80, 160]);
    assert.deepEqual(s.conv1, [8, 80, 80]);
    assert.deepEqual(s.blocks6, [128, 5, 80]);
    const ocr = resolveArchitecture({ scale: 0.25, strideList: [2, [2, 1], [2, 1], [2, 1], [2, 1]] });
    assert.deepEqual(stageShapes(ocr, [80, 160]).blocks6, [128, 3, 80]);
  });

  test('bad options name the option, what was given and what is accepted', () => {
    assert.throws(() => resolveArchitecture({ scale: 0 }), { name: 'RangeError', message: /positive number for 'scale' but received 0/ });
    assert.throws(() => resolveArchitecture({ scale: NaN }), { name: 'RangeError', message: /'scale'.*NaN/ });
    assert.throws(() => resolveArchitecture({ scale: '1' as unknown as number }), { name: 'TypeError', message: /'scale'/ });
    assert.throws(() => resolveArchitecture({ strideList: [2, 2, 2, 2] }), { name: 'RangeError', message: /exactly 5 strides for 'strideList'/ });
    assert.throws(() => resolveArchitecture({ strideList: [2, 3, 2, 2, 2] }), { message: /'strideList\[1\]'.*received 3/ });
    assert.throws(() => resolveArchitecture({ strideList: [2, [2, 1, 1] as never, 2, 2, 2] }), { message: /'strideList\[1\]'/ });
    assert.throws(() => resolveArchitecture({ act: 'gelu' as never }), { message: /hardswish, relu, relu6 for 'act' but received "gelu"/ });
    assert.throws(() => resolveArchitecture({ classNum: 2.5 }), { message: /positive integer for 'classNum' but received 2.5/ });
    assert.throws(() => resolveArchitecture({ dropoutProb: 1 }), { message: /'dropoutProb'/ });
  });
});
