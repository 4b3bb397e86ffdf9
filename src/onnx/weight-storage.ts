/**
 * How a model stores its weights: `fp32` as built; `fp16`, the weights of Conv, Gemm and MatMul as float16;
 * `int8`, those weights quantized per output channel (symmetric, one float16 scale per channel); both rounded
 * so that each channel's errors cancel. Biases and the other small initializers stay float32 (int8: float16
 * after the first third of the graph; `others`), each bias corrected by its weight's expected rounding error
 * where the input's expectation is known (`statistics`). Only storage changes: the weights of
 * the same shape (every depthwise 3×3, every 1×1 conv over 64 channels…) are concatenated into one stored
 * tensor, restored by one `Cast` to float (and one `Mul` by the scales for int8) and cut apart by one
 * `Split`. Those nodes read constants only, so onnxruntime folds them into initializers when the session is
 * created and the optimized graph is the float32 graph (the arithmetic stays float32). Few restoring nodes
 * keep the folding (session creation) and the file's graph small; the initializers get short names (the
 * nodes keep theirs). `Cast`+`Mul` rather than `DequantizeLinear`: onnxruntime keeps a DequantizeLinear that
 * feeds a Conv unfolded for its QDQ fusions.
 */
import { PplcnetError, invalidOption } from '../errors.js';
import { METADATA_KEYS, WEIGHT_STORAGES, type WeightStorage } from '../metadata.js';
import { FLOAT16_MAX, float16Bits, float16Value } from '../util/float16.js';
import { float32FromLE, float32ToLE } from '../util/float32.js';
import type { ChannelDistribution } from './distribution.js';
import { expectedInputs, linearLayout } from './expected-inputs.js';
import { EXPOSED_VALUES } from './expose-outputs.js';
import { readMetadataProps } from './metadata-props.js';
import { onnx, type OnnxTypes } from './proto.js';

export { type WeightStorage, WEIGHT_STORAGES } from '../metadata.js';

/** What {@link storeWeights} did. */
export interface StoredWeights {
  readonly bytes: Uint8Array;
  readonly storage: WeightStorage;
  /** The largest |stored − original| over every weight (0 for fp32). */
  readonly maxError: number;
  /** Initializers stored as float16, as int8, and left float32. */
  readonly tensors: { readonly fp16: number; readonly int8: number; readonly fp32: number };
}

/** Options of {@link storeWeights}. */
export interface StoreWeightsOptions {
  /**
   * How the initializers that are not Conv/Gemm/MatMul weights (biases, BatchNorm-folded terms, scalars) are
   * stored: `late`, float16 when first used after the first third of the graph's nodes and float32 before.
   * A bias's rounding error shifts its whole channel (the errors of a channel's weights cancel): on the
   * text-line model with corrected biases, float32 biases took the largest probability change on photos
   * from 2.1e-3 to 9.4e-4 for fp16 weights; for int8 weights, whose own errors are larger, they changed
   * nothing (1.3e-2 either way). ['fp32' for fp16 storage, 'late' for int8]
   */
  readonly others?: 'fp32' | 'fp16' | 'late';
  /** int8 only: weights (initializer names) not to quantize, stored as `others` says. [none] */
  readonly keep?: readonly string[];
  /** Names the model in error messages. ['model'] */
  readonly where?: string;
  /**
   * The distribution per channel (N(mean, std²): a BatchNorm's shift and scale) of values computed by a node
   * whose BatchNorm was folded into it, by value name: where a weight's input has an expected value derived
   * from these (or from BatchNormalization nodes in the graph), its node's bias is corrected by the expected
   * error the rounding of the weight makes. The builder gives them for every folded BatchNorm. [none]
   */
  readonly statistics?: ReadonlyMap<string, ChannelDistribution>;
  /** Whether biases are corrected by their weight's expected rounding error (see `statistics`). [true] */
  readonly correctBiases?: boolean;
}

const DT = () => onnx.TensorProto.DataType;

/** The storage a model records (`fp32` when it records none). */
export function recordedStorage(props: Readonly<Record<string, string>>, where = 'model'): WeightStorage {
  const v = props[METADATA_KEYS.weights];
  if (v === undefined) return 'fp32';
  if (!(WEIGHT_STORAGES as readonly string[]).includes(v)) throw new PplcnetError('E_MODEL', `${where}: metadata '${METADATA_KEYS.weights}' is '${v.slice(0, 40)}', not one of ${WEIGHT_STORAGES.join(', ')}`);
  return v as WeightStorage;
}

/** Which axis of an initializer holds the output channels, when it is a weight to quantize (else undefined). */
function channelAxis(uses: readonly { node: OnnxTypes.INodeProto; index: number }[], dims: readonly number[]): number | undefined {
  let axis: number | undefined;
  for (const { node, index } of uses) {
    let a: number | undefined;
    if (index === 1 && node.opType === 'Conv' && dims.length >= 3) a = 0;
    else if (index === 1 && node.opType === 'Gemm' && dims.length === 2) a = (node.attribute ?? []).some((t) => t.name === 'transB' && Number(t.i) === 1) ? 0 : 1;
    else if (index === 1 && node.opType === 'MatMul' && dims.length === 2) a = 1;
    if (a === undefined || (axis !== undefined && a !== axis)) return undefined;
    axis = a;
  }
  return axis;
}

/** The element indices of each channel of a `dims` tensor with channels on `axis`, in memory order. */
function channelIndices(dims: readonly number[], axis: number): number[][] {
  const channels = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const total = dims.reduce((a, b) => a * b, 1);
  const out: number[][] = Array.from({ length: channels }, () => []);
  for (let i = 0; i < total; i++) out[Math.floor(i / inner) % channels]!.push(i);
  return out;
}

/** The smallest float16 value ≥ `s` (as a number), for scales that must not shrink when stored as float16. */
function float16AtLeast(s: number): number {
  const h = float16Bits(s);
  const v = float16Value(h);
  return v >= s ? v : float16Value(h + 1);
}

/**
 * Per-channel symmetric int8: s = max|w| / 127 per channel (as float32, then the smallest float16 at least
 * that, so the scales are stored as float16; 1 for an all-zero channel), each q the nearest integer to w / s
 * (halves away from zero, within ±127); then, channel by channel, the values whose other neighbour costs
 * least (fraction nearest ½, then the first) move to it while that brings the channel's sum Σq·s nearer
 * Σw. Rounding errors of a channel then cancel instead of adding up in its output, which the next layers
 * amplify: on the text-line model this cut the largest probability change on photos from 0.13 to 0.03, for
 * weights at most one step (instead of half a step) from the original.
 */
export function quantizePerChannel(w: Float32Array, dims: readonly number[], axis: number): { q: Int8Array; scales: Float32Array; maxError: number } {
  const channels = channelIndices(dims, axis);
  const scales = new Float32Array(channels.length);
  const q = new Int8Array(w.length);
  let maxError = 0;
  channels.forEach((indices, c) => {
    let maxAbs = 0;
    for (const i of indices) maxAbs = Math.max(maxAbs, Math.abs(w[i]!));
    const s = (scales[c] = maxAbs > 0 ? float16AtLeast(Math.fround(maxAbs / 127)) : 1);
    let residual = 0;
    const moves: { i: number; cost: number; step: number }[] = [];
    for (const i of indices) {
      const v = w[i]! / s;
      const n = Math.min(127, Math.max(-127, Math.sign(v) * Math.round(Math.abs(v))));
      q[i] = n;
      residual += n - v;
      const step = v > n ? 1 : v < n ? -1 : 0;
      if (step !== 0 && Math.abs(n + step) <= 127) moves.push({ i, cost: Math.abs(n + step - v) - Math.abs(n - v), step });
    }
    moves.sort((a, b) => a.cost - b.cost || a.i - b.i);
    for (const m of moves) {
      if (Math.abs(residual + m.step) >= Math.abs(residual)) continue;
      q[m.i] = q[m.i]! + m.step;
      residual += m.step;
    }
    for (const i of indices) maxError = Math.max(maxError, Math.abs(Math.fround(q[i]! * s) - w[i]!));
  });
  return { q, scales, maxError };
}

/**
 * float16 bits of `w`, rounded as int8 is: each value to the nearest float16, then, channel by channel, the
 * values nearest halfway between their two float16 neighbours (|error| as a fraction of the gap) move to
 * their other neighbour while that brings the channel's sum of errors Σ(stored − w) nearer zero. Each
 * value stays one of its two neighbours (within one float16 step). The channel's errors then cancel in its
 * output instead of adding up.
 */
export function roundFloat16PerChannel(w: Float32Array, dims: readonly number[], axis: number): { bits: Uint16Array; maxError: number } {
  const bits = new Uint16Array(w.length);
  let maxError = 0;
  for (const indices of channelIndices(dims, axis)) {
    let residual = 0;
    const moves: { i: number; bits: number; delta: number; cost: number }[] = [];
    for (const i of indices) {
      const h = float16Bits(w[i]!);
      const v = float16Value(h);
      bits[i] = h;
      residual += v - w[i]!;
      if (v === w[i]) continue;
      // the other neighbour: one step further from zero when v is nearer zero than w, one step nearer otherwise
      const other = Math.abs(v) < Math.abs(w[i]!) ? h + 1 : h - 1;
      const o = float16Value(other);
      if (!Number.isFinite(o)) continue;
      moves.push({ i, bits: other, delta: o - v, cost: (Math.abs(o - w[i]!) - Math.abs(v - w[i]!)) / Math.abs(o - v) });
    }
    moves.sort((a, b) => a.cost - b.cost || a.i - b.i);
    for (const m of moves) {
      if (Math.abs(residual + m.delta) >= Math.abs(residual)) continue;
      bits[m.i] = m.bits;
      residual += m.delta;
    }
    for (const i of indices) maxError = Math.max(maxError, Math.abs(float16Value(bits[i]!) - w[i]!));
  }
  return { bits, maxError };
}

/** float16 bytes (little-endian) of `w`, and the largest rounding error. */
function toFloat16(w: Float32Array): { raw: Uint8Array; maxError: number } {
  const raw = new Uint8Array(w.length * 2);
  const dv = new DataView(raw.buffer);
  let maxError = 0;
  for (let i = 0; i < w.length; i++) {
    const h = float16Bits(w[i]!);
    dv.setUint16(i * 2, h, true);
    maxError = Math.max(maxError, Math.abs(float16Value(h) - w[i]!));
  }
  return { raw, maxError };
}

function floatData(t: OnnxTypes.ITensorProto): Float32Array {
  if (t.rawData && t.rawData.length) return float32FromLE(t.rawData);
  return Float32Array.from(t.floatData ?? []);
}

/** Tensors (raw little-endian bytes) of equal dims but on `axis`, concatenated along it. */
function concatAlong(parts: readonly { raw: Uint8Array; dims: readonly number[] }[], axis: number, elementBytes: number): Uint8Array {
  const outer = parts[0]!.dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const blocks = parts.map((p) => p.raw.length / outer);
  const out = new Uint8Array(blocks.reduce((a, b) => a + b, 0) * outer);
  let at = 0;
  for (let o = 0; o < outer; o++) {
    parts.forEach((p, k) => {
      out.set(p.raw.subarray(o * blocks[k]!, (o + 1) * blocks[k]!), at);
      at += blocks[k]!;
    });
  }
  if (at !== out.length || out.length % elementBytes) throw new Error('concatAlong: uneven parts');
  return out;
}

/**
 * Weights of more elements than this are stored and restored alone (no Split): a Split would copy them once
 * more when onnxruntime folds it. On x1_0 this took session creation (CPU time, against fp32's) from 1.44x to
 * 1.27x for int8 and from 1.13x to 1.08x for fp16; the text-line model has no weight this large.
 */
const ALONE = 16384;

/** One stored tensor: initializers of one storage and equal shape but on the channel axis, and how to restore them. */
interface Group {
  kind: 'int8' | 'fp16';
  axis: number;
  members: { name: string; dims: number[]; encoded: Encoded }[];
}

/** One initializer as stored: its bytes (and int8 scales, float16 bytes), its restored values, its largest error. */
interface Encoded {
  raw: Uint8Array;
  scales?: Uint8Array;
  restored: Float32Array;
  maxError: number;
}

/**
 * `data` stored as `kind`: a weight (channels on `axis`) per channel, int8 or float16, with the rounding
 * that cancels each channel's errors; anything else (`axis` undefined) rounded to the nearest float16.
 */
function encode(kind: 'int8' | 'fp16', data: Float32Array, dims: readonly number[], axis: number | undefined): Encoded {
  if (kind === 'int8') {
    const { q, scales, maxError } = quantizePerChannel(data, dims, axis ?? 0);
    const inner = dims.slice((axis ?? 0) + 1).reduce((a, b) => a * b, 1);
    const restored = Float32Array.from(q, (v, i) => v * scales[Math.floor(i / inner) % scales.length]!);
    return { raw: new Uint8Array(q.buffer, q.byteOffset, q.byteLength), scales: toFloat16(scales).raw, restored, maxError };
  }
  if (axis === undefined) {
    const { raw, maxError } = toFloat16(data);
    const bits = new Uint16Array(raw.buffer, raw.byteOffset, data.length);
    return { raw, restored: Float32Array.from(bits, float16Value), maxError };
  }
  const { bits, maxError } = roundFloat16PerChannel(data, dims, axis);
  const raw = new Uint8Array(bits.length * 2);
  const dv = new DataView(raw.buffer);
  bits.forEach((h, i) => dv.setUint16(i * 2, h, true));
  return { raw, restored: Float32Array.from(bits, float16Value), maxError };
}

/** Gives names not used in the graph, shortest first. */
function namer(taken: Set<string>): (prefix: string) => string {
  const next = new Map<string, number>();
  return (prefix) => {
    let k = next.get(prefix) ?? 0;
    while (taken.has(`${prefix}${k.toString(36)}`)) k++;
    next.set(prefix, k + 1);
    const name = `${prefix}${k.toString(36)}`;
    taken.add(name);
    return name;
  };
}

interface Rewrite {
  initializers: OnnxTypes.ITensorProto[];
  /** The nodes that turn the stored weights back into float32, before every other node. */
  nodes: OnnxTypes.INodeProto[];
  /** Old initializer name → the name of the value that now holds it. */
  renamed: Map<string, string>;
  counts: { fp16: number; int8: number; fp32: number };
  maxError: number;
}

const castToFloat = (from: string, to: string): OnnxTypes.INodeProto => ({ opType: 'Cast', input: [from], output: [to], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: DT().FLOAT }] });

/** The nodes restoring one group, its stored initializers, and its largest weight error. */
function restoreGroup(group: Group, out: Rewrite, fresh: (prefix: string) => string): void {
  const { kind, axis, members } = group;
  const parts: { raw: Uint8Array; dims: number[] }[] = [];
  const scales: Uint8Array[] = [];
  for (const m of members) {
    parts.push({ raw: m.encoded.raw, dims: m.dims });
    if (m.encoded.scales) scales.push(m.encoded.scales);
    out.maxError = Math.max(out.maxError, m.encoded.maxError);
    out.counts[kind]++;
  }
  const sizes = members.map((m) => m.dims[axis] ?? 1);
  const dims = members[0]!.dims.map((d, i) => (i === axis ? sizes.reduce((a, b) => a + b, 0) : d));
  const stored = fresh('q');
  out.initializers.push({ name: stored, dims, dataType: kind === 'int8' ? DT().INT8 : DT().FLOAT16, rawData: parts.length === 1 ? parts[0]!.raw : concatAlong(parts, axis, kind === 'int8' ? 1 : 2) });
  const targets = members.map((m) => {
    const name = fresh('w');
    out.renamed.set(m.name, name);
    return name;
  });
  const split = members.length > 1;
  let value = kind === 'int8' || split ? fresh('c') : targets[0]!;
  out.nodes.push(castToFloat(stored, value));
  if (kind === 'int8') {
    const s = fresh('s');
    const sf = fresh('c');
    out.initializers.push({ name: s, dims: dims.map((d, i) => (i === axis ? d : 1)), dataType: DT().FLOAT16, rawData: scales.length === 1 ? scales[0]! : concatAlong(scales.map((raw) => ({ raw, dims: [raw.length / 2] })), 0, 2) });
    out.nodes.push(castToFloat(s, sf));
    const product = split ? fresh('m') : targets[0]!;
    out.nodes.push({ opType: 'Mul', input: [value, sf], output: [product] });
    value = product;
  }
  if (!split) return;
  const n = fresh('n');
  out.initializers.push({ name: n, dims: [sizes.length], dataType: DT().INT64, int64Data: sizes });
  out.nodes.push({ opType: 'Split', input: [value, n], output: targets, attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: axis }] });
}

type Uses = Map<string, { node: OnnxTypes.INodeProto; index: number }[]>;

/** One float initializer to store as int8 or float16: its channel axis when it is a weight. */
interface Planned {
  tensor: OnnxTypes.ITensorProto;
  dims: number[];
  data: Float32Array;
  kind: 'int8' | 'fp16' | undefined;
  role: number | undefined;
}

/** How each initializer is stored (`kind` undefined: as it is). */
function planStorage(graph: OnnxTypes.IGraphProto, storage: 'fp16' | 'int8', options: StoreWeightsOptions, uses: Uses, visible: Set<string>): Planned[] {
  const firstUse = new Map<string, number>();
  (graph.node ?? []).forEach((node, k) => (node.input ?? []).forEach((name) => firstUse.has(name) || firstUse.set(name, k)));
  const others = options.others ?? (storage === 'fp16' ? 'fp32' : 'late');
  const half = (name: string): boolean => others === 'fp16' || (others === 'late' && (firstUse.get(name) ?? 0) >= (graph.node ?? []).length / 3);
  return (graph.initializer ?? []).map((tensor) => {
    const name = tensor.name ?? '';
    const dims = (tensor.dims ?? []).map(Number);
    const float = tensor.dataType === DT().FLOAT && tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL;
    const data = float ? floatData(tensor) : new Float32Array(0);
    const role = channelAxis(uses.get(name) ?? [], dims);
    const largest = float ? data.reduce((a, v) => Math.max(a, Math.abs(v)), 0) : Infinity;
    // BatchNorm's running statistics stay float32 initializers: countModelParameters leaves them out by name
    const statistics = (uses.get(name) ?? []).some((u) => u.node.opType === 'BatchNormalization' && u.index >= 3);
    const kind = !float || visible.has(name) || statistics ? undefined
      : storage === 'int8' && role !== undefined && !options.keep?.includes(name) && largest / 127 <= FLOAT16_MAX ? 'int8'
      : ((storage === 'fp16' && role !== undefined) || (role === undefined && half(name))) && largest <= FLOAT16_MAX ? 'fp16'
      : undefined;
    return { tensor, dims, data, kind, role: kind === 'int8' || (kind === 'fp16' && storage === 'fp16') ? role : undefined };
  });
}

/**
 * Data-free bias correction: for each Conv/Gemm whose weight is stored rounded and whose input has an
 * expected value E[x] per channel, its bias minus the expected output error Σᵢ (stored − w)ᵢ·E[xᵢ] per
 * output channel, by bias name. The rounding errors then cancel in the output on average, as they do in
 * the training data the BatchNorm statistics describe.
 */
function correctedBiases(graph: OnnxTypes.IGraphProto, plan: readonly Planned[], encoded: ReadonlyMap<string, Encoded>, uses: Uses, statistics: ReadonlyMap<string, ChannelDistribution> | undefined): Map<string, Float32Array> {
  const means = expectedInputs(graph, statistics);
  const byName = new Map(plan.map((p) => [p.tensor.name ?? '', p]));
  const out = new Map<string, Float32Array>();
  for (const node of graph.node ?? []) {
    const [w, b] = [node.input?.[1] ?? '', node.input?.[2] ?? ''];
    const [weight, bias, mu, stored] = [byName.get(w), byName.get(b), means.get(w), encoded.get(w)];
    if (!weight || !bias || !mu || !stored || node.opType === 'MatMul' || uses.get(w)?.length !== 1 || uses.get(b)?.length !== 1) continue;
    const layout = linearLayout(node, weight.dims, mu.length);
    if (!layout || layout.outputs !== bias.data.length || bias.role !== undefined) continue;
    const error = new Float64Array(layout.outputs);
    for (let i = 0; i < weight.data.length; i++) error[layout.output(i)]! += (stored.restored[i]! - weight.data[i]!) * mu[layout.input(i)]!;
    out.set(b, Float32Array.from(bias.data, (v, c) => (Number.isFinite(error[c]) ? v - error[c]! : v)));
  }
  return out;
}

/** The graph's initializers stored as `storage`, with the nodes that restore them. */
function rewriteInitializers(graph: OnnxTypes.IGraphProto, storage: 'fp16' | 'int8', options: StoreWeightsOptions): Rewrite {
  const uses: Uses = new Map();
  for (const node of graph.node ?? []) (node.input ?? []).forEach((name, index) => uses.set(name, [...(uses.get(name) ?? []), { node, index }]));
  const visible = new Set([...(graph.input ?? []), ...(graph.output ?? [])].map((v) => v.name ?? ''));
  const taken = new Set<string>([...(graph.node ?? []).flatMap((n) => [...(n.input ?? []), ...(n.output ?? [])]), ...(graph.initializer ?? []).map((t) => t.name ?? ''), ...visible]);
  const fresh = namer(taken);
  const plan = planStorage(graph, storage, options, uses, visible);
  // the weights are rounded first, so that their nodes' biases can be corrected by the expected error
  const encoded = new Map<string, Encoded>();
  for (const p of plan) if (p.kind && p.role !== undefined) encoded.set(p.tensor.name ?? '', encode(p.kind, p.data, p.dims, p.role));
  const corrected = options.correctBiases === false ? new Map<string, Float32Array>() : correctedBiases(graph, plan, encoded, uses, options.statistics);
  const out: Rewrite = { initializers: [], nodes: [], renamed: new Map(), counts: { fp16: 0, int8: 0, fp32: 0 }, maxError: 0 };
  const groups = new Map<string, Group>();
  for (const { tensor: t, dims, data, kind, role } of plan) {
    const name = t.name ?? '';
    const bias = corrected.get(name);
    if (kind === undefined) {
      if (!visible.has(name) && name) out.renamed.set(name, fresh('w'));
      out.initializers.push({ ...t, name: out.renamed.get(name) ?? name, ...(bias ? { rawData: float32ToLE(bias), floatData: [] } : {}) });
      if (t.dataType === DT().FLOAT) out.counts.fp32++;
      continue;
    }
    // tensors of one storage and one shape but on the channel axis are stored as one; a scalar or a large tensor alone
    const axis = role ?? 0;
    const alone = dims.length === 0 || data.length > ALONE;
    const key = alone ? `${kind} alone ${name}` : `${kind} ${axis} ${dims.map((d, i) => (i === axis ? '*' : d)).join('x')}`;
    const group = groups.get(key) ?? { kind, axis, members: [] };
    group.members.push({ name, dims: dims.length ? dims : [1], encoded: encoded.get(name) ?? encode(kind, bias ?? data, dims, undefined) });
    groups.set(key, group);
  }
  for (const g of groups.values()) restoreGroup(g, out, fresh);
  return out;
}

/** A Conv attribute at the value ONNX gives it when absent (left out of stored models: their graph is smaller). */
function isConvDefault(a: OnnxTypes.IAttributeProto): boolean {
  const ints = (a.ints ?? []).map(Number);
  if (a.name === 'group') return Number(a.i) === 1;
  if (a.name === 'dilations' || a.name === 'strides') return ints.length > 0 && ints.every((v) => v === 1);
  if (a.name === 'pads') return ints.length > 0 && ints.every((v) => v === 0);
  return false;
}

/**
 * `bytes` (an ONNX model with float32 weights) with its weights stored as `storage`, the storage and the
 * largest weight error recorded in `metadata_props` (`pplcnet.weights`, `pplcnet.weights_max_error`). A
 * model already stored that way is returned as it is; one stored otherwise is refused (E_MODEL): convert
 * from the float32 model.
 */
export function storeWeights(bytes: Uint8Array, storage: WeightStorage, options: StoreWeightsOptions = {}): StoredWeights {
  if (!WEIGHT_STORAGES.includes(storage)) throw invalidOption('weights', `one of ${WEIGHT_STORAGES.join(', ')}`, storage, typeof storage === 'string' ? 'range' : 'type');
  const where = options.where ?? 'model';
  // the metadata is read without decoding the graph: fp32 (the default) costs nothing
  const props = readMetadataProps(bytes, where);
  const had = recordedStorage(props, where);
  const none = { fp16: 0, int8: 0, fp32: 0 };
  if (had === storage) return { bytes, storage, maxError: Number(props[METADATA_KEYS.weightsMaxError] ?? 0), tensors: none };
  if (had !== 'fp32') throw new PplcnetError('E_MODEL', `${where}: its weights are stored as ${had}; ${storage} storage is made from the fp32 model (convert or pull it again with --weights ${storage})`);
  if (storage === 'fp32') return { bytes, storage, maxError: 0, tensors: none };
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  if (!graph) throw new PplcnetError('E_FORMAT', `${where}: the ONNX file holds no graph`);

  const { initializers, nodes, renamed, counts, maxError } = rewriteInitializers(graph, storage, options);
  for (const node of graph.node ?? []) {
    node.input = (node.input ?? []).map((name) => renamed.get(name) ?? name);
    if (node.opType === 'Conv') node.attribute = (node.attribute ?? []).filter((a) => !isConvDefault(a));
  }
  graph.initializer = initializers;
  graph.node = [...nodes, ...(graph.node ?? [])];
  // value_info is shape annotation onnxruntime does not need: only the values pplcnet exposes keep theirs
  // (3.3 kB of the text-line model, which its float32 biases take in fp16 storage)
  graph.valueInfo = (graph.valueInfo ?? []).filter((v) => EXPOSED_VALUES.includes(v.name ?? ''));
  // an IR 3 model lists its initializers among the inputs: those are left as they are (not renamed, not stored)
  const entries = (model.metadataProps ?? []).filter((p) => p.key !== METADATA_KEYS.weights && p.key !== METADATA_KEYS.weightsMaxError);
  entries.push({ key: METADATA_KEYS.weights, value: storage }, { key: METADATA_KEYS.weightsMaxError, value: maxError.toPrecision(4) });
  model.metadataProps = entries;
  return { bytes: onnx.ModelProto.encode(model).finish(), storage, maxError, tensors: counts };
}

/** The onnx element types that hold parameters (integer tensors hold shapes and sizes, not weights). */
const PARAMETER_TYPES = new Set([1, 3, 10, 11, 16]); // FLOAT, INT8, FLOAT16, DOUBLE, BFLOAT16

/**
 * The parameters a model holds: the elements of its float initializers, and of its int8 weights, but not
 * the per-channel scales of int8 storage (the second input of a `Mul` whose first is a `Cast` of an int8
 * initializer, or the initializer cast to it), BatchNorm's running mean and variance, nor integer tensors
 * (shapes, split sizes). The same count for every storage of one model; with BatchNorm kept it is
 * PaddleClas's count, folded it is one value per channel less for each BatchNorm. `convert`, `build` and
 * `inspect` print this.
 */
export function countModelParameters(model: {
  readonly nodes: readonly { readonly opType: string; readonly inputs: readonly string[]; readonly outputs: readonly string[] }[];
  readonly initializers: readonly { readonly name: string; readonly dims: readonly number[]; readonly dataType: number }[];
}): number {
  const int8 = new Set(model.initializers.filter((t) => t.dataType === DT().INT8).map((t) => t.name));
  const castFrom = new Map(model.nodes.filter((n) => n.opType === 'Cast').map((n) => [n.outputs[0]!, n.inputs[0]!]));
  const excluded = new Set<string>();
  for (const n of model.nodes) {
    // BatchNorm's running mean and variance are statistics, not parameters (as PaddleClas counts)
    if (n.opType === 'BatchNormalization') n.inputs.slice(3, 5).forEach((name) => excluded.add(name));
    if (n.opType !== 'Mul' || !int8.has(castFrom.get(n.inputs[0]!) ?? '')) continue;
    excluded.add(n.inputs[1]!);
    excluded.add(castFrom.get(n.inputs[1]!) ?? '');
  }
  return model.initializers.filter((t) => PARAMETER_TYPES.has(t.dataType) && !excluded.has(t.name)).reduce((a, t) => a + t.dims.reduce((x, y) => x * y, 1), 0);
}
