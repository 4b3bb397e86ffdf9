/**
 * One typed helper per ONNX op. Each takes the graph first, then a node name, tensors, and attributes with
 * ONNX's own defaults; each returns a value whose shape is already known, and a shape mistake throws here,
 * naming the op and the node.
 */
import { type Dim, type GraphBuilder, type Value, shapeToString } from './graph.js';

function fail(op: string, name: string, message: string): never {
  throw new RangeError(`${op} '${name}': ${message}`);
}

function rank(op: string, name: string, what: string, v: Value, r: number): void {
  if (v.shape.length !== r) {
    fail(op, name, `${what} '${v.name}' must have rank ${r} but has shape ${shapeToString(v.shape)}`);
  }
}

function fixed(op: string, name: string, what: string, d: Dim): number {
  if (typeof d !== 'number') fail(op, name, `${what} must be a fixed size, not '${d}'`);
  return d;
}

function sameDim(a: Dim, b: Dim): boolean {
  return a === b;
}

export interface ConvAttributes {
  /** [sh, sw]; default [1, 1]. */
  strides?: readonly [number, number];
  /** [top, left, bottom, right]; default all 0. */
  pads?: readonly [number, number, number, number];
  /** default 1. */
  group?: number;
}

/** `ai.onnx@11::Conv` with 2-D NCHW input. W is [M, C/group, kH, kW]; B is [M]. */
export function conv(g: GraphBuilder, name: string, x: Value, w: Value, b: Value | undefined, attrs: ConvAttributes = {}): Value {
  const op = 'Conv';
  const strides = attrs.strides ?? [1, 1];
  const pads = attrs.pads ?? [0, 0, 0, 0];
  const group = attrs.group ?? 1;
  rank(op, name, 'X', x, 4);
  rank(op, name, 'W', w, 4);
  const c = fixed(op, name, 'input channels', x.shape[1]!);
  const [m, cpg, kh, kw] = w.shape.map((d) => fixed(op, name, 'W', d)) as [number, number, number, number];
  if (!Number.isInteger(group) || group < 1 || c % group !== 0 || m % group !== 0) {
    fail(op, name, `group ${group} must divide the ${c} input channels and the ${m} output channels`);
  }
  if (cpg * group !== c) {
    fail(op, name, `W has ${cpg} input channel(s) per group but X has ${c} channels in ${group} group(s)`);
  }
  if (b) {
    rank(op, name, 'B', b, 1);
    if (b.shape[0] !== m) fail(op, name, `B has shape ${shapeToString(b.shape)} but W has ${m} output channels`);
  }
  const h = fixed(op, name, 'input height', x.shape[2]!);
  const wd = fixed(op, name, 'input width', x.shape[3]!);
  const oh = Math.floor((h + pads[0] + pads[2] - kh) / strides[0]) + 1;
  const ow = Math.floor((wd + pads[1] + pads[3] - kw) / strides[1]) + 1;
  if (oh < 1 || ow < 1) fail(op, name, `input ${h}x${wd} is too small for a ${kh}x${kw} kernel`);
  const inputs = b ? [x, w, b] : [x, w];
  return g.node(op, name, inputs, [[x.shape[0]!, m, oh, ow]], {
    kernel_shape: { ints: [kh, kw] },
    strides: { ints: [...strides] },
    pads: { ints: [...pads] },
    group: { int: group },
    dilations: { ints: [1, 1] },
  })[0]!;
}

/** `ai.onnx@15::BatchNormalization` (inference mode). scale, bias, mean, var are [C]. */
export function batchNormalization(
  g: GraphBuilder,
  name: string,
  x: Value,
  scale: Value,
  bias: Value,
  mean: Value,
  variance: Value,
  attrs: { epsilon?: number } = {},
): Value {
  const op = 'BatchNormalization';
  const c = x.shape[1];
  for (const [what, v] of [['scale', scale], ['B', bias], ['input_mean', mean], ['input_var', variance]] as const) {
    rank(op, name, what, v, 1);
    if (!sameDim(v.shape[0]!, c!)) {
      fail(op, name, `${what} has shape ${shapeToString(v.shape)} but X has ${String(c)} channels`);
    }
  }
  return g.node(op, name, [x, scale, bias, mean, variance], [x.shape], {
    epsilon: { float: attrs.epsilon ?? 1e-5 },
  })[0]!;
}

function unary(g: GraphBuilder, op: string, name: string, x: Value, attributes: Record<string, { float: number }> = {}): Value {
  return g.node(op, name, [x], [x.shape], attributes)[0]!;
}

/** `ai.onnx@14::Relu`. */
export function relu(g: GraphBuilder, name: string, x: Value): Value {
  return unary(g, 'Relu', name, x);
}

/** `ai.onnx@14::HardSwish`: x · max(0, min(1, x/6 + 1/2)). */
export function hardSwish(g: GraphBuilder, name: string, x: Value): Value {
  return unary(g, 'HardSwish', name, x);
}

/** `ai.onnx@6::HardSigmoid`: max(0, min(1, alpha·x + beta)). ONNX's defaults are alpha 0.2, beta 0.5. */
export function hardSigmoid(g: GraphBuilder, name: string, x: Value, attrs: { alpha?: number; beta?: number } = {}): Value {
  return unary(g, 'HardSigmoid', name, x, { alpha: { float: attrs.alpha ?? 0.2 }, beta: { float: attrs.beta ?? 0.5 } });
}

/** `ai.onnx@13::Clip` with scalar bounds `min` and `max` (values of shape []). */
export function clip(g: GraphBuilder, name: string, x: Value, min: Value, max: Value): Value {
  for (const [what, v] of [['min', min], ['max', max]] as const) {
    if (v.shape.length !== 0) fail('Clip', name, `${what} '${v.name}' must be a scalar but has shape ${shapeToString(v.shape)}`);
  }
  return g.node('Clip', name, [x, min, max], [x.shape])[0]!;
}

/** `ai.onnx@1::GlobalAveragePool`: [N,C,H,W] → [N,C,1,1]. */
export function globalAveragePool(g: GraphBuilder, name: string, x: Value): Value {
  rank('GlobalAveragePool', name, 'X', x, 4);
  return g.node('GlobalAveragePool', name, [x], [[x.shape[0]!, x.shape[1]!, 1, 1]])[0]!;
}

function broadcast(op: string, name: string, a: Value, b: Value): Dim[] {
  const r = Math.max(a.shape.length, b.shape.length);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const da = a.shape[a.shape.length - r + i] ?? 1;
    const db = b.shape[b.shape.length - r + i] ?? 1;
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else fail(op, name, `shapes ${shapeToString(a.shape)} and ${shapeToString(b.shape)} do not broadcast`);
  }
  return out;
}

/** `ai.onnx@14::Mul` with numpy broadcasting. */
export function mul(g: GraphBuilder, name: string, a: Value, b: Value): Value {
  return g.node('Mul', name, [a, b], [broadcast('Mul', name, a, b)])[0]!;
}

/** `ai.onnx@14::Add` with numpy broadcasting. */
export function add(g: GraphBuilder, name: string, a: Value, b: Value): Value {
  return g.node('Add', name, [a, b], [broadcast('Add', name, a, b)])[0]!;
}

/** `ai.onnx@13::Flatten`: [d0..dk-1, dk..] → [d0·…·dk-1, dk·…]. */
export function flatten(g: GraphBuilder, name: string, x: Value, attrs: { axis?: number } = {}): Value {
  const axis = attrs.axis ?? 1;
  if (axis < 0 || axis > x.shape.length) fail('Flatten', name, `axis ${axis} is out of range for rank ${x.shape.length}`);
  const outer = x.shape.slice(0, axis);
  const inner = x.shape.slice(axis);
  const prod = (ds: readonly Dim[]): Dim =>
    ds.length === 1 ? ds[0]! : ds.every((d) => typeof d === 'number') ? ds.reduce<number>((p, d) => p * (d as number), 1) : ds.join('*');
  return g.node('Flatten', name, [x], [[outer.length ? prod(outer) : 1, inner.length ? prod(inner) : 1]], { axis: { int: axis } })[0]!;
}

/** `ai.onnx@13::Gemm`: A·B + C (alpha = beta = 1). A [M,K]; B [K,N] or [N,K] with transB; C [N]. */
export function gemm(g: GraphBuilder, name: string, a: Value, b: Value, c: Value | undefined, attrs: { transB?: boolean } = {}): Value {
  const op = 'Gemm';
  rank(op, name, 'A', a, 2);
  rank(op, name, 'B', b, 2);
  const [k, n] = attrs.transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  if (!sameDim(a.shape[1]!, k)) {
    fail(op, name, `A has ${String(a.shape[1])} columns but B${attrs.transB ? 'ᵀ' : ''} has ${String(k)} rows`);
  }
  if (c) {
    rank(op, name, 'C', c, 1);
    if (!sameDim(c.shape[0]!, n)) fail(op, name, `C has shape ${shapeToString(c.shape)} but the product has ${String(n)} columns`);
  }
  return g.node(op, name, c ? [a, b, c] : [a, b], [[a.shape[0]!, n]], { transB: { int: attrs.transB ? 1 : 0 } })[0]!;
}

/** `ai.onnx@13::Softmax` along `axis` (default −1). */
export function softmax(g: GraphBuilder, name: string, x: Value, attrs: { axis?: number } = {}): Value {
  return g.node('Softmax', name, [x], [x.shape], { axis: { int: attrs.axis ?? -1 } })[0]!;
}

/** `ai.onnx@13::Sigmoid`: 1 / (1 + e^−x), elementwise (multi-label heads). */
export function sigmoid(g: GraphBuilder, name: string, x: Value): Value {
  return unary(g, 'Sigmoid', name, x);
}

/** `ai.onnx@14::Identity`, used to give a value a public name. */
export function identity(g: GraphBuilder, name: string, x: Value): Value {
  return g.node('Identity', name, [x], [x.shape])[0]!;
}

/** `ai.onnx@1::Constant` holding a float32 tensor. */
export function constant(g: GraphBuilder, name: string, dims: readonly number[], data: Float32Array): Value {
  if (data.length !== dims.reduce((a, b) => a * b, 1)) fail('Constant', name, `dims ${shapeToString(dims)} do not hold ${data.length} values`);
  return g.node('Constant', name, [], [dims], { value: { tensor: { dims, data } } })[0]!;
}

/** `ai.onnx@14::Div` with numpy broadcasting. */
export function div(g: GraphBuilder, name: string, a: Value, b: Value): Value {
  return g.node('Div', name, [a, b], [broadcast('Div', name, a, b)])[0]!;
}

/** `ai.onnx@13::MatMul` of a 2-D A [M,K] by B [K,N]. */
export function matMul(g: GraphBuilder, name: string, a: Value, b: Value): Value {
  rank('MatMul', name, 'A', a, 2);
  rank('MatMul', name, 'B', b, 2);
  if (!sameDim(a.shape[1]!, b.shape[0]!)) fail('MatMul', name, `A has ${String(a.shape[1])} columns but B has ${String(b.shape[0])} rows`);
  return g.node('MatMul', name, [a, b], [[a.shape[0]!, b.shape[1]!]])[0]!;
}
