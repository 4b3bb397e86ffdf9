/**
 * PP-LCNet as PaddleClas defines it (`ppcls/arch/backbone/legendary_models/pp_lcnet.py`): the options,
 * their defaults and checks, and the layer plan every other part of the project reads.
 */
import { invalidOption } from '../errors.js';

/** Activation used by every ConvBN layer and after the last conv. */
export type Activation = 'hardswish' | 'relu' | 'relu6';
export const ACTIVATIONS: readonly Activation[] = Object.freeze(['hardswish', 'relu', 'relu6']);

/** One stride entry: a number for both axes, or an `[h, w]` pair (PaddleOCR's text-line models). */
export type StrideEntry = number | readonly [number, number];

/** Architecture options, named as in PaddleClas. Every field is optional; defaults are PaddleClas's. */
export interface ArchitectureOptions {
  /** Width multiplier, any positive number. Published: 0.25 0.35 0.5 0.75 1.0 1.5 2.0 2.5. [scale=1.0] */
  scale?: number;
  /** Number of classes. [classNum=1000] */
  classNum?: number;
  /** Width of the 1×1 conv after pooling. [classExpand=1280] */
  classExpand?: number;
  /** Dropout probability; at inference Paddle's `downscale_in_infer` multiplies by (1 − p). [dropoutProb=0.2] */
  dropoutProb?: number;
  /** Whether the `last_conv` head layer exists; when false, fc reads the pooled stage-6 features. [useLastConv=true] */
  useLastConv?: boolean;
  /** Activation of the ConvBN layers and the head. [act='hardswish'] */
  act?: Activation;
  /**
   * Five strides: entry 0 for conv1, entries 1..4 for the first block of blocks3..blocks6.
   * Each is 1, 2, or an `[h, w]` pair of them. [strideList=[2,2,2,2,2]]
   */
  strideList?: readonly StrideEntry[];
  /** Paddle's `nn.Hardsigmoid` in the SE module: slope·x + offset, clipped to [0, 1]. [hardSigmoidSlope=0.1666667] */
  hardSigmoidSlope?: number;
  /** [hardSigmoidOffset=0.5] */
  hardSigmoidOffset?: number;
  /** BatchNorm epsilon. [bnEpsilon=1e-5] */
  bnEpsilon?: number;
}

/** Options with every default applied and checked. */
export interface Architecture {
  readonly scale: number;
  readonly classNum: number;
  readonly classExpand: number;
  readonly dropoutProb: number;
  readonly useLastConv: boolean;
  readonly act: Activation;
  readonly strideList: readonly StrideEntry[];
  readonly hardSigmoidSlope: number;
  readonly hardSigmoidOffset: number;
  readonly bnEpsilon: number;
}

/** PaddleClas's NET_CONFIG: per stage, blocks of [kernel, in, out, stride, use_se] at scale 1. */
export const NET_CONFIG: Readonly<Record<string, readonly (readonly [number, number, number, number, boolean])[]>> = Object.freeze({
  blocks2: [[3, 16, 32, 1, false]],
  blocks3: [[3, 32, 64, 2, false], [3, 64, 64, 1, false]],
  blocks4: [[3, 64, 128, 2, false], [3, 128, 128, 1, false]],
  blocks5: [
    [3, 128, 256, 2, false],
    [5, 256, 256, 1, false],
    [5, 256, 256, 1, false],
    [5, 256, 256, 1, false],
    [5, 256, 256, 1, false],
    [5, 256, 256, 1, false],
  ],
  blocks6: [[5, 256, 512, 2, true], [5, 512, 512, 1, true]],
});

export const STAGES = Object.freeze(['blocks2', 'blocks3', 'blocks4', 'blocks5', 'blocks6'] as const);

/** PaddleClas `make_divisible(v, 8)`. */
export function makeDivisible(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor(Math.trunc(v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

export const DEFAULT_HARDSIGMOID_SLOPE = 0.1666667;

function positiveInteger(name: string, v: unknown): number {
  if (typeof v !== 'number') throw invalidOption(name, 'a positive integer', v, 'type');
  if (!Number.isInteger(v) || v < 1) throw invalidOption(name, 'a positive integer', v);
  return v;
}

function finiteNumber(name: string, v: unknown, expected: string, ok: (x: number) => boolean): number {
  if (typeof v !== 'number') throw invalidOption(name, expected, v, 'type');
  if (!Number.isFinite(v) || !ok(v)) throw invalidOption(name, expected, v);
  return v;
}

function strideEntry(i: number, v: unknown): StrideEntry {
  const expected = 'a stride of 1 or 2, or an [h, w] pair of them';
  const one = (x: unknown): x is 1 | 2 => x === 1 || x === 2;
  if (one(v)) return v;
  if (Array.isArray(v) && v.length === 2 && one(v[0]) && one(v[1])) return Object.freeze([v[0], v[1]] as const);
  throw invalidOption(`strideList[${i}]`, expected, v, typeof v === 'number' || Array.isArray(v) ? 'range' : 'type');
}

/** Apply PaddleClas's defaults and check every option; throws TypeError / RangeError naming the option. */
export function resolveArchitecture(options: ArchitectureOptions = {}): Architecture {
  if (options === null || typeof options !== 'object') throw invalidOption('options', 'an object', options, 'type');
  const scale = finiteNumber('scale', options.scale ?? 1.0, 'a positive number', (x) => x > 0);
  const classNum = positiveInteger('classNum', options.classNum ?? 1000);
  const classExpand = positiveInteger('classExpand', options.classExpand ?? 1280);
  const dropoutProb = finiteNumber('dropoutProb', options.dropoutProb ?? 0.2, 'a number in [0, 1)', (x) => x >= 0 && x < 1);
  const useLastConv = options.useLastConv ?? true;
  if (typeof useLastConv !== 'boolean') throw invalidOption('useLastConv', 'a boolean', useLastConv, 'type');
  const act = options.act ?? 'hardswish';
  if (!ACTIVATIONS.includes(act)) {
    throw invalidOption('act', `one of ${ACTIVATIONS.join(', ')}`, act, typeof act === 'string' ? 'range' : 'type');
  }
  const strides = options.strideList ?? [2, 2, 2, 2, 2];
  if (!Array.isArray(strides)) throw invalidOption('strideList', 'an array of 5 strides', strides, 'type');
  if (strides.length !== 5) throw invalidOption('strideList', 'an array of exactly 5 strides', strides);
  const strideList = Object.freeze(strides.map((s, i) => strideEntry(i, s)));
  const hardSigmoidSlope = finiteNumber('hardSigmoidSlope', options.hardSigmoidSlope ?? DEFAULT_HARDSIGMOID_SLOPE, 'a finite number', () => true);
  const hardSigmoidOffset = finiteNumber('hardSigmoidOffset', options.hardSigmoidOffset ?? 0.5, 'a finite number', () => true);
  const bnEpsilon = finiteNumber('bnEpsilon', options.bnEpsilon ?? 1e-5, 'a positive number', (x) => x > 0);
  return Object.freeze({
    scale,
    classNum,
    classExpand,
    dropoutProb,
    useLastConv,
    act,
    strideList,
    hardSigmoidSlope,
    hardSigmoidOffset,
    bnEpsilon,
  });
}

/** A stride entry as an (h, w) pair. */
export function stridePair(s: StrideEntry): [number, number] {
  return typeof s === 'number' ? [s, s] : [s[0], s[1]];
}

/** A Conv2D + BatchNorm2D + activation layer, named by its PaddleClas key prefix (`blocks5.3.dw_conv`). */
export interface ConvBNLayer {
  readonly key: string;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernel: number;
  readonly stride: readonly [number, number];
  readonly groups: number;
}

/** The squeeze-and-excitation module of a block: c → c/4 → c, both 1×1 convs with bias. */
export interface SELayer {
  readonly key: string;
  readonly channels: number;
  readonly reduced: number;
}

export interface Block {
  readonly key: string;
  readonly stage: (typeof STAGES)[number];
  readonly dw: ConvBNLayer;
  readonly se?: SELayer;
  readonly pw: ConvBNLayer;
}

/** Every layer of a PP-LCNet, in forward order. */
export interface LayerPlan {
  readonly stem: ConvBNLayer;
  readonly blocks: readonly Block[];
  /** 1×1 conv without bias, present when `useLastConv`. */
  readonly lastConv?: { readonly key: 'last_conv'; readonly inChannels: number; readonly outChannels: number };
  /** The classifier; Paddle stores its weight as [in, out]. */
  readonly fc: { readonly key: 'fc'; readonly inFeatures: number; readonly outFeatures: number };
}

export function layerPlan(arch: Architecture): LayerPlan {
  const s = arch.scale;
  const stem: ConvBNLayer = {
    key: 'conv1',
    inChannels: 3,
    outChannels: makeDivisible(16 * s),
    kernel: 3,
    stride: stridePair(arch.strideList[0]!),
    groups: 1,
  };
  const blocks: Block[] = [];
  STAGES.forEach((stage, stageIndex) => {
    NET_CONFIG[stage]!.forEach(([k, inC, outC, stride, useSe], i) => {
      const key = `${stage}.${i}`;
      const cin = makeDivisible(inC * s);
      const cout = makeDivisible(outC * s);
      // stride_list[1..4] replaces the stride of the first block of blocks3..blocks6.
      const st = i === 0 && stageIndex >= 1 ? stridePair(arch.strideList[stageIndex]!) : stridePair(stride);
      blocks.push({
        key,
        stage,
        dw: { key: `${key}.dw_conv`, inChannels: cin, outChannels: cin, kernel: k, stride: st, groups: cin },
        ...(useSe ? { se: { key: `${key}.se`, channels: cin, reduced: Math.floor(cin / 4) } } : {}),
        pw: { key: `${key}.pw_conv`, inChannels: cin, outChannels: cout, kernel: 1, stride: [1, 1], groups: 1 },
      });
    });
  });
  const lastWidth = makeDivisible(NET_CONFIG.blocks6!.at(-1)![2] * s);
  return {
    stem,
    blocks,
    ...(arch.useLastConv ? { lastConv: { key: 'last_conv' as const, inChannels: lastWidth, outChannels: arch.classExpand } } : {}),
    fc: { key: 'fc', inFeatures: arch.useLastConv ? arch.classExpand : lastWidth, outFeatures: arch.classNum },
  };
}

/** Is this parameter a trainable one (not a BatchNorm running statistic)? */
export function isTrainable(key: string): boolean {
  return !key.endsWith('._mean') && !key.endsWith('._variance');
}

/**
 * Every parameter of the PaddleClas `state_dict`, in its order, with its shape. fc.weight is [in, out].
 * `plan`: the architecture's layer plan, when the caller has it already (as every function below takes it).
 */
export function parameterShapes(arch: Architecture, plan: LayerPlan = layerPlan(arch)): [string, number[]][] {
  const out: [string, number[]][] = [];
  const convBN = (l: ConvBNLayer): void => {
    out.push([`${l.key}.conv.weight`, [l.outChannels, l.inChannels / l.groups, l.kernel, l.kernel]]);
    for (const p of ['weight', 'bias', '_mean', '_variance']) out.push([`${l.key}.bn.${p}`, [l.outChannels]]);
  };
  convBN(plan.stem);
  for (const b of plan.blocks) {
    convBN(b.dw);
    if (b.se) {
      out.push([`${b.se.key}.conv1.weight`, [b.se.reduced, b.se.channels, 1, 1]]);
      out.push([`${b.se.key}.conv1.bias`, [b.se.reduced]]);
      out.push([`${b.se.key}.conv2.weight`, [b.se.channels, b.se.reduced, 1, 1]]);
      out.push([`${b.se.key}.conv2.bias`, [b.se.channels]]);
    }
    convBN(b.pw);
  }
  if (plan.lastConv) out.push(['last_conv.weight', [plan.lastConv.outChannels, plan.lastConv.inChannels, 1, 1]]);
  out.push(['fc.weight', [plan.fc.inFeatures, plan.fc.outFeatures]]);
  out.push(['fc.bias', [plan.fc.outFeatures]]);
  return out;
}

/** Trainable parameters (what PaddleClas's tables count): everything but BatchNorm running statistics. */
export function countParameters(arch: Architecture, plan: LayerPlan = layerPlan(arch)): number {
  let n = 0;
  for (const [key, shape] of parameterShapes(arch, plan)) if (isTrainable(key)) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/** Output size of a conv with symmetric padding (k − 1)/2. */
function convOut(size: number, kernel: number, stride: number): number {
  const pad = Math.floor((kernel - 1) / 2);
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}

/** What a walk over the layer plan reports, with the feature-map size each layer outputs. */
interface PlanVisitor {
  convBN?(layer: ConvBNLayer, h: number, w: number): void;
  /** An SE module over an h × w map (the depthwise conv's output). */
  se?(layer: SELayer, h: number, w: number): void;
  block?(block: Block, h: number, w: number): void;
}

/** Walk the layers of one h × w image in forward order; returns the plan and the final map size. */
function walkPlan(plan: LayerPlan, input: readonly [number, number], v: PlanVisitor): { plan: LayerPlan; h: number; w: number } {
  let [h, w] = input;
  const conv = (l: ConvBNLayer): void => {
    h = convOut(h, l.kernel, l.stride[0]);
    w = convOut(w, l.kernel, l.stride[1]);
    v.convBN?.(l, h, w);
  };
  conv(plan.stem);
  for (const b of plan.blocks) {
    conv(b.dw);
    if (b.se) v.se?.(b.se, h, w);
    conv(b.pw);
    v.block?.(b, h, w);
  }
  return { plan, h, w };
}

/** Feature-map size (c, h, w) after the stem and after each stage, for an input of h × w. */
export function stageShapes(arch: Architecture, input: readonly [number, number], plan: LayerPlan = layerPlan(arch)): Record<string, [number, number, number]> {
  const out: Record<string, [number, number, number]> = {};
  walkPlan(plan, input, {
    convBN: (l, h, w) => {
      if (l.key === 'conv1') out.conv1 = [l.outChannels, h, w];
    },
    block: (b, h, w) => {
      out[b.stage] = [b.pw.outChannels, h, w];
    },
  });
  return out;
}

/** Multiply-adds of one image of h × w (convs, SE convs, last conv and fc; not BN, activations or pooling). */
export function countMultiplyAdds(arch: Architecture, input: readonly [number, number], plan: LayerPlan = layerPlan(arch)): number {
  let macs = 0;
  walkPlan(plan, input, {
    convBN: (l, h, w) => {
      macs += h * w * l.outChannels * (l.inChannels / l.groups) * l.kernel * l.kernel;
    },
    se: (se) => {
      macs += 2 * se.channels * se.reduced;
    },
  });
  if (plan.lastConv) macs += plan.lastConv.inChannels * plan.lastConv.outChannels;
  return macs + plan.fc.inFeatures * plan.fc.outFeatures;
}

/**
 * FLOPs as Paddle's `paddle.flops` counts them (the convention of PaddleClas's published tables): convs
 * count in/groups·k·k (+1 with bias) per output element, BatchNorm 2 per element, adaptive average pooling
 * (window + 1) per output element, Linear in·out; activations and elementwise products count nothing.
 */
export function countPaddleFlops(arch: Architecture, input: readonly [number, number], plan: LayerPlan = layerPlan(arch)): number {
  let flops = 0;
  const { h, w } = walkPlan(plan, input, {
    convBN: (l, oh, ow) => {
      const outputs = oh * ow * l.outChannels;
      flops += outputs * (l.inChannels / l.groups) * l.kernel * l.kernel + 2 * outputs;
    },
    se: (se, oh, ow) => {
      flops += (oh * ow + 1) * se.channels; // pool
      flops += se.reduced * (se.channels + 1) + se.channels * (se.reduced + 1);
    },
  });
  flops += (h * w + 1) * plan.blocks.at(-1)!.pw.outChannels;
  if (plan.lastConv) flops += plan.lastConv.inChannels * plan.lastConv.outChannels;
  return flops + plan.fc.inFeatures * plan.fc.outFeatures;
}

/** A scale as PaddleClas writes it in model names: 1 → "1_0", 0.25 → "0_25". */
export function scaleTag(scale: number): string {
  return (Number.isInteger(scale) ? scale.toFixed(1) : String(scale)).replace('.', '_');
}
