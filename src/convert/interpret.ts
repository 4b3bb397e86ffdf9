/**
 * Reads a Paddle program as a PP-LCNet: its layers ({@link readProgramLayers}) give strides, kernels,
 * groups, activation, HardSigmoid slope/offset, BatchNorm epsilon and dropout; the widths give the scale
 * (the search {@link searchScale} shared with the weights converter); the key tables of `paddle-names.ts`
 * map each Paddle parameter to its PaddleClas key. Anything the builder cannot express is an error naming
 * the op and where it sits.
 */
import { type Architecture, type ArchitectureOptions, type LayerPlan, type StrideEntry, layerPlan, parameterShapes } from '../builder/architecture.js';
import type { Head } from '../builder/pplcnet.js';
import { PplcnetError } from '../errors.js';
import { PUBLISHED_SCALES, checkFileValues, listProblems, searchScale } from './architecture-check.js';
import { ATTR_DEFAULTS, BLOCK_COUNT, CONV_BN_KEYS, FIRST_BLOCK_OF_STAGE, HEAD_KEYS, type HeadRole, SE_KEYS } from './paddle-names.js';
import { type ConvBNReading, type ProgramLayers, readProgramLayers } from './program-layers.js';
import type { Program } from './program.js';

export interface ProgramReading {
  /** The architecture, complete: everything the builder needs. */
  readonly architecture: Required<ArchitectureOptions>;
  /** PaddleClas key → program parameter name. */
  readonly keys: ReadonlyMap<string, string>;
  /** Input size when the program fixes it (h, w). */
  readonly inputSize?: readonly [number, number];
  /** Whether the program ends with a softmax (its output is probabilities). */
  readonly softmax: boolean;
  /** What follows fc in the program: `softmax`, `sigmoid` (a multi-label model) or `none`. */
  readonly head: Head;
  /** fc weight stored transposed ([out, in]) because the matmul had trans_y. */
  readonly fcTransposed: boolean;
}

const notExpressible = (file: string, message: string): PplcnetError =>
  new PplcnetError('E_PROGRAM', `${file}: ${message}. This program is not a PP-LCNet the builder can express.`);

/** One activation, one BatchNorm epsilon, one SE HardSigmoid, 13 blocks: what every PP-LCNet shares. */
function sharedSettings(layers: ProgramLayers, file: string): Omit<ArchitectureOptions, 'scale' | 'classNum' | 'classExpand' | 'useLastConv'> {
  const { stem, blocks, headAct } = layers;
  const all = [stem, ...blocks.flatMap((b) => [b.dw, b.pw])];
  const act = stem.act;
  for (const c of all) if (c.act !== act) throw new PplcnetError('E_PROGRAM', `${file}: ConvBN layers mix activations ${act} and ${c.act}; PP-LCNet uses one`);
  if (headAct && headAct !== act) throw new PplcnetError('E_PROGRAM', `${file}: the head activation ${headAct} differs from the blocks' ${act}`);
  const eps = stem.eps;
  for (const c of all) if (Math.abs(c.eps - eps) > 1e-12) throw new PplcnetError('E_PROGRAM', `${file}: BatchNorm epsilons differ (${eps} vs ${c.eps})`);
  if (!(eps > 0)) throw new PplcnetError('E_PROGRAM', `${file}: ${stem.op.where}: BatchNorm epsilon ${eps}, expected a positive number`);
  const ses = blocks.flatMap((b) => (b.se ? [b.se] : []));
  const slope = ses[0]?.slope ?? ATTR_DEFAULTS.seSlope;
  const offset = ses[0]?.offset ?? ATTR_DEFAULTS.seOffset;
  for (const s of ses) if (s.slope !== slope || s.offset !== offset) throw new PplcnetError('E_PROGRAM', `${file}: SE HardSigmoid parameters differ between blocks`);
  if (blocks.length !== BLOCK_COUNT) throw notExpressible(file, `found ${blocks.length} depthwise-separable blocks, PP-LCNet has ${BLOCK_COUNT}`);
  const entry = (s: readonly [number, number]): StrideEntry => (s[0] === s[1] ? (s[0] as 1 | 2) : [s[0] as 1 | 2, s[1] as 1 | 2]);
  const strideList = [entry(stem.stride), ...FIRST_BLOCK_OF_STAGE.map((b) => entry(blocks[b]!.dw.stride))];
  return { act, strideList, dropoutProb: layers.dropoutProb, hardSigmoidSlope: slope, hardSigmoidOffset: offset, bnEpsilon: eps };
}

/** PaddleClas key → program parameter, by the key tables, checking the block layout against `plan`. */
function mapKeys(layers: ProgramLayers, plan: LayerPlan, file: string): Map<string, string> {
  const keys = new Map<string, string>();
  const convBN = (prefix: string, c: ConvBNReading): void => {
    for (const [suffix, role] of Object.entries(CONV_BN_KEYS)) keys.set(`${prefix}.${suffix}`, c.params[role]);
  };
  convBN(plan.stem.key, layers.stem);
  plan.blocks.forEach((pb, k) => {
    const b = layers.blocks[k]!;
    if (Boolean(pb.se) !== Boolean(b.se)) throw notExpressible(file, `block ${pb.key} ${b.se ? 'has' : 'lacks'} an SE module, unlike PP-LCNet`);
    if (b.dw.groups !== b.dw.shape[0]) throw new PplcnetError('E_PROGRAM', `${file}: block ${pb.key}: the depthwise conv has ${b.dw.groups} groups for ${b.dw.shape[0]} channels`);
    if (b.pw.groups !== 1) throw new PplcnetError('E_PROGRAM', `${file}: block ${pb.key}: the pointwise conv has ${b.pw.groups} groups`);
    if (b.dw.stride[0] !== pb.dw.stride[0] || b.dw.stride[1] !== pb.dw.stride[1]) {
      throw new PplcnetError('E_PROGRAM', `${file}: block ${pb.key}: stride ${JSON.stringify(b.dw.stride)}, but PP-LCNet strides only the first block of a stage`);
    }
    convBN(pb.dw.key, b.dw);
    if (b.se) for (const [suffix, role] of Object.entries(SE_KEYS)) keys.set(`${pb.se!.key}.${suffix}`, b.se.params[role]);
    convBN(pb.pw.key, b.pw);
  });
  const head: Partial<Record<HeadRole, string>> = { lastConv: layers.lastConv, fcWeight: layers.fcWeight, fcBias: layers.fcBias };
  for (const [key, role] of Object.entries(HEAD_KEYS)) if (head[role] !== undefined) keys.set(key, head[role]);
  return keys;
}

/** Interpret `program` (read from `file`) as a PP-LCNet. */
export function interpretProgram(program: Program, file: string): ProgramReading {
  const layers = readProgramLayers(program, file);
  const settings = sharedSettings(layers, file);
  const params = new Map(program.parameters.map((p) => [p.name, p.shape]));
  const { stem, blocks, lastConv, fcWeight, fcTransposed } = layers;
  const fcShape = params.get(fcWeight)!;
  const classNum = fcTransposed ? fcShape[0] : fcShape[1];
  const classExpand = lastConv ? params.get(lastConv)![0] : 1280;
  const lastWidth = blocks[BLOCK_COUNT - 1]!.pw.shape[0];
  checkFileValues(
    [
      { value: classNum, what: 'class count', from: `fc weight '${fcWeight}' shape ${JSON.stringify(fcShape)}` },
      ...(lastConv ? [{ value: classExpand, what: 'last conv width', from: `last conv '${lastConv}' shape ${JSON.stringify(params.get(lastConv))}` }] : []),
      { value: lastWidth, what: 'last block width', from: `'${blocks[BLOCK_COUNT - 1]!.pw.params.filter}'` },
    ],
    file,
    'E_PROGRAM',
  );
  const base = { ...settings, classNum, classExpand, useLastConv: lastConv !== undefined };
  const widths = [stem, ...blocks.flatMap((b) => [b.dw, b.pw])].map((c) => c.shape[0]!);
  const { architecture: found, problems: widthProblems } = searchScale(
    base,
    [...PUBLISHED_SCALES, lastWidth! / 512],
    (arch) => {
      const plan = layerPlan(arch);
      const planWidths = [plan.stem.outChannels, ...plan.blocks.flatMap((b) => [b.dw.outChannels, b.pw.outChannels])];
      return planWidths.flatMap((w, k) => (w === widths[k] ? [] : [`layer ${k}: ${widths[k]} channels, expected ${w}`]));
    },
    file,
    'E_PROGRAM',
  );
  if (widthProblems.length) throw notExpressible(file, `channel widths ${JSON.stringify(widths)} match no PP-LCNet scale`);
  const architecture = { ...found, strideList: [...found.strideList] };
  const keys = mapKeys(layers, layerPlan(found), file);
  checkShapes(keys, params, found, fcTransposed, file);
  const shape = program.input?.shape ?? [];
  const inputSize = shape.length === 4 && shape[2]! > 0 && shape[3]! > 0 ? ([shape[2]!, shape[3]!] as const) : undefined;
  return { architecture, keys, ...(inputSize ? { inputSize } : {}), softmax: layers.head === 'softmax', head: layers.head, fcTransposed };
}

/** Every PaddleClas key's parameter has the shape the architecture needs (a bias may be reshaped). */
function checkShapes(
  keys: ReadonlyMap<string, string>,
  params: ReadonlyMap<string, readonly number[]>,
  architecture: Architecture,
  fcTransposed: boolean,
  file: string,
): void {
  const problems: string[] = [];
  for (const [key, shape] of parameterShapes(architecture)) {
    const name = keys.get(key);
    const have = name ? params.get(name) : undefined;
    const want = key === 'fc.weight' && fcTransposed ? [shape[1]!, shape[0]!] : shape;
    if (!have) problems.push(`${key}: no parameter`);
    else if (JSON.stringify(have) !== JSON.stringify(want) && !(key.endsWith('.bias') && have.reduce((a, b) => a * b, 1) === want[0])) {
      problems.push(`${key} (${name}): shape ${JSON.stringify(have)}, expected ${JSON.stringify(want)}`);
    }
  }
  if (problems.length) throw new PplcnetError('E_PROGRAM', `${file}: parameters do not fit PP-LCNet x${architecture.scale}:\n${listProblems(problems)}`);
}
