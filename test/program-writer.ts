/**
 * Writes the Paddle program of a PP-LCNet from its layer plan, as `paddle.jit.save` lays it out (conv2d /
 * depthwise_conv2d + batch_norm + activation, SE as pool2d/conv2d/add/relu/conv2d/add/hardsigmoid/multiply,
 * pool2d, last conv, dropout, flatten, matmul + add, then the head op), with Paddle-style parameter names.
 * With `toPirJson` it gives a test an inference program for weights keyed by PaddleClas keys.
 */
import { type Architecture, type ConvBNLayer, layerPlan, parameterShapes } from '../src/builder/architecture.js';
import type { AttrValue, Program, ProgramOp, ProgramParameter } from '../src/convert/program.js';

export interface WrittenProgram {
  readonly program: Program;
  /** PaddleClas key → Paddle parameter name. */
  readonly names: ReadonlyMap<string, string>;
}

export function writeProgram(arch: Architecture, options: { head: 'softmax' | 'sigmoid' | 'none'; inputSize: readonly [number, number] }): WrittenProgram {
  const plan = layerPlan(arch);
  const shapes = new Map(parameterShapes(arch, plan));
  const names = new Map<string, string>();
  const parameters: ProgramParameter[] = [];
  const ops: ProgramOp[] = [];
  let conv = 0;
  let bn = 0;
  let tmp = 0;
  const param = (key: string, name: string): string => {
    names.set(key, name);
    parameters.push({ name, shape: shapes.get(key)!, dtype: 'float32' });
    return name;
  };
  const op = (type: string, inputs: Record<string, string>, attrs: Record<string, AttrValue> = {}): string => {
    const out = `tmp_${tmp++}`;
    ops.push({ type, rawType: type, inputs, outputs: [out], attrs, where: `op ${ops.length} '${type}'` });
    return out;
  };
  const act = (x: string): string => op(arch.act, { X: x });
  const convBN = (l: ConvBNLayer, x: string): string => {
    const w = param(`${l.key}.conv.weight`, `conv2d_${conv++}.w_0`);
    const p = (l.kernel - 1) / 2;
    const type = l.groups > 1 ? 'depthwise_conv2d' : 'conv2d';
    const y = op(type, { Input: x, Filter: w }, { strides: [...l.stride], paddings: [p, p], dilations: [1, 1], groups: l.groups, padding_algorithm: 'EXPLICIT', data_format: 'NCHW' });
    const b = `batch_norm2d_${bn++}`;
    const slots = { Scale: param(`${l.key}.bn.weight`, `${b}.w_0`), Bias: param(`${l.key}.bn.bias`, `${b}.b_0`), Mean: param(`${l.key}.bn._mean`, `${b}.w_1`), Variance: param(`${l.key}.bn._variance`, `${b}.w_2`) };
    return act(op('batch_norm', { X: y, ...slots }, { epsilon: arch.bnEpsilon, momentum: 0.9, data_layout: 'NCHW', is_test: true }));
  };
  const pool = (x: string): string => op('pool2d', { X: x }, { pooling_type: 'avg', ksize: [1, 1], adaptive: true, global_pooling: false, strides: [1, 1], paddings: [0, 0] });
  const conv1x1 = (key: string, x: string, bias: boolean): string => {
    const n = `conv2d_${conv++}`;
    const y = op('conv2d', { Input: x, Filter: param(`${key}.weight`, `${n}.w_0`) }, { strides: [1, 1], paddings: [0, 0], dilations: [1, 1], groups: 1, padding_algorithm: 'EXPLICIT', data_format: 'NCHW' });
    return bias ? op('add', { X: y, Y: param(`${key}.bias`, `${n}.b_0`) }) : y;
  };
  ops.push({ type: 'data', rawType: 'data', inputs: {}, outputs: ['x'], attrs: { name: 'x' }, where: 'op 0 data' });
  let x = convBN(plan.stem, 'x');
  for (const b of plan.blocks) {
    x = convBN(b.dw, x);
    if (b.se) {
      let s = pool(x);
      s = op('relu', { X: conv1x1(`${b.se.key}.conv1`, s, true) });
      s = op('hardsigmoid', { X: conv1x1(`${b.se.key}.conv2`, s, true) }, { slope: arch.hardSigmoidSlope, offset: arch.hardSigmoidOffset });
      x = op('multiply', { X: x, Y: s });
    }
    x = convBN(b.pw, x);
  }
  x = pool(x);
  if (plan.lastConv) {
    x = act(conv1x1('last_conv', x, false));
    x = op('dropout', { X: x }, { dropout_prob: arch.dropoutProb, dropout_implementation: 'downgrade_in_infer', is_test: true });
  }
  x = op('flatten', { X: x }, { start_axis: 1, stop_axis: -1 });
  x = op('matmul', { X: x, Y: param('fc.weight', 'linear_0.w_0') }, { transpose_x: false, transpose_y: false });
  x = op('add', { X: x, Y: param('fc.bias', 'linear_0.b_0') });
  if (options.head !== 'none') op(options.head, { X: x }, options.head === 'softmax' ? { axis: -1 } : {});
  const [h, w] = options.inputSize;
  return { program: { format: 'pir-json', parameters, ops, input: { name: 'x', value: 'x', shape: [-1, 3, h, w] }, constants: new Map() }, names };
}
