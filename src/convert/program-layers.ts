/**
 * Reads a Paddle program's ops, in order, as the layers of a PP-LCNet: stem ConvBN, depthwise-separable
 * blocks with optional SE, pooling, optional last conv + activation + dropout, flatten, fc, optional
 * softmax. Each layer records the program parameters it uses and the attributes that matter, read through
 * {@link Attrs}: every attribute read must be present (no defaults are filled in). Anything out of place is an
 * error naming the op and where it sits.
 */
import type { Activation } from '../builder/architecture.js';
import type { Head } from '../builder/pplcnet.js';
import { PplcnetError } from '../errors.js';
import { Attrs } from './attrs.js';
import { ACTIVATION_OPS, CONV_BN_INPUTS, type ConvBNRole, type SERole, SKIPPED_OPS } from './paddle-names.js';
import type { Program, ProgramOp } from './program.js';

export interface ConvBNReading {
  readonly op: ProgramOp;
  readonly params: Readonly<Record<ConvBNRole, string>>;
  readonly shape: readonly number[];
  readonly stride: readonly [number, number];
  readonly groups: number;
  readonly act: Activation;
  readonly eps: number;
}

export interface SEReading {
  readonly params: Readonly<Record<SERole, string>>;
  readonly slope: number;
  readonly offset: number;
}

export interface BlockReading {
  readonly dw: ConvBNReading;
  readonly se?: SEReading;
  readonly pw: ConvBNReading;
}

export interface ProgramLayers {
  readonly stem: ConvBNReading;
  readonly blocks: readonly BlockReading[];
  readonly lastConv?: string;
  readonly headAct?: Activation;
  readonly dropoutProb: number;
  readonly fcWeight: string;
  readonly fcBias: string;
  /** fc weight stored [out, in] (the matmul has trans_y). */
  readonly fcTransposed: boolean;
  /** What follows fc: a `softmax`, a `sigmoid` (multi-label), or nothing. */
  readonly head: Head;
}

/** A cursor over the compute ops, tracking the running value (the previous layer's output). */
class OpStream {
  private readonly ops: ProgramOp[] = [];
  private readonly alias = new Map<string, string>(); // reshape(param) output → param
  private readonly params: ReadonlySet<string>;
  private i = 0;
  current: string | undefined;

  constructor(
    readonly program: Program,
    readonly file: string,
  ) {
    this.params = new Set(program.parameters.map((p) => p.name));
    for (const op of program.ops) {
      if (SKIPPED_OPS.has(op.type)) continue;
      if (op.type === 'reshape' && op.inputs.X && this.params.has(op.inputs.X)) {
        if (op.outputs[0] !== undefined) this.alias.set(op.outputs[0], op.inputs.X);
        continue;
      }
      this.ops.push(op);
    }
    this.current = program.input?.value;
  }

  fail(op: ProgramOp | undefined, message: string): never {
    const at = op ? `${op.where}: ` : 'at the end of the program: ';
    throw new PplcnetError('E_PROGRAM', `${this.file}: ${at}${message}. This program is not a PP-LCNet the builder can express.`);
  }

  attrs(op: ProgramOp): Attrs {
    return new Attrs(op, this.file);
  }

  /** An attribute's names in PIR and in ProgramDesc, this program's own first (errors name it first). */
  named(pir: readonly string[], legacy: readonly string[]): readonly string[] {
    return this.program.format === 'pir-json' ? [...pir, ...legacy] : [...legacy, ...pir];
  }

  peek(k = 0): ProgramOp | undefined {
    return this.ops[this.i + k];
  }

  take(types: readonly string[], what: string): ProgramOp {
    const op = this.ops[this.i];
    if (!op || !types.includes(op.type)) this.fail(op, `expected ${what} (${types.join(' or ')}) but found ${op ? `'${op.rawType}'` : 'nothing'}`);
    this.i++;
    return op;
  }

  /** Check the op reads the running value in `slot` (or in any slot when omitted). */
  consumes(op: ProgramOp, slot?: string): void {
    if (this.current === undefined) return;
    const ok = slot ? op.inputs[slot] === this.current : Object.values(op.inputs).includes(this.current);
    if (!ok) this.fail(op, `expected it to read '${this.current}' (the previous layer's output) but it reads ${JSON.stringify(op.inputs)}`);
  }

  advance(op: ProgramOp): void {
    this.current = op.outputs[0];
  }

  param(op: ProgramOp, slot: string): string {
    const v = op.inputs[slot];
    const p = v === undefined ? undefined : this.params.has(v) ? v : this.alias.get(v);
    if (!p) this.fail(op, `input '${slot}' is not a parameter`);
    return p;
  }

  /** Take the next op, check it reads the running value, and make its output the running value. */
  step(types: readonly string[], what: string, slot?: string): ProgramOp {
    const op = this.take(types, what);
    this.consumes(op, slot);
    this.advance(op);
    return op;
  }

  /** An `add` of a parameter to the running value: returns the parameter. */
  biasAdd(what: string): string {
    const a = this.take(['add'], what);
    this.consumes(a);
    const b = this.param(a, a.inputs.X === this.current ? 'Y' : 'X');
    this.advance(a);
    return b;
  }

  /** A 1x1 conv followed by its bias add (how Paddle writes a Conv2D with bias): [weight, bias]. */
  convWithBias(what: string): [string, string] {
    const c = this.step(['conv2d'], what, 'Input');
    return [this.param(c, 'Filter'), this.biasAdd(`${what} bias`)];
  }

  shape(name: string): readonly number[] {
    return this.program.parameters.find((p) => p.name === name)?.shape ?? [];
  }
}

/** conv2d / depthwise_conv2d + batch_norm + activation. */
function readConvBN(s: OpStream, what: string): ConvBNReading {
  const c = s.take(['conv2d', 'depthwise_conv2d'], `the conv of ${what}`);
  s.consumes(c, 'Input');
  const filter = s.param(c, 'Filter');
  const shape = s.shape(filter);
  if (shape.length !== 4 || shape[2] !== shape[3]) s.fail(c, `filter '${filter}' has shape ${JSON.stringify(shape)}, expected a square kernel [out, in/groups, k, k]`);
  const k = shape[2]!;
  const a = s.attrs(c);
  const strides = a.ints('strides', 2, 2);
  const pads = a.ints('paddings', 1, 4);
  const dil = a.ints('dilations', 1, 2);
  const p = Math.floor((k - 1) / 2);
  if (!pads.every((x) => x === p)) s.fail(c, `paddings ${JSON.stringify(pads)}, expected ${p} on every side for a ${k}x${k} kernel`);
  if (!dil.every((x) => x === 1)) s.fail(c, `dilations ${JSON.stringify(dil)} are not supported`);
  const algo = a.string('padding_algorithm');
  if (algo !== 'EXPLICIT') s.fail(c, `padding_algorithm '${algo}' is not supported`);
  if (!strides.every((x) => x === 1 || x === 2)) s.fail(c, `strides ${JSON.stringify(strides)} are not 1 or 2`);
  const groups = a.int('groups');
  s.advance(c);
  const bn = s.take(['batch_norm'], `the BatchNorm of ${what}`);
  s.consumes(bn, 'X');
  const eps = s.attrs(bn).number('epsilon');
  const params = {} as Record<ConvBNRole, string>;
  for (const [role, { op, slot }] of Object.entries(CONV_BN_INPUTS)) params[role as ConvBNRole] = s.param(op === 'conv' ? c : bn, slot);
  s.advance(bn);
  const act = s.take(Object.keys(ACTIVATION_OPS), `the activation of ${what}`);
  s.consumes(act);
  checkActivation(s, act);
  s.advance(act);
  return { op: c, params, shape, stride: [strides[0]!, strides[1]!], groups, act: ACTIVATION_OPS[act.type]!, eps };
}

/** pool2d + conv + add + relu + conv + add + hardsigmoid + multiply. */
function readSE(s: OpStream): SEReading {
  const blockInput = s.current;
  checkGlobalAvgPool(s, s.step(['pool2d'], 'the SE pooling', 'X'));
  const [conv1Weight, conv1Bias] = s.convWithBias('the SE conv1');
  s.step(['relu'], 'the SE ReLU');
  const [conv2Weight, conv2Bias] = s.convWithBias('the SE conv2');
  const hs = s.attrs(s.step(['hardsigmoid'], 'the SE HardSigmoid'));
  const m = s.take(['multiply'], 'the SE gating multiply');
  const ins = [m.inputs.X, m.inputs.Y];
  if (!(ins.includes(blockInput) && ins.includes(s.current))) s.fail(m, `expected it to multiply '${blockInput}' by '${s.current}'`);
  s.advance(m);
  return {
    params: { conv1Weight, conv1Bias, conv2Weight, conv2Bias },
    slope: hs.number('slope'),
    offset: hs.number('offset'),
  };
}

function readBlocks(s: OpStream): BlockReading[] {
  const blocks: BlockReading[] = [];
  const isDepthwise = (op: ProgramOp | undefined): boolean => op !== undefined && (op.type === 'depthwise_conv2d' || (op.type === 'conv2d' && s.attrs(op).int('groups') > 1));
  while (isDepthwise(s.peek())) {
    const n = blocks.length;
    const dw = readConvBN(s, `block ${n} depthwise conv`);
    const hasSE = s.peek()?.type === 'pool2d' && s.peek(1)?.type === 'conv2d' && s.peek(2)?.type === 'add';
    const se = hasSE ? readSE(s) : undefined;
    const pw = readConvBN(s, `block ${n} pointwise conv`);
    blocks.push({ dw, ...(se ? { se } : {}), pw });
  }
  return blocks;
}

/** The probability of a dropout op (or of a `scale` written in its place); 0 when it scales at training. */
function readDropout(s: OpStream): number {
  if (s.peek()?.type === 'dropout') {
    const d = s.take(['dropout'], 'dropout');
    s.consumes(d, 'X');
    const a = s.attrs(d);
    // PIR may pass the probability as an input (a constant) instead of an attribute
    const probability = s.named(['p'], ['dropout_prob']);
    const fromInput = a.has(probability) ? undefined : s.program.constants.get(d.inputs.P ?? '')?.[0];
    const p = fromInput ?? a.number(probability);
    const mode = a.string(s.named(['mode'], ['dropout_implementation']));
    if (typeof p !== 'number' || !(p >= 0 && p < 1)) s.fail(d, `its probability cannot be read (found ${String(p)}, expected a number in [0, 1))`);
    s.advance(d);
    if (mode === 'downgrade_in_infer' || mode === 'downscale_in_infer') return Math.fround(p);
    if (mode !== 'upscale_in_train') s.fail(d, `dropout mode '${String(mode)}' is not supported`);
    return 0;
  }
  if (s.peek()?.type === 'scale') {
    const op = s.take(['scale'], 'the dropout scale');
    s.consumes(op, 'X');
    const a = s.attrs(op);
    const fromInput = a.has('scale') ? undefined : s.program.constants.get(op.inputs.Scale ?? '')?.[0];
    const factor = fromInput ?? a.number('scale');
    const bias = a.number('bias');
    if (bias !== 0 || factor <= 0 || factor > 1) s.fail(op, `a scale of ${String(factor)} with bias ${bias} is not a dropout scale`);
    s.advance(op);
    return 1 - factor;
  }
  return 0;
}

/** Global pooling, optional last conv + activation + dropout, flatten, fc, optional softmax or sigmoid. */
function readHead(s: OpStream): Omit<ProgramLayers, 'stem' | 'blocks'> {
  checkGlobalAvgPool(s, s.step(['pool2d'], 'the global average pooling after the last block', 'X'));
  let lastConv: string | undefined;
  let headAct: Activation | undefined;
  let dropoutProb = 0;
  if (s.peek()?.type === 'conv2d') {
    lastConv = s.param(s.step(['conv2d'], 'the last conv', 'Input'), 'Filter');
    if (s.peek()?.type === 'add') s.fail(s.peek(), 'the last conv has a bias, which PP-LCNet does not');
    headAct = ACTIVATION_OPS[s.step(Object.keys(ACTIVATION_OPS), 'the activation after the last conv').type];
    dropoutProb = readDropout(s);
  }
  s.step(['flatten', 'reshape', 'squeeze'], 'the flatten before fc', 'X');
  const mm = s.take(['matmul'], 'the fc matmul');
  s.consumes(mm, 'X');
  const fcWeight = s.param(mm, 'Y');
  const a = s.attrs(mm);
  // matmul_v2 (ProgramDesc): trans_x/trans_y; PIR: transpose_x/transpose_y; legacy matmul: transpose_X/transpose_Y and alpha
  const fcTransposed = a.bool(s.named(['transpose_y'], ['trans_y', 'transpose_Y']));
  if (a.bool(s.named(['transpose_x'], ['trans_x', 'transpose_X']))) s.fail(mm, 'transposed input is not supported');
  if (mm.rawType === 'matmul' && a.number('alpha') !== 1) s.fail(mm, `alpha ${a.number('alpha')} scales the fc output; only 1 is supported`);
  s.advance(mm);
  const fcBias = s.biasAdd('the fc bias');
  let head: Head = 'none';
  const next = s.peek()?.type;
  if (next === 'softmax' || next === 'sigmoid') {
    const op = s.take([next], next);
    s.consumes(op, 'X');
    if (next === 'softmax') {
      const axis = s.attrs(op).int('axis');
      if (axis !== -1 && axis !== 1) s.fail(op, `softmax over axis ${axis}`);
    }
    head = next;
    s.advance(op);
  }
  if (s.peek()) s.fail(s.peek(), 'unexpected op after the classifier');
  return { ...(lastConv ? { lastConv } : {}), ...(headAct ? { headAct } : {}), dropoutProb, fcWeight, fcBias, fcTransposed, head };
}

/** Read `program` (from `file`) as the layers of a PP-LCNet, in order. */
export function readProgramLayers(program: Program, file: string): ProgramLayers {
  const s = new OpStream(program, file);
  const stem = readConvBN(s, 'conv1');
  const blocks = readBlocks(s);
  return { stem, blocks, ...readHead(s) };
}

function checkActivation(s: OpStream, op: ProgramOp): void {
  const a = s.attrs(op);
  // legacy hard_swish and relu6 carry their constants (PIR's ops have none): only Paddle's defaults match the
  // builder's HardSwish (threshold 6, scale 6, offset 3) and ReLU6 (threshold 6)
  if (s.program.format !== 'program-desc') return;
  if (op.type === 'hardswish') {
    const [threshold, scale, offset] = [a.number('threshold'), a.number('scale'), a.number('offset')];
    if (threshold !== 6 || scale !== 6 || offset !== 3) s.fail(op, `hard_swish with threshold ${threshold}, scale ${scale}, offset ${offset} differs from HardSwish`);
  }
  if (op.type === 'relu6' && a.number('threshold') !== 6) s.fail(op, `relu6 with threshold ${a.number('threshold')}`);
}

function checkGlobalAvgPool(s: OpStream, op: ProgramOp): void {
  const a = s.attrs(op);
  const type = a.string('pooling_type');
  if (type !== 'avg') s.fail(op, `${type} pooling, expected average pooling`);
  const adaptive = a.bool('adaptive');
  if (a.bool('global_pooling')) return;
  // PIR passes the kernel size as an input (a constant); ProgramDesc as the attribute ksize
  const kernel = s.named(['kernel_size'], ['ksize']);
  const fromInput = a.has(kernel) ? undefined : s.program.constants.get(op.inputs.KernelSize ?? '');
  const ksize = fromInput ?? a.ints(kernel, 1, 2);
  const global = adaptive && ksize.every((k) => k === 1);
  if (!global) s.fail(op, `pooling is not global (adaptive ${adaptive}, kernel ${JSON.stringify(ksize)})`);
}
