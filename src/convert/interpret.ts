/**
 * Reads a Paddle program as a PP-LCNet: walks its ops in order (stem ConvBN, depthwise-separable blocks
 * with optional SE, pooling, optional last conv + activation + dropout, flatten, fc, optional softmax),
 * takes strides, kernels, groups, activation, HardSigmoid slope/offset, BatchNorm epsilon and dropout from
 * the ops, and maps each Paddle parameter to its PaddleClas key. Anything the builder cannot express is an
 * error naming the op and where it sits.
 */
import {
  type Activation,
  type ArchitectureOptions,
  type StrideEntry,
  layerPlan,
  parameterShapes,
  resolveArchitecture,
} from '../builder/architecture.js';
import { PplcnetError } from '../errors.js';
import type { AttrValue, Program, ProgramOp } from './program.js';

export interface ProgramReading {
  /** The architecture, complete: everything the builder needs. */
  readonly architecture: Required<ArchitectureOptions>;
  /** PaddleClas key → program parameter name. */
  readonly keys: ReadonlyMap<string, string>;
  /** Input size when the program fixes it (h, w). */
  readonly inputSize?: readonly [number, number];
  /** Whether the program ends with a softmax (its output is probabilities). */
  readonly softmax: boolean;
  /** fc weight stored transposed ([out, in]) because the matmul had trans_y. */
  readonly fcTransposed: boolean;
}

const ACTS: Readonly<Record<string, Activation>> = Object.freeze({ hardswish: 'hardswish', relu: 'relu', relu6: 'relu6' });
const SKIP = new Set(['data', 'fetch', 'full_int_array', 'full', 'assign_value', 'shape', 'feed']);
const PUBLISHED_SCALES = [0.25, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5];

interface ConvBN {
  filter: string;
  shape: number[];
  stride: [number, number];
  groups: number;
  bn: { Scale: string; Bias: string; Mean: string; Variance: string };
  act: Activation;
  eps: number;
}

function nums(v: AttrValue): number[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'number') ? (v as number[]) : undefined;
}

/** Interpret `program` (read from `file`) as a PP-LCNet. */
export function interpretProgram(program: Program, file: string): ProgramReading {
  const params = new Map(program.parameters.map((p) => [p.name, p]));
  const alias = new Map<string, string>(); // reshape(param) output → param
  const ops: ProgramOp[] = [];
  for (const op of program.ops) {
    if (SKIP.has(op.type)) continue;
    if (op.type === 'reshape' && op.inputs.X && params.has(op.inputs.X)) {
      alias.set(op.outputs[0]!, op.inputs.X);
      continue;
    }
    ops.push(op);
  }
  const param = (v: string | undefined): string | undefined => (v === undefined ? undefined : params.has(v) ? v : alias.get(v));

  let i = 0;
  let current = program.input?.value;
  const fail = (op: ProgramOp | undefined, message: string): never => {
    const at = op ? `${op.where}: ` : 'at the end of the program: ';
    throw new PplcnetError('E_PROGRAM', `${file}: ${at}${message}. This program is not a PP-LCNet the builder can express.`);
  };
  const peek = (k = 0): ProgramOp | undefined => ops[i + k];
  const take = (types: readonly string[], what: string): ProgramOp => {
    const op = ops[i];
    if (!op || !types.includes(op.type)) fail(op, `expected ${what} (${types.join(' or ')}) but found ${op ? `'${op.rawType}'` : 'nothing'}`);
    i++;
    return op!;
  };
  /** Check the op reads the running value `current` in slot `slot` (or any slot when omitted). */
  const consumes = (op: ProgramOp, slot?: string): void => {
    if (current === undefined) return;
    const ok = slot ? op.inputs[slot] === current : Object.values(op.inputs).includes(current);
    if (!ok) fail(op, `expected it to read '${current}' (the previous layer's output) but it reads ${JSON.stringify(op.inputs)}`);
  };
  const advance = (op: ProgramOp): void => {
    current = op.outputs[0];
  };
  const needParam = (op: ProgramOp, slot: string): string => {
    const p = param(op.inputs[slot]);
    if (!p) fail(op, `input '${slot}' is not a parameter`);
    return p!;
  };
  /** Take the next op, check it reads the running value, and make its output the running value. */
  const step = (types: readonly string[], what: string, slot?: string): ProgramOp => {
    const op = take(types, what);
    consumes(op, slot);
    advance(op);
    return op;
  };
  /** An `add` of a parameter to the running value: returns the parameter. */
  const biasAdd = (what: string): string => {
    const a = take(['add'], what);
    consumes(a);
    const b = needParam(a, a.inputs.X === current ? 'Y' : 'X');
    advance(a);
    return b;
  };
  /** A 1x1 conv followed by its bias add (how Paddle programs write a Conv2D with bias): [weight, bias]. */
  const convWithBias = (what: string): [string, string] => {
    const c = step(['conv2d'], what, 'Input');
    return [needParam(c, 'Filter'), biasAdd(`${what} bias`)];
  };

  const convBN = (what: string): ConvBN => {
    const c = take(['conv2d', 'depthwise_conv2d'], `the conv of ${what}`);
    consumes(c, 'Input');
    const filter = needParam(c, 'Filter');
    const shape = [...params.get(filter)!.shape];
    if (shape.length !== 4 || shape[2] !== shape[3]) fail(c, `filter '${filter}' has shape ${JSON.stringify(shape)}, expected a square kernel [out, in/groups, k, k]`);
    const k = shape[2]!;
    const strides = nums(c.attrs.strides) ?? [1, 1];
    const pads = nums(c.attrs.paddings) ?? [0, 0];
    const dil = nums(c.attrs.dilations) ?? [1, 1];
    const p = Math.floor((k - 1) / 2);
    if (!pads.every((x) => x === p)) fail(c, `paddings ${JSON.stringify(pads)}, expected ${p} on every side for a ${k}x${k} kernel`);
    if (!dil.every((x) => x === 1)) fail(c, `dilations ${JSON.stringify(dil)} are not supported`);
    const algo = c.attrs.padding_algorithm;
    if (algo !== undefined && algo !== 'EXPLICIT') fail(c, `padding_algorithm '${String(algo)}' is not supported`);
    if (strides.length !== 2 || !strides.every((s) => s === 1 || s === 2)) fail(c, `strides ${JSON.stringify(strides)} are not 1 or 2`);
    const groups = typeof c.attrs.groups === 'number' ? c.attrs.groups : 1;
    advance(c);
    const bn = take(['batch_norm'], `the BatchNorm of ${what}`);
    consumes(bn, 'X');
    const b = { Scale: needParam(bn, 'Scale'), Bias: needParam(bn, 'Bias'), Mean: needParam(bn, 'Mean'), Variance: needParam(bn, 'Variance') };
    const eps = typeof bn.attrs.epsilon === 'number' ? bn.attrs.epsilon : 1e-5;
    advance(bn);
    const a = take(Object.keys(ACTS), `the activation of ${what}`);
    consumes(a);
    checkActivation(a, fail);
    advance(a);
    return { filter, shape, stride: [strides[0]!, strides[1]!], groups, bn: b, act: ACTS[a.type]!, eps };
  };

  // stem
  const stem = convBN('conv1');
  // blocks
  type BlockReading = { dw: ConvBN; se?: { w1: string; b1: string; w2: string; b2: string; slope: number; offset: number }; pw: ConvBN };
  const blocks: BlockReading[] = [];
  while (peek() && (peek()!.type === 'depthwise_conv2d' || (peek()!.type === 'conv2d' && Number(peek()!.attrs.groups ?? 1) > 1))) {
    const n = blocks.length;
    const dw = convBN(`block ${n} depthwise conv`);
    let se: BlockReading['se'];
    if (peek()?.type === 'pool2d' && peek(1)?.type === 'conv2d' && peek(2)?.type === 'add') {
      const blockInput = current;
      const pool = step(['pool2d'], 'the SE pooling', 'X');
      checkGlobalAvgPool(pool, program, fail);
      const [w1, b1] = convWithBias('the SE conv1');
      step(['relu'], 'the SE ReLU');
      const [w2, b2] = convWithBias('the SE conv2');
      const hs = step(['hardsigmoid'], 'the SE HardSigmoid');
      const m = take(['multiply'], 'the SE gating multiply');
      const ins = [m.inputs.X, m.inputs.Y];
      if (!(ins.includes(blockInput) && ins.includes(current))) fail(m, `expected it to multiply '${blockInput}' by '${current}'`);
      advance(m);
      se = {
        w1,
        b1,
        w2,
        b2,
        slope: typeof hs.attrs.slope === 'number' ? hs.attrs.slope : 0.2,
        offset: typeof hs.attrs.offset === 'number' ? hs.attrs.offset : 0.5,
      };
    }
    const pw = convBN(`block ${n} pointwise conv`);
    blocks.push({ dw, ...(se ? { se } : {}), pw });
  }
  checkGlobalAvgPool(step(['pool2d'], 'the global average pooling after the last block', 'X'), program, fail);
  let lastConv: string | undefined;
  let dropoutProb = 0;
  let headAct: Activation | undefined;
  if (peek()?.type === 'conv2d') {
    lastConv = needParam(step(['conv2d'], 'the last conv', 'Input'), 'Filter');
    if (peek()?.type === 'add') fail(peek(), 'the last conv has a bias, which PP-LCNet does not');
    headAct = ACTS[step(Object.keys(ACTS), 'the activation after the last conv').type];
    if (peek()?.type === 'dropout') {
      const d = take(['dropout'], 'dropout');
      consumes(d, 'X');
      const p = typeof d.attrs.dropout_prob === 'number' ? d.attrs.dropout_prob : typeof d.attrs.p === 'number' ? d.attrs.p : program.constants.get(d.inputs.P ?? '')?.[0];
      const mode = d.attrs.dropout_implementation ?? d.attrs.mode;
      if (typeof p !== 'number') fail(d, 'its probability cannot be read');
      if (mode === 'downgrade_in_infer' || mode === 'downscale_in_infer') dropoutProb = Math.fround(p!);
      else if (mode !== 'upscale_in_train') fail(d, `dropout mode '${String(mode)}' is not supported`);
      advance(d);
    } else if (peek()?.type === 'scale') {
      const s = take(['scale'], 'the dropout scale');
      consumes(s, 'X');
      const factor = s.attrs.scale;
      const bias = s.attrs.bias ?? 0;
      if (typeof factor !== 'number' || bias !== 0 || factor <= 0 || factor > 1) fail(s, `a scale of ${String(factor)} with bias ${String(bias)} is not a dropout scale`);
      dropoutProb = 1 - (factor as number);
      advance(s);
    }
  }
  step(['flatten', 'reshape', 'squeeze'], 'the flatten before fc', 'X');
  const mm = take(['matmul'], 'the fc matmul');
  consumes(mm, 'X');
  const fcWeight = needParam(mm, 'Y');
  const fcTransposed = mm.attrs.trans_y === true || mm.attrs.transpose_y === true;
  if (mm.attrs.trans_x === true || mm.attrs.transpose_x === true) fail(mm, 'transposed input is not supported');
  advance(mm);
  const fcBias = biasAdd('the fc bias');
  let softmax = false;
  if (peek()?.type === 'softmax') {
    const s = take(['softmax'], 'softmax');
    consumes(s, 'X');
    const axis = s.attrs.axis;
    if (axis !== undefined && axis !== -1 && axis !== 1) fail(s, `softmax over axis ${String(axis)}`);
    softmax = true;
    advance(s);
  }
  if (peek()) fail(peek(), 'unexpected op after the classifier');

  // Consistency: activation, epsilon, SE hardsigmoid.
  const all = [stem, ...blocks.flatMap((b) => [b.dw, b.pw])];
  const act = stem.act;
  for (const c of all) if (c.act !== act) throw new PplcnetError('E_PROGRAM', `${file}: ConvBN layers mix activations ${act} and ${c.act}; PP-LCNet uses one`);
  if (headAct && headAct !== act) throw new PplcnetError('E_PROGRAM', `${file}: the head activation ${headAct} differs from the blocks' ${act}`);
  const eps = stem.eps;
  for (const c of all) if (Math.abs(c.eps - eps) > 1e-12) throw new PplcnetError('E_PROGRAM', `${file}: BatchNorm epsilons differ (${eps} vs ${c.eps})`);
  const ses = blocks.filter((b) => b.se).map((b) => b.se!);
  const slope = ses[0]?.slope ?? 0.1666667;
  const offset = ses[0]?.offset ?? 0.5;
  for (const s of ses) if (s.slope !== slope || s.offset !== offset) throw new PplcnetError('E_PROGRAM', `${file}: SE HardSigmoid parameters differ between blocks`);

  // Strides → stride_list.
  const entry = (s: [number, number]): StrideEntry => (s[0] === s[1] ? s[0] : [s[0], s[1]]);
  const firstOfStage = [1, 3, 5, 11]; // block indices starting blocks3..blocks6
  if (blocks.length !== 13) {
    throw new PplcnetError('E_PROGRAM', `${file}: found ${blocks.length} depthwise-separable blocks, PP-LCNet has 13. This program is not a PP-LCNet the builder can express.`);
  }
  const strideList: StrideEntry[] = [entry(stem.stride), ...firstOfStage.map((b) => entry(blocks[b]!.dw.stride))];
  const fcShape = params.get(fcWeight)!.shape;
  const classNum = fcTransposed ? fcShape[0]! : fcShape[1]!;
  const classExpand = lastConv ? params.get(lastConv)!.shape[0]! : 1280;
  const lastWidth = blocks[12]!.pw.shape[0]!;

  // Scale: the published value that reproduces every width, else the one the last stage implies.
  const base = { classNum, classExpand, dropoutProb, useLastConv: lastConv !== undefined, act, strideList, hardSigmoidSlope: slope, hardSigmoidOffset: offset, bnEpsilon: eps };
  const candidates = [...PUBLISHED_SCALES, lastWidth / 512];
  const widths = all.map((c) => c.shape[0]!);
  let architecture: Required<ArchitectureOptions> | undefined;
  for (const scale of candidates) {
    const arch = resolveArchitecture({ ...base, scale });
    const plan = layerPlan(arch);
    const planWidths = [plan.stem.outChannels, ...plan.blocks.flatMap((b) => [b.dw.outChannels, b.pw.outChannels])];
    if (planWidths.every((w, k) => w === widths[k])) {
      architecture = { ...arch, strideList: [...arch.strideList] };
      break;
    }
  }
  if (!architecture) {
    throw new PplcnetError('E_PROGRAM', `${file}: channel widths ${JSON.stringify(widths)} match no PP-LCNet scale. This program is not a PP-LCNet the builder can express.`);
  }

  // Map PaddleClas keys to program parameters, then check every shape and the block layout.
  const keys = new Map<string, string>();
  const plan = layerPlan(resolveArchitecture(architecture));
  const mapConvBN = (key: string, c: ConvBN): void => {
    keys.set(`${key}.conv.weight`, c.filter);
    keys.set(`${key}.bn.weight`, c.bn.Scale);
    keys.set(`${key}.bn.bias`, c.bn.Bias);
    keys.set(`${key}.bn._mean`, c.bn.Mean);
    keys.set(`${key}.bn._variance`, c.bn.Variance);
  };
  mapConvBN('conv1', stem);
  plan.blocks.forEach((pb, k) => {
    const b = blocks[k]!;
    if (Boolean(pb.se) !== Boolean(b.se)) {
      throw new PplcnetError('E_PROGRAM', `${file}: block ${pb.key} ${b.se ? 'has' : 'lacks'} an SE module, unlike PP-LCNet. This program is not a PP-LCNet the builder can express.`);
    }
    if (b.dw.groups !== b.dw.shape[0]) throw new PplcnetError('E_PROGRAM', `${file}: block ${pb.key}: the depthwise conv has ${b.dw.groups} groups for ${b.dw.shape[0]} channels`);
    if (b.pw.groups !== 1) throw new PplcnetError('E_PROGRAM', `${file}: block ${pb.key}: the pointwise conv has ${b.pw.groups} groups`);
    mapConvBN(pb.dw.key, b.dw);
    mapConvBN(pb.pw.key, b.pw);
    if (b.se) {
      keys.set(`${pb.se!.key}.conv1.weight`, b.se.w1);
      keys.set(`${pb.se!.key}.conv1.bias`, b.se.b1);
      keys.set(`${pb.se!.key}.conv2.weight`, b.se.w2);
      keys.set(`${pb.se!.key}.conv2.bias`, b.se.b2);
    }
    const expectStride = pb.dw.stride;
    if (b.dw.stride[0] !== expectStride[0] || b.dw.stride[1] !== expectStride[1]) {
      throw new PplcnetError('E_PROGRAM', `${file}: block ${pb.key}: stride ${JSON.stringify(b.dw.stride)}, but PP-LCNet strides only the first block of a stage`);
    }
  });
  if (lastConv) keys.set('last_conv.weight', lastConv);
  keys.set('fc.weight', fcWeight);
  keys.set('fc.bias', fcBias);

  const problems: string[] = [];
  for (const [key, shape] of parameterShapes(resolveArchitecture(architecture))) {
    const name = keys.get(key);
    const have = name ? params.get(name)?.shape : undefined;
    let want = shape;
    if (key === 'fc.weight' && fcTransposed) want = [shape[1]!, shape[0]!];
    if (!have) problems.push(`${key}: no parameter`);
    else if (JSON.stringify(have) !== JSON.stringify(want) && !(key.endsWith('.bias') && have.reduce((a, b) => a * b, 1) === want[0])) {
      problems.push(`${key} (${name}): shape ${JSON.stringify(have)}, expected ${JSON.stringify(want)}`);
    }
  }
  if (problems.length) {
    throw new PplcnetError('E_PROGRAM', `${file}: parameters do not fit PP-LCNet x${architecture.scale}:\n  ${problems.join('\n  ')}`);
  }
  const shape = program.input?.shape ?? [];
  const inputSize = shape.length === 4 && shape[2]! > 0 && shape[3]! > 0 ? ([shape[2]!, shape[3]!] as const) : undefined;
  return { architecture, keys, ...(inputSize ? { inputSize } : {}), softmax, fcTransposed };
}

function checkActivation(op: ProgramOp, fail: (op: ProgramOp, m: string) => never): void {
  if (op.type === 'hardswish') {
    // legacy hard_swish carries threshold/scale/offset: only Paddle's defaults (6, 6, 3) are HardSwish
    const { threshold, scale, offset } = op.attrs;
    if ((threshold !== undefined && threshold !== 6) || (scale !== undefined && scale !== 6) || (offset !== undefined && offset !== 3)) {
      fail(op, `hard_swish with threshold ${String(threshold)}, scale ${String(scale)}, offset ${String(offset)} differs from HardSwish`);
    }
  }
  if (op.type === 'relu6' && op.attrs.threshold !== undefined && op.attrs.threshold !== 6) fail(op, `relu6 with threshold ${String(op.attrs.threshold)}`);
}

function checkGlobalAvgPool(op: ProgramOp, program: Program, fail: (op: ProgramOp, m: string) => never): void {
  if (op.attrs.pooling_type !== 'avg') fail(op, `${String(op.attrs.pooling_type)} pooling, expected average pooling`);
  const ksize = nums(op.attrs.ksize) ?? nums(op.attrs.kernel_size) ?? program.constants.get(op.inputs.KernelSize ?? '');
  const global = op.attrs.global_pooling === true || (op.attrs.adaptive === true && ksize !== undefined && ksize.every((k) => k === 1));
  if (!global) fail(op, `pooling is not global (adaptive ${String(op.attrs.adaptive)}, kernel ${JSON.stringify(ksize)})`);
}
