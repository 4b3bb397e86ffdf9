/**
 * PaddleClas weights → architecture + ONNX. What the shapes tell (scale, class count, class_expand,
 * use_last_conv, SE placement, kernels) is inferred; what they cannot (activation, strides, dropout,
 * input size) comes from options with PaddleClas's defaults. Every key and shape is checked before
 * anything is built, and all problems are reported at once.
 */
import {
  type Activation,
  type Architecture,
  type StrideEntry,
  layerPlan,
  parameterShapes,
  resolveArchitecture,
  scaleTag,
} from '../builder/architecture.js';
import { type BuildOptions, type BuiltModel, buildPPLCNet } from '../builder/pplcnet.js';
import { PplcnetError } from '../errors.js';
import { imagenetLabels } from '../labels.js';
import type { ModelDescription } from '../metadata.js';
import { PUBLISHED_SCALES, WEIGHT_LIMITS, checkFileValues, listProblems, nonFiniteWarnings, searchScale } from './architecture-check.js';
import { FILE_LIMITS } from '../util/file-limits.js';
import { readFileBounded } from '../util/fs.js';
import { type PdparamsFile, type WeightTensor, readPdparams, selectPrefix } from './pdparams.js';

/** What the weights cannot tell: given by the user, PaddleClas defaults otherwise. */
export interface WeightsArchitectureOptions {
  /** [act='hardswish'] */
  act?: Activation;
  /** [strideList=[2,2,2,2,2]] */
  strideList?: readonly StrideEntry[];
  /** [dropoutProb=0.2] */
  dropoutProb?: number;
}

const fmt = (s: readonly number[] | undefined): string => (s ? `[${s.join(',')}]` : '?');

/** Every mismatch between `tensors` and the keys and shapes of `arch`. */
function weightProblems(tensors: ReadonlyMap<string, WeightTensor>, arch: Architecture): string[] {
  const problems: string[] = [];
  const expected = new Map(parameterShapes(arch));
  for (const [key, want] of expected) {
    const t = tensors.get(key);
    if (!t) problems.push(`missing: ${key} ${fmt(want)}`);
    else if (fmt(t.shape) !== fmt(want)) {
      const hint = key === 'fc.weight' && fmt([...t.shape].reverse()) === fmt(want) ? " (transposed: Paddle's Linear stores [in, out])" : '';
      problems.push(`shape: ${key} is ${fmt(t.shape)}, expected ${fmt(want)}${hint}`);
    } else if (t.dtype !== 'f4') problems.push(`dtype: ${key} is ${t.dtype}, expected float32 (f4)`);
  }
  for (const [key, t] of tensors) if (!expected.has(key)) problems.push(`unexpected: ${key} ${fmt(t.shape)}`);
  return problems;
}

/**
 * Infer the architecture from the shapes; `problems` lists every mismatch against it (empty when all fit).
 * `options` are the user's (a bad one is a TypeError/RangeError naming it); values read from the shapes
 * that no PP-LCNet has are an E_WEIGHTS error naming `file` and the key.
 */
export function inferArchitecture(
  tensors: ReadonlyMap<string, WeightTensor>,
  options: WeightsArchitectureOptions = {},
  file = 'weights',
): { architecture: Architecture; problems: string[]; inferred: Record<string, unknown> } {
  resolveArchitecture(options); // the user's options, checked as options
  const shape = (k: string): readonly number[] | undefined => tensors.get(k)?.shape;
  const fc = shape('fc.weight');
  const last = shape('last_conv.weight');
  const stem = shape('conv1.conv.weight');
  const lastPw = shape('blocks6.1.pw_conv.conv.weight');
  const useLastConv = last !== undefined;
  // the bias is unambiguous; the weight may be transposed
  const bias = shape('fc.bias');
  const classNum = bias?.[0] ?? fc?.[1] ?? 1000;
  const classExpand = useLastConv ? last[0] : 1280;
  const lastWidth = lastPw?.[0] ?? (useLastConv ? last[1] : fc?.[0]);
  checkFileValues(
    [
      { value: classNum, what: 'class count', from: bias ? `fc.bias shape ${fmt(bias)}` : `fc.weight shape ${fmt(fc)}` },
      { value: useLastConv ? classExpand : undefined, what: 'last conv width', from: `last_conv.weight shape ${fmt(last)}` },
      { value: lastWidth, what: 'last block width', from: lastPw ? `blocks6.1.pw_conv.conv.weight shape ${fmt(lastPw)}` : 'the head weights' },
      { value: stem?.[0], what: 'stem width', from: `conv1.conv.weight shape ${fmt(stem)}` },
    ],
    file,
    'E_WEIGHTS',
  );
  const base = { classNum, classExpand, useLastConv, ...options };
  const candidates = [...PUBLISHED_SCALES, ...(lastWidth ? [lastWidth / 512] : []), ...(stem ? [stem[0]! / 16] : [])];
  const best = searchScale(base, candidates, (arch) => weightProblems(tensors, arch), file, 'E_WEIGHTS');
  const plan = layerPlan(best.architecture);
  return {
    ...best,
    inferred: {
      scale: best.architecture.scale,
      classNum,
      classExpand: useLastConv ? classExpand : undefined,
      useLastConv,
      se: plan.blocks.filter((b) => b.se).map((b) => b.key),
    },
  };
}

export interface PdparamsConversion extends BuiltModel {
  readonly file: string;
  readonly prefix: string;
  readonly contents: PdparamsFile;
  readonly architecture: Architecture;
  readonly description: ModelDescription;
  /** Things worth telling the user (which prefix was converted, …). */
  readonly notes: readonly string[];
  /** Things that look wrong but do not stop the conversion (NaN or infinite weights, …). */
  readonly warnings: readonly string[];
}

export interface PdparamsOptions extends WeightsArchitectureOptions, Omit<BuildOptions, 'weights' | 'seed'> {
  /** Key prefix to convert in a distillation checkpoint. [`Student.` when present] */
  prefix?: string;
}

/** Read, check and convert a `.pdparams` file (nothing is written; the caller writes `bytes`). */
export async function convertPdparams(path: string, options: PdparamsOptions = {}): Promise<PdparamsConversion> {
  return convertPdparamsBytes(await readFileBounded(path, FILE_LIMITS.pdparams), path, options);
}

/** Check and convert the bytes of a `.pdparams` file, already read (`path` names it in messages). */
export async function convertPdparamsBytes(buf: Uint8Array, path: string, options: PdparamsOptions = {}): Promise<PdparamsConversion> {
  if (buf.length > WEIGHT_LIMITS.maxFileBytes) {
    throw new PplcnetError('E_WEIGHTS', `${path}: ${buf.length} bytes, more than the ${WEIGHT_LIMITS.maxFileBytes} the weights of a PP-LCNet can take`);
  }
  const contents = readPdparams(buf, path);
  const { prefix, tensors } = selectPrefix(contents, options.prefix, path);
  const notes: string[] = [];
  if (contents.prefixes.length) {
    notes.push(`distillation checkpoint with ${contents.prefixes.join(' and ')} weights: converting '${prefix}'${options.prefix ? '' : ' (choose another with --prefix)'}`);
  }
  const { act, strideList, dropoutProb, prefix: _p, ...build } = options;
  const { architecture, problems } = inferArchitecture(tensors, { ...(act ? { act } : {}), ...(strideList ? { strideList } : {}), ...(dropoutProb !== undefined ? { dropoutProb } : {}) }, path);
  if (problems.length) {
    const a = architecture;
    throw new PplcnetError(
      'E_WEIGHTS',
      `${path}: the weights do not fit PP-LCNet x${scaleTag(a.scale).replace('_', '.')} (${a.classNum} classes, ${a.useLastConv ? `last conv ${a.classExpand}` : 'no last conv'}), the closest architecture to these shapes${prefix ? `, keys under '${prefix}'` : ''}:\n${listProblems(problems)}`,
    );
  }
  const weights = new Map([...tensors].map(([k, t]) => [k, t.data]));
  const description: ModelDescription = {
    name: `PPLCNet_x${scaleTag(architecture.scale)}`,
    ...(architecture.classNum === 1000 ? { labels: imagenetLabels() } : {}),
    source: 'PaddleClas weights (.pdparams)',
    ...options.description,
  };
  const warnings = nonFiniteWarnings(weights, path);
  const built = buildPPLCNet(architecture, { ...build, weights, description });
  return { ...built, file: path, prefix, contents, architecture, description, notes, warnings };
}
