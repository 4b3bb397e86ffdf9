/**
 * How a model stores its weights: `fp32` as built; `fp16`, the weights of Conv, Gemm and MatMul as float16
 * behind a `Cast` to float; `int8`, those weights quantized per output channel (symmetric, one float32 scale
 * per channel) behind `Cast` to float and `Mul` by the scales. Biases and the other small initializers stay
 * float32 unless asked (`others`). Only storage changes: every op that turns the weights back into float32 reads constants
 * only, so onnxruntime folds it into an initializer when the session is created and the optimized graph is
 * the float32 graph (the arithmetic stays float32). `Cast`+`Mul` rather than `DequantizeLinear`:
 * onnxruntime keeps a DequantizeLinear that feeds a Conv unfolded for its QDQ fusions.
 */
import { PplcnetError, invalidOption } from '../errors.js';
import { METADATA_KEYS } from '../metadata.js';
import { FLOAT16_MAX, float16Bits, float16Value } from '../util/float16.js';
import { float32FromLE, float32ToLE } from '../util/float32.js';
import { readMetadataProps } from './metadata-props.js';
import { onnx, type OnnxTypes } from './proto.js';

/** How weights are stored in the file. */
export type WeightStorage = 'fp32' | 'fp16' | 'int8';
export const WEIGHT_STORAGES: readonly WeightStorage[] = Object.freeze(['fp32', 'fp16', 'int8']);

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
   * stored. float32 by default: on the text-line model, float16 biases more than doubled the largest
   * probability change of fp16 storage (7.8e-3 against 3.2e-3) for a few hundred bytes. ['fp32']
   */
  readonly others?: 'fp32' | 'fp16';
  /** int8 only: weights (initializer names) not to quantize, stored as `others` says. [none] */
  readonly keep?: readonly string[];
  /** Names the model in error messages. ['model'] */
  readonly where?: string;
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

/** Per-channel symmetric int8: q = round(w / s), s = max|w| / 127 per channel (1 for an all-zero channel). */
export function quantizePerChannel(w: Float32Array, dims: readonly number[], axis: number): { q: Int8Array; scales: Float32Array; maxError: number } {
  const channels = dims[axis]!;
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const channelOf = (i: number): number => Math.floor(i / inner) % channels;
  const maxAbs = new Float64Array(channels);
  for (let i = 0; i < w.length; i++) maxAbs[channelOf(i)] = Math.max(maxAbs[channelOf(i)]!, Math.abs(w[i]!));
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) scales[c] = maxAbs[c]! > 0 ? Math.fround(maxAbs[c]! / 127) : 1;
  const q = new Int8Array(w.length);
  let maxError = 0;
  for (let i = 0; i < w.length; i++) {
    const s = scales[channelOf(i)]!;
    const v = w[i]! / s;
    const r = Math.min(127, Math.max(-127, Math.sign(v) * Math.round(Math.abs(v))));
    q[i] = r;
    maxError = Math.max(maxError, Math.abs(Math.fround(r * s) - w[i]!));
  }
  return { q, scales, maxError };
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

interface Rewrite {
  initializers: OnnxTypes.ITensorProto[];
  /** The Cast and Mul nodes that turn the stored weights back into float32, before every other node. */
  nodes: OnnxTypes.INodeProto[];
  /** Initializer names that are now computed. */
  converted: Set<string>;
  counts: { fp16: number; int8: number; fp32: number };
  maxError: number;
}

/** The graph's initializers stored as `storage`, with the nodes that restore them. */
function rewriteInitializers(graph: OnnxTypes.IGraphProto, storage: 'fp16' | 'int8', options: StoreWeightsOptions, where: string): Rewrite {
  const uses = new Map<string, { node: OnnxTypes.INodeProto; index: number }[]>();
  for (const node of graph.node ?? []) (node.input ?? []).forEach((name, index) => uses.set(name, [...(uses.get(name) ?? []), { node, index }]));
  const taken = new Set<string>([...(graph.node ?? []).flatMap((n) => [n.name ?? '', ...(n.output ?? [])]), ...(graph.initializer ?? []).map((t) => t.name ?? '')]);
  const fresh = (name: string): string => {
    if (taken.has(name)) throw new PplcnetError('E_MODEL', `${where}: cannot store its weights: the name '${name}' is already used in the graph`);
    taken.add(name);
    return name;
  };
  const initializers: OnnxTypes.ITensorProto[] = [];
  const nodes: OnnxTypes.INodeProto[] = [];
  const converted = new Set<string>();
  const counts = { fp16: 0, int8: 0, fp32: 0 };
  let maxError = 0;
  const cast = (from: string, to: string): void => {
    nodes.push({ name: fresh(`${to}.cast`), opType: 'Cast', input: [from], output: [to], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: DT().FLOAT }] });
  };
  for (const t of graph.initializer ?? []) {
    const name = t.name ?? '';
    const dims = (t.dims ?? []).map(Number);
    if (t.dataType !== DT().FLOAT || t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
      initializers.push(t);
      counts.fp32 += t.dataType === DT().FLOAT ? 1 : 0;
      continue;
    }
    const w = floatData(t);
    const role = channelAxis(uses.get(name) ?? [], dims);
    const axis = storage === 'int8' && !options.keep?.includes(name) ? role : undefined;
    if (axis !== undefined) {
      const { q, scales, maxError: e } = quantizePerChannel(w, dims, axis);
      const qName = fresh(`${name}.int8`);
      const sName = fresh(`${name}.scale`);
      const scaleDims = dims.map((d, i) => (i === axis ? d : 1));
      initializers.push({ name: qName, dims, dataType: DT().INT8, rawData: new Uint8Array(q.buffer, q.byteOffset, q.byteLength) });
      initializers.push({ name: sName, dims: scaleDims, dataType: DT().FLOAT, rawData: float32ToLE(scales) });
      const castOut = fresh(`${name}.int8.float`);
      cast(qName, castOut);
      nodes.push({ name: fresh(`${name}.dequantize`), opType: 'Mul', input: [castOut, sName], output: [name] });
      converted.add(name);
      counts.int8++;
      maxError = Math.max(maxError, e);
      continue;
    }
    const half = (storage === 'fp16' && role !== undefined) || options.others === 'fp16';
    if (!half || w.some((v) => Math.abs(v) > FLOAT16_MAX)) {
      initializers.push(t);
      counts.fp32++;
      continue;
    }
    const { raw, maxError: e } = toFloat16(w);
    const hName = fresh(`${name}.fp16`);
    initializers.push({ name: hName, dims, dataType: DT().FLOAT16, rawData: raw });
    cast(hName, name);
    converted.add(name);
    counts.fp16++;
    maxError = Math.max(maxError, e);
  }
  return { initializers, nodes, converted, counts, maxError };
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

  const { initializers, nodes, converted, counts, maxError } = rewriteInitializers(graph, storage, options, where);
  graph.initializer = initializers;
  graph.node = [...nodes, ...(graph.node ?? [])];
  // an IR 3 model lists its initializers among the inputs: the converted ones are computed now
  graph.input = (graph.input ?? []).filter((i) => !converted.has(i.name ?? ''));
  const entries = (model.metadataProps ?? []).filter((p) => p.key !== METADATA_KEYS.weights && p.key !== METADATA_KEYS.weightsMaxError);
  entries.push({ key: METADATA_KEYS.weights, value: storage }, { key: METADATA_KEYS.weightsMaxError, value: maxError.toPrecision(4) });
  model.metadataProps = entries;
  return { bytes: onnx.ModelProto.encode(model).finish(), storage, maxError, tensors: counts };
}
