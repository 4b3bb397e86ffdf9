/**
 * The expected value of every input channel of a graph's Conv and Gemm nodes, derived without data from
 * the distributions a model records: a BatchNorm's output is distributed as N(shift, scale²) per channel
 * over its training data (given as `statistics` for a graph whose BatchNorms are folded, read from the
 * BatchNormalization nodes otherwise). Means are carried forward through the activations (the expectation
 * under that normal distribution), pooling, flattening, scaling and linear layers (W·E[x] + b), which keep
 * expectations exact. An activation of a value whose distribution is not known (only its mean: after a
 * linear layer without BatchNorm) and a product of two values (a squeeze-and-excitation gate) give only an
 * approximation (the activation of the mean; the product of the means); inputs whose expectation is only
 * approximate are not reported. A value whose expectation cannot be derived (the graph's inputs, an op not
 * listed here) has none, and neither has anything computed from it.
 * @internal
 */
import { float32FromLE } from '../util/float32.js';
import type { ChannelDistribution } from './distribution.js';
import { onnx, type OnnxTypes } from './proto.js';


interface Known {
  mean: Float64Array;
  /** Whether `mean` is the expectation itself rather than an approximation of it. */
  exact: boolean;
  /** Per channel standard deviation, where the value is a BatchNorm's output. */
  std?: Float64Array;
}

/** E[f(z)] for z ~ N(m, s²), by the trapezoid rule over ±8 s (exact enough for piecewise-linear f). */
function expectation(f: (z: number) => number, m: number, s: number): number {
  if (!(s > 0)) return f(m);
  let sum = 0;
  let weights = 0;
  for (let k = -400; k <= 400; k++) {
    const t = k / 50;
    const w = Math.exp(-0.5 * t * t);
    sum += w * f(m + s * t);
    weights += w;
  }
  return sum / weights;
}

function attribute(node: OnnxTypes.INodeProto, name: string): OnnxTypes.IAttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

/** The activation a node applies element by element, when it is one this module knows. */
function activation(node: OnnxTypes.INodeProto, scalar: (name: string | undefined) => number | undefined): ((z: number) => number) | undefined {
  const alpha = attribute(node, 'alpha')?.f;
  const beta = attribute(node, 'beta')?.f;
  switch (node.opType) {
    case 'Relu':
      return (z) => Math.max(0, z);
    case 'HardSwish':
      return (z) => (z * Math.min(6, Math.max(0, z + 3))) / 6;
    case 'HardSigmoid':
      return (z) => Math.min(1, Math.max(0, (alpha ?? 0.2) * z + (beta ?? 0.5)));
    case 'Sigmoid':
      return (z) => 1 / (1 + Math.exp(-z));
    case 'Clip': {
      const [lo, hi] = [scalar(node.input?.[1]) ?? -Infinity, scalar(node.input?.[2]) ?? Infinity];
      return (z) => Math.min(hi, Math.max(lo, z));
    }
    default:
      return undefined;
  }
}

/** W·E[x] + b per output channel of a Conv (weight [co, ci/groups, k…]) or Gemm/MatMul (weight [K, N], or [N, K] with transB). */
function linearMean(node: OnnxTypes.INodeProto, x: Float64Array, w: { dims: number[]; data: Float32Array }, bias: Float32Array | undefined): Float64Array | undefined {
  const channels = linearLayout(node, w.dims, x.length);
  if (!channels) return undefined;
  const out = new Float64Array(channels.outputs);
  for (let i = 0; i < w.data.length; i++) out[channels.output(i)]! += w.data[i]! * x[channels.input(i)]!;
  if (bias && bias.length === out.length) bias.forEach((b, c) => (out[c]! += b));
  return out;
}

/**
 * How the elements of a Conv, Gemm or MatMul weight map to output and input channels (undefined when the
 * weight's shape does not fit `inputs` channels).
 */
export function linearLayout(node: OnnxTypes.INodeProto, dims: readonly number[], inputs: number): { outputs: number; output: (i: number) => number; input: (i: number) => number } | undefined {
  if (node.opType === 'Conv' && dims.length >= 3) {
    const [co, perGroup] = [dims[0]!, dims[1]!];
    const k = dims.slice(2).reduce((a, b) => a * b, 1);
    const groups = Number(attribute(node, 'group')?.i ?? 1);
    if (perGroup * groups !== inputs || co % groups) return undefined;
    const outPerGroup = co / groups;
    return { outputs: co, output: (i) => Math.floor(i / (perGroup * k)), input: (i) => Math.floor(Math.floor(i / (perGroup * k)) / outPerGroup) * perGroup + Math.floor((i % (perGroup * k)) / k) };
  }
  if ((node.opType === 'Gemm' || node.opType === 'MatMul') && dims.length === 2) {
    const transposed = node.opType === 'Gemm' && Number(attribute(node, 'transB')?.i ?? 0) === 1;
    const [rows, cols] = [dims[0]!, dims[1]!];
    if ((transposed ? cols : rows) !== inputs) return undefined;
    return transposed ? { outputs: rows, output: (i) => Math.floor(i / cols), input: (i) => i % cols } : { outputs: cols, output: (i) => i % cols, input: (i) => Math.floor(i / cols) };
  }
  return undefined;
}

/** Float32 data of the graph's float initializers, by name. */
function floatInitializers(graph: OnnxTypes.IGraphProto): Map<string, { dims: number[]; data: Float32Array }> {
  const out = new Map<string, { dims: number[]; data: Float32Array }>();
  for (const t of graph.initializer ?? []) {
    if (t.dataType !== onnx.TensorProto.DataType.FLOAT || t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const data = t.rawData && t.rawData.length ? float32FromLE(t.rawData) : Float32Array.from(t.floatData ?? []);
    out.set(t.name ?? '', { dims: (t.dims ?? []).map(Number), data });
  }
  return out;
}

/** The expected value of a node's output, from those of its inputs (undefined when it cannot be derived). */
function nodeOutput(node: OnnxTypes.INodeProto, known: Map<string, Known>, init: Map<string, { dims: number[]; data: Float32Array }>): Known | undefined {
  const inputs = node.input ?? [];
  const x = known.get(inputs[0] ?? '');
  const scalar = (name: string | undefined): number | undefined => (name && init.get(name)?.data.length === 1 ? init.get(name)!.data[0] : undefined);
  if (node.opType === 'BatchNormalization') {
    const [scale, shift] = [init.get(inputs[1] ?? ''), init.get(inputs[2] ?? '')];
    return scale && shift ? { mean: Float64Array.from(shift.data), std: Float64Array.from(scale.data, Math.abs), exact: true } : undefined;
  }
  if (!x) return undefined;
  const f = activation(node, scalar);
  if (f) return { mean: x.mean.map((m, c) => expectation(f, m, x.std?.[c] ?? 0)), exact: x.exact && x.std !== undefined };
  if (['GlobalAveragePool', 'Flatten', 'Identity'].includes(node.opType ?? '')) return { mean: x.mean, exact: x.exact };
  if (node.opType === 'Mul') {
    const y = known.get(inputs[1] ?? '')?.mean;
    const k = scalar(inputs[1]);
    if (y && y.length === x.mean.length) return { mean: x.mean.map((v, c) => v * y[c]!), exact: false };
    return k === undefined ? undefined : { mean: x.mean.map((v) => v * k), exact: x.exact };
  }
  const w = init.get(inputs[1] ?? '');
  if (['Conv', 'Gemm', 'MatMul'].includes(node.opType ?? '') && w) {
    const mean = linearMean(node, x.mean, w, node.opType === 'MatMul' ? undefined : init.get(inputs[2] ?? '')?.data);
    return mean && { mean, exact: x.exact };
  }
  return undefined;
}

/**
 * The expected value of each input channel of every Conv, Gemm and MatMul node whose input's expectation
 * can be derived exactly, by the node's weight (initializer) name. `statistics` gives the distribution of values
 * (by name) whose BatchNorm was folded into the node computing them.
 */
export function expectedInputs(graph: OnnxTypes.IGraphProto, statistics: ReadonlyMap<string, ChannelDistribution> = new Map()): Map<string, Float64Array> {
  const init = floatInitializers(graph);
  const known = new Map<string, Known>();
  const out = new Map<string, Float64Array>();
  // ONNX lists nodes in an order where every input is computed before it is read
  for (const node of graph.node ?? []) {
    const x = known.get(node.input?.[0] ?? '');
    if (x?.exact && ['Conv', 'Gemm', 'MatMul'].includes(node.opType ?? '') && node.input?.[1]) out.set(node.input[1], x.mean);
    const given = statistics.get(node.output?.[0] ?? '');
    const y = given ? { mean: Float64Array.from(given.mean), std: Float64Array.from(given.std, Math.abs), exact: true } : nodeOutput(node, known, init);
    if (y && node.output?.[0]) known.set(node.output[0], y);
  }
  return out;
}
