/**
 * Our PP-LCNet graph against a paddle2onnx-style graph of the same weights, on the same onnxruntime,
 * same threads, runs alternating in one process. The paddle2onnx-style graph is built the way its exports
 * look: opset 11, unfused BatchNormalization, HardSwish as Add/Clip/Mul/Div, weights as Constant nodes,
 * SE and fc biases as separate Adds, dropout as a Mul.
 *
 *   node dist/bench/paddle2onnx-style.js [--scale 1.0] [--threads 1,2] [--batch 1,8] [--runs 200] [--spin]
 *
 * Both sessions stay alive and alternate, so idle-thread spinning is off by default (--spin turns it on):
 * a spinning pool would steal the cores from the other session's runs.
 */
import { parseArgs } from 'node:util';
import { type Architecture, type ConvBNLayer, layerPlan, parameterShapes, resolveArchitecture } from '../src/builder/architecture.js';
import { GraphBuilder, type Value } from '../src/builder/graph.js';
import { initParameters } from '../src/builder/init.js';
import * as op from '../src/builder/ops.js';
import { buildPPLCNet } from '../src/builder/pplcnet.js';
import { percentile } from '../src/runtime/bench.js';
import { createSession, ort } from '../src/runtime/session.js';

/** Weights with non-trivial BatchNorm statistics (as trained weights have). */
export function benchWeights(arch: Architecture, seed = 1): Map<string, Float32Array> {
  const w = initParameters(arch, seed);
  let s = seed;
  const rnd = (lo: number, hi: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (s / 4294967296) * (hi - lo);
  };
  for (const [key] of parameterShapes(arch)) {
    const v = w.get(key)!;
    if (key.endsWith('bn.weight')) v.forEach((_, i) => (v[i] = rnd(0.5, 1.5)));
    if (key.endsWith('bn.bias') || key.endsWith('bn._mean')) v.forEach((_, i) => (v[i] = rnd(-0.3, 0.3)));
    if (key.endsWith('bn._variance')) v.forEach((_, i) => (v[i] = rnd(0.5, 2)));
  }
  return w;
}

/** The paddle2onnx-style export of the same network and weights. */
export function paddle2onnxStyle(arch: Architecture, weights: Map<string, Float32Array>, inputSize: [number, number]): Uint8Array {
  const g = new GraphBuilder();
  const shapes = new Map(parameterShapes(arch));
  let k = 0;
  const c = (dims: number[], data: Float32Array): Value => op.constant(g, `Constant_${k++}`, dims, data);
  const w = (key: string): Value => c(shapes.get(key)!, weights.get(key)!);
  const scalar = (v: number): Value => c([], Float32Array.of(v));
  let n = 0;
  const id = (t: string) => `p2o_${t}_${n++}`;
  const hardswish = (x: Value): Value => {
    const a = op.add(g, id('add'), x, scalar(3));
    const cl = op.clip(g, id('clip'), a, scalar(0), scalar(6));
    return op.div(g, id('div'), op.mul(g, id('mul'), x, cl), scalar(6));
  };
  const convBN = (l: ConvBNLayer, x: Value): Value => {
    const p = Math.floor((l.kernel - 1) / 2);
    let y = op.conv(g, id('conv'), x, w(`${l.key}.conv.weight`), undefined, { strides: l.stride, pads: [p, p, p, p], group: l.groups });
    y = op.batchNormalization(g, id('bn'), y, w(`${l.key}.bn.weight`), w(`${l.key}.bn.bias`), w(`${l.key}.bn._mean`), w(`${l.key}.bn._variance`), { epsilon: arch.bnEpsilon });
    return hardswish(y);
  };
  const plan = layerPlan(arch);
  let x = g.input('x', ['N', 3, inputSize[0], inputSize[1]]);
  x = convBN(plan.stem, x);
  for (const b of plan.blocks) {
    x = convBN(b.dw, x);
    if (b.se) {
      const e = b.se.key;
      let s = op.globalAveragePool(g, id('pool'), x);
      s = op.conv(g, id('conv'), s, w(`${e}.conv1.weight`), undefined);
      s = op.add(g, id('add'), s, c([1, b.se.reduced, 1, 1], weights.get(`${e}.conv1.bias`)!));
      s = op.relu(g, id('relu'), s);
      s = op.conv(g, id('conv'), s, w(`${e}.conv2.weight`), undefined);
      s = op.add(g, id('add'), s, c([1, b.se.channels, 1, 1], weights.get(`${e}.conv2.bias`)!));
      s = op.hardSigmoid(g, id('hardsigmoid'), s, { alpha: arch.hardSigmoidSlope, beta: arch.hardSigmoidOffset });
      x = op.mul(g, id('mul'), x, s);
    }
    x = convBN(b.pw, x);
  }
  x = op.globalAveragePool(g, id('pool'), x);
  if (plan.lastConv) {
    x = op.conv(g, id('conv'), x, w('last_conv.weight'), undefined);
    x = hardswish(x);
    x = op.mul(g, id('scale'), x, scalar(1 - arch.dropoutProb));
  }
  x = op.flatten(g, id('flatten'), x, { axis: 1 });
  x = op.matMul(g, id('matmul'), x, w('fc.weight'));
  x = op.add(g, id('add'), x, w('fc.bias'));
  g.output(op.softmax(g, 'softmax_1.tmp_0', x, { axis: 1 }));
  return g.toModel({ opset: 11, producerName: 'paddle2onnx-style', producerVersion: 'bench', graphName: 'Model from PaddlePaddle.' });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string', default: '1.0' },
      threads: { type: 'string', default: '1,2' },
      batch: { type: 'string', default: '1,8' },
      runs: { type: 'string', default: '200' },
      json: { type: 'boolean', default: false },
      spin: { type: 'boolean', default: false },
    },
  });
  const arch = resolveArchitecture({ scale: Number(values.scale) });
  const weights = benchWeights(arch);
  const ours = buildPPLCNet(arch, { weights }).bytes;
  const theirs = paddle2onnxStyle(arch, weights, [224, 224]);
  const runs = Number(values.runs);
  const rows: Record<string, unknown>[] = [];
  for (const threads of values.threads!.split(',').map(Number)) {
    for (const batch of values.batch!.split(',').map(Number)) {
      const t0 = performance.now();
      const a = (await createSession(ours, { ep: 'cpu', threads, spinning: values.spin })).session;
      const createOurs = performance.now() - t0;
      const t1 = performance.now();
      const b = (await createSession(theirs, { ep: 'cpu', threads, spinning: values.spin })).session;
      const createTheirs = performance.now() - t1;
      const x = new Float32Array(batch * 3 * 224 * 224).map((_, i) => Math.sin(i * 0.01));
      const feedA = { image: new ort.Tensor('float32', x, [batch, 3, 224, 224]) };
      const feedB = { x: new ort.Tensor('float32', x, [batch, 3, 224, 224]) };
      // same outputs, or the comparison means nothing
      const pa = (await a.run(feedA)).probs!.data as Float32Array;
      const pb = (await b.run(feedB))['softmax_1.tmp_0']!.data as Float32Array;
      let maxDiff = 0;
      for (let i = 0; i < pa.length; i++) maxDiff = Math.max(maxDiff, Math.abs(pa[i]! - pb[i]!));
      for (let i = 0; i < 10; i++) {
        await a.run(feedA);
        await b.run(feedB);
      }
      const ta: number[] = [];
      const tb: number[] = [];
      for (let i = 0; i < runs; i++) {
        let t = performance.now();
        await a.run(feedA);
        ta.push(performance.now() - t);
        t = performance.now();
        await b.run(feedB);
        tb.push(performance.now() - t);
      }
      ta.sort((p, q) => p - q);
      tb.sort((p, q) => p - q);
      const row = {
        threads,
        batch,
        oursP50: percentile(ta, 50),
        theirsP50: percentile(tb, 50),
        ratio: percentile(ta, 50) / percentile(tb, 50),
        oursCreateMs: createOurs,
        theirsCreateMs: createTheirs,
        maxProbDiff: maxDiff,
        oursBytes: ours.length,
        theirsBytes: theirs.length,
      };
      rows.push(row);
      await a.release();
      await b.release();
      if (values.json) console.log(JSON.stringify(row));
      else
        console.log(
          `threads ${threads} batch ${batch}: ours ${row.oursP50.toFixed(2)} ms, paddle2onnx-style ${row.theirsP50.toFixed(2)} ms, ratio ${row.ratio.toFixed(3)}; session create ${createOurs.toFixed(0)} vs ${createTheirs.toFixed(0)} ms; max |Δprob| ${maxDiff.toExponential(1)}`,
        );
    }
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) await main();
