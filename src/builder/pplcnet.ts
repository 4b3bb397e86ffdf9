/**
 * Emits a PP-LCNet ONNX graph from an architecture and named parameters. Nodes and initializers are named
 * after the PaddleClas parameter keys (`blocks5.3.dw_conv.conv.weight`), input `image` [N,3,H,W],
 * outputs `logits` and, by the head, `probs` (softmax), `scores` (sigmoid, multi-label) or nothing more.
 */
import { invalidOption } from '../errors.js';
import { HEADS, type ModelDescription, type ModelHead, metadataEntries } from '../metadata.js';
import { viewModel } from '../onnx/read.js';
import type { ChannelDistribution } from '../onnx/distribution.js';
import { type WeightStorage, WEIGHT_STORAGES, countModelParameters, storeWeights } from '../onnx/weight-storage.js';
import { VERSION } from '../version.js';
import {
  type Architecture,
  type ArchitectureOptions,
  type ConvBNLayer,
  type LayerPlan,
  countMultiplyAdds,
  countPaddleFlops,
  layerPlan,
  parameterShapes,
  resolveArchitecture,
} from './architecture.js';
import { type Dim, GraphBuilder, type Value } from './graph.js';
import { type ParameterMap, initParameters } from './init.js';
import * as op from './ops.js';

export const MIN_OPSET = 14;

/**
 * What follows fc: `softmax` (single-label, output `probs`), `sigmoid` (multi-label: PaddleClas's attribute
 * models, output `scores` with one independent probability per class) or `none` (`logits` only).
 */
export type Head = ModelHead;
export { HEADS } from '../metadata.js';

export const MAX_OPSET = 21;

/** How to emit the graph. */
export interface BuildOptions {
  /** Network input size: a number for square, or [height, width]. [inputSize=224] */
  inputSize?: number | readonly [number, number];
  /** ONNX opset, 14..21. [opset=17] */
  opset?: number;
  /** `'dynamic'` for a symbolic batch dimension `N`, or a fixed batch size. [batch='dynamic'] */
  batch?: 'dynamic' | number;
  /**
   * Also output `feature.blocks3` … `feature.blocks6`, `feature.gap` (the pooled stage-6 map, before the
   * last conv) and `embedding` (the fc input before dropout's inference scale). [features=false]
   */
  features?: boolean;
  /** What follows fc. [head='softmax'] */
  head?: Head;
  /**
   * Fold BatchNorm into the preceding convolutions and the dropout scale (1 − p) into fc. With `false`, the
   * graph keeps BatchNormalization nodes and a `dropout` Mul, one-to-one with Paddle's layers. [fold=true]
   */
  fold?: boolean;
  /** Parameters keyed by PaddleClas state_dict keys; when absent, initialized as PaddleClas does (seeded). */
  weights?: ParameterMap;
  /** Seed of the initialization when `weights` is absent. [seed=0] */
  seed?: number;
  /** Name, labels, preprocessing and provenance recorded in the model's metadata. */
  description?: ModelDescription;
  /**
   * How the file stores the weights: `fp16` (Conv and fc weights as float16, about half the size) or `int8`
   * (per output channel, about a quarter), turned back into float32 when onnxruntime loads the model, so
   * inference runs the float32 graph (see onnx/weight-storage.ts). ['fp32']
   */
  weightStorage?: WeightStorage;
}

/** What a build produced. */
export interface ModelSummary {
  readonly architecture: Architecture;
  readonly inputShape: readonly Dim[];
  readonly outputs: readonly { readonly name: string; readonly shape: readonly Dim[] }[];
  /**
   * The parameters the written model holds, counted as `inspect` counts them (countModelParameters): with
   * BatchNorm folded, one bias per channel where PaddleClas's tables count BatchNorm's scale and shift.
   */
  readonly parameters: number;
  /** Multiply-adds of one image at the input size (convs and fc). */
  readonly multiplyAdds: number;
  /** FLOPs of one image as Paddle's counter reports them (the convention of the published tables). */
  readonly paddleFlops: number;
  readonly opset: number;
  readonly folded: boolean;
  readonly bytes: number;
  /** How the weights are stored, and the largest |stored − float32| weight difference (0 for fp32). */
  readonly weights: { readonly storage: WeightStorage; readonly maxError: number };
}

export interface BuiltModel {
  readonly bytes: Uint8Array;
  readonly summary: ModelSummary;
}

/** Resolve and check build options. */
export function resolveBuildOptions(options: BuildOptions): {
  inputSize: [number, number];
  opset: number;
  batch: Dim;
  features: boolean;
  fold: boolean;
  seed: number;
  head: Head;
  weightStorage: WeightStorage;
} {
  const size = options.inputSize ?? 224;
  const inputSize: [number, number] = typeof size === 'number' ? [size, size] : [size[0], size[1]];
  for (const d of inputSize) {
    if (!Number.isInteger(d) || d < 1 || d > 16384) throw invalidOption('inputSize', 'a positive integer size up to 16384', size);
  }
  const opset = options.opset ?? 17;
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw invalidOption('opset', `an integer from ${MIN_OPSET} to ${MAX_OPSET}`, opset);
  }
  const b = options.batch ?? 'dynamic';
  if (b !== 'dynamic' && (!Number.isInteger(b) || b < 1)) throw invalidOption('batch', "'dynamic' or a positive integer", b);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw invalidOption('seed', 'an integer from 0 to 2^32-1', seed);
  const head = options.head ?? 'softmax';
  if (!HEADS.includes(head)) throw invalidOption('head', `one of ${HEADS.join(', ')}`, head, typeof head === 'string' ? 'range' : 'type');
  const weightStorage = options.weightStorage ?? 'fp32';
  if (!WEIGHT_STORAGES.includes(weightStorage)) throw invalidOption('weightStorage', `one of ${WEIGHT_STORAGES.join(', ')}`, weightStorage, typeof weightStorage === 'string' ? 'range' : 'type');
  return { inputSize, opset, batch: b === 'dynamic' ? 'N' : b, features: options.features ?? false, fold: options.fold ?? true, seed, head, weightStorage };
}

/** Fails unless every parameter the architecture needs is there with its number of values. */
function checkWeights(parameterList: readonly [string, number[]][], weights: ParameterMap): void {
  for (const [key, shape] of parameterList) {
    const w = weights.get(key);
    const n = shape.reduce((a, c) => a * c, 1);
    if (!w) throw new RangeError(`weights: parameter '${key}' ${JSON.stringify(shape)} is missing`);
    if (w.length !== n) throw new RangeError(`weights: parameter '${key}' should hold ${n} values ${JSON.stringify(shape)} but holds ${w.length}`);
  }
}

/** The graph being emitted, with what every layer reads: the architecture, the options and the weights. */
class Emitter {
  readonly g = new GraphBuilder();
  private relu6Bounds: [Value, Value] | undefined;
  /** Each folded Conv's output distribution per channel over the training data: its BatchNorm's N(shift, scale²). */
  readonly statistics = new Map<string, ChannelDistribution>();
  private readonly shapes: Map<string, number[]>;

  constructor(
    readonly arch: Architecture,
    readonly opts: ReturnType<typeof resolveBuildOptions>,
    private readonly weights: ParameterMap,
    parameterList: readonly [string, number[]][],
  ) {
    this.shapes = new Map(parameterList);
  }

  param(key: string): Float32Array {
    return this.weights.get(key)!;
  }

  /** An initializer named after its parameter key: the parameter itself, or `data` computed from it. */
  init(key: string, data?: Float32Array, shape?: number[]): Value {
    return this.g.initializer(key, shape ?? this.shapes.get(key)!, data ?? this.param(key));
  }

  /** The architecture's activation. */
  activation(name: string, x: Value): Value {
    const g = this.g;
    switch (this.arch.act) {
      case 'hardswish':
        return op.hardSwish(g, name, x);
      case 'relu':
        return op.relu(g, name, x);
      case 'relu6':
        this.relu6Bounds ??= [g.initializer('relu6.min', [], Float32Array.of(0)), g.initializer('relu6.max', [], Float32Array.of(6))];
        return op.clip(g, name, x, this.relu6Bounds[0], this.relu6Bounds[1]);
    }
  }

  /** Conv + BatchNorm (folded into the conv, or kept) + activation. */
  convBN(l: ConvBNLayer, x: Value): Value {
    const { g, arch } = this;
    const pad = Math.floor((l.kernel - 1) / 2);
    const attrs = { strides: l.stride, pads: [pad, pad, pad, pad] as const, group: l.groups };
    let y: Value;
    if (this.opts.fold) {
      const p = (name: string): Float32Array => this.param(`${l.key}.${name}`);
      const [w, b] = foldBatchNorm(p('conv.weight'), p('bn.weight'), p('bn.bias'), p('bn._mean'), p('bn._variance'), arch.bnEpsilon);
      y = op.conv(g, `${l.key}.conv`, x, this.init(`${l.key}.conv.weight`, w), this.init(`${l.key}.conv.bias`, b, [l.outChannels]), attrs);
      // a BatchNorm still at its initial running statistics (mean 0, variance 1) has seen no data: it tells nothing
      if (p('bn._mean').some((v) => v !== 0) || p('bn._variance').some((v) => v !== 1)) this.statistics.set(y.name, { mean: p('bn.bias'), std: p('bn.weight') });
    } else {
      y = op.conv(g, `${l.key}.conv`, x, this.init(`${l.key}.conv.weight`), undefined, attrs);
      const bn = (p: string): Value => this.init(`${l.key}.bn.${p}`);
      y = op.batchNormalization(g, `${l.key}.bn`, y, bn('weight'), bn('bias'), bn('_mean'), bn('_variance'), { epsilon: arch.bnEpsilon });
    }
    return this.activation(`${l.key}.act`, y);
  }

  /** Squeeze-and-excitation: x scaled per channel by a gate computed from its average. */
  squeezeExcite(k: string, x: Value): Value {
    const { g, arch } = this;
    let s = op.globalAveragePool(g, `${k}.avg_pool`, x);
    s = op.conv(g, `${k}.conv1`, s, this.init(`${k}.conv1.weight`), this.init(`${k}.conv1.bias`));
    s = op.relu(g, `${k}.relu`, s);
    s = op.conv(g, `${k}.conv2`, s, this.init(`${k}.conv2.weight`), this.init(`${k}.conv2.bias`));
    s = op.hardSigmoid(g, `${k}.hardsigmoid`, s, { alpha: arch.hardSigmoidSlope, beta: arch.hardSigmoidOffset });
    return op.mul(g, `${k}.mul`, x, s);
  }

  /** The stem and the depthwise-separable blocks; resolves to the last map and each stage's output. */
  backbone(plan: LayerPlan, image: Value): { x: Value; stageOut: Map<string, Value> } {
    let x = this.convBN(plan.stem, image);
    const stageOut = new Map<string, Value>();
    for (const b of plan.blocks) {
      x = this.convBN(b.dw, x);
      if (b.se) x = this.squeezeExcite(b.se.key, x);
      x = this.convBN(b.pw, x);
      stageOut.set(b.stage, x);
    }
    return { x, stageOut };
  }

  /**
   * Pooling, the last conv with dropout's inference scale (folded into fc, or a Mul), fc, and the outputs:
   * logits, the head's probabilities, and the features when asked for.
   */
  head(plan: LayerPlan, stages: { x: Value; stageOut: Map<string, Value> }): Value[] {
    const { g, arch, opts } = this;
    const gap = op.globalAveragePool(g, 'avg_pool', stages.x);
    let x = gap;
    let fcWeight = this.param('fc.weight');
    let dropoutScale: number | undefined;
    if (plan.lastConv) {
      x = op.conv(g, 'last_conv', x, this.init('last_conv.weight'), undefined);
      x = this.activation('act', x);
      const keep = 1 - arch.dropoutProb;
      if (keep !== 1) {
        if (opts.fold) fcWeight = scaled(fcWeight, keep);
        else dropoutScale = keep;
      }
    }
    // the embedding is the fc input before dropout's inference scale, folded or not
    const embedding = op.flatten(g, 'flatten', x, { axis: 1 });
    const fcInput = dropoutScale === undefined ? embedding : op.mul(g, 'dropout', embedding, g.initializer('dropout.scale', [], Float32Array.of(dropoutScale)));
    const fc = op.gemm(g, 'fc', fcInput, this.init('fc.weight', fcWeight), this.init('fc.bias'));
    const logits = op.identity(g, 'logits', fc);
    const outputs: Value[] = [logits];
    if (opts.head === 'softmax') outputs.push(op.softmax(g, 'probs', logits, { axis: 1 }));
    if (opts.head === 'sigmoid') outputs.push(op.sigmoid(g, 'scores', logits));
    if (opts.features) {
      for (const stage of ['blocks3', 'blocks4', 'blocks5', 'blocks6']) outputs.push(op.identity(g, `feature.${stage}`, stages.stageOut.get(stage)!));
      outputs.push(op.identity(g, 'feature.gap', gap));
      outputs.push(op.identity(g, 'embedding', embedding));
    }
    return outputs;
  }
}

/** Build a PP-LCNet ONNX model. */
export function buildPPLCNet(architecture: ArchitectureOptions | Architecture, options: BuildOptions = {}): BuiltModel {
  const arch = resolveArchitecture(architecture);
  const opts = resolveBuildOptions(options);
  // one layer plan for the whole build: parameters, graph and counts all read it
  const plan = layerPlan(arch);
  const parameterList = parameterShapes(arch, plan);
  const weights = options.weights ?? initParameters(arch, opts.seed, parameterList);
  checkWeights(parameterList, weights);
  const e = new Emitter(arch, opts, weights, parameterList);
  const [h, w] = opts.inputSize;
  const image = e.g.input('image', [opts.batch, 3, h, w]);
  const outputs = e.head(plan, e.backbone(plan, image));
  for (const v of outputs) e.g.output(v);

  const description = options.description ?? {};
  const fp32 = e.g.toModel({
    opset: opts.opset,
    producerName: 'pplcnet',
    producerVersion: VERSION,
    graphName: description.name ?? 'PPLCNet',
    docString: `PP-LCNet x${arch.scale} (${arch.classNum} classes)${opts.fold ? ', BatchNorm folded' : ''}`,
    metadata: metadataEntries(arch, opts.inputSize, description, opts.head),
  });
  const stored = storeWeights(fp32, opts.weightStorage, { where: description.name ?? 'PPLCNet', statistics: e.statistics });
  const bytes = stored.bytes;
  return {
    bytes,
    summary: {
      architecture: arch,
      inputShape: image.shape,
      outputs: outputs.map((v) => ({ name: v.name, shape: v.shape })),
      parameters: countModelParameters(viewModel(bytes)),
      multiplyAdds: countMultiplyAdds(arch, opts.inputSize, plan),
      paddleFlops: countPaddleFlops(arch, opts.inputSize, plan),
      opset: opts.opset,
      folded: opts.fold,
      bytes: bytes.length,
      weights: { storage: stored.storage, maxError: stored.maxError },
    },
  };
}

function scaled(w: Float32Array, k: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = w[i]! * k;
  return out;
}

/**
 * Fold inference BatchNorm into a bias-free conv: w' = w·γ/√(var+eps), b' = β − mean·γ/√(var+eps),
 * computed in float64 and rounded once to float32.
 */
export function foldBatchNorm(
  weight: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  eps: number,
): [Float32Array, Float32Array] {
  const out = gamma.length;
  const per = weight.length / out;
  const w = new Float32Array(weight.length);
  const b = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    const f = gamma[o]! / Math.sqrt(variance[o]! + eps);
    for (let i = 0; i < per; i++) w[o * per + i] = weight[o * per + i]! * f;
    b[o] = beta[o]! - mean[o]! * f;
  }
  return [w, b];
}
