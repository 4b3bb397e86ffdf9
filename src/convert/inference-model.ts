/**
 * Paddle inference models → ONNX: a program (`inference.json` or `inference.pdmodel`) and its combined
 * parameters (`inference.pdiparams`), with `inference.yml` when present.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { scaleTag } from '../builder/architecture.js';
import { type BuildOptions, type BuiltModel, buildPPLCNet } from '../builder/pplcnet.js';
import { PplcnetError } from '../errors.js';
import { imagenetLabels } from '../labels.js';
import type { ModelDescription } from '../metadata.js';
import { WEIGHT_LIMITS, nonFiniteWarnings } from './architecture-check.js';
import { CONFIG_LIMITS, readInferenceConfig } from './inference-config.js';
import { type ProgramReading, interpretProgram } from './interpret.js';
import { readPdiparams, toFloat32 } from './pdiparams.js';
import { readProgramDesc } from './pdmodel.js';
import { PROGRAM_LIMITS, readPirProgram } from './pir.js';
import { type Program, pdiparamsOrder } from './program.js';

export interface InferenceModelFiles {
  readonly format: 'pir-json' | 'program-desc';
  readonly program: string;
  readonly params: string;
  readonly config?: string;
}

const CONFIG_NAMES = ['inference.yml', 'inference.yaml', 'inference_cls.yaml', 'inference_cls.yml'];

/** Find the files of an inference model from a folder, a `.json` or a `.pdmodel` path. */
export function locateInferenceModel(path: string): InferenceModelFiles {
  let program: string | undefined;
  let dir: string;
  if (existsSync(path) && statSync(path).isDirectory()) {
    dir = path;
    for (const n of ['inference.json', 'inference.pdmodel', 'model.json', 'model.pdmodel']) {
      if (existsSync(join(dir, n))) {
        program = join(dir, n);
        break;
      }
    }
    if (!program) {
      throw new PplcnetError('E_IO', `${path}: no inference.json or inference.pdmodel in this folder; pass the folder of a Paddle inference model (e.g. an unpacked *_infer.tar)`);
    }
  } else {
    if (!existsSync(path)) throw new PplcnetError('E_IO', `${path}: no such file or folder`);
    program = path;
    dir = dirname(path);
  }
  const format = program.endsWith('.json') ? 'pir-json' : 'program-desc';
  const params = program.replace(/\.(json|pdmodel)$/, '.pdiparams');
  if (!existsSync(params)) {
    throw new PplcnetError('E_IO', `${program}: its parameters ${basename(params)} are missing beside it; an inference model needs both files`);
  }
  const config = CONFIG_NAMES.map((n) => join(dir, n)).find((p) => existsSync(p));
  return { format, program, params, ...(config ? { config } : {}) };
}

/** A file's bytes, refused before reading when larger than `max` (what the file can be for a PP-LCNet). */
async function readBounded(path: string, max: number, what: string): Promise<Uint8Array> {
  const size = (await stat(path)).size;
  if (size > max) throw new PplcnetError('E_FORMAT', `${path}: ${size} bytes, more than the ${max} ${what} can take`);
  return new Uint8Array(await readFile(path));
}

export async function readProgramFile(files: InferenceModelFiles): Promise<Program> {
  const bytes = await readBounded(files.program, PROGRAM_LIMITS.maxBytes, 'a PP-LCNet program');
  return files.format === 'pir-json' ? readPirProgram(Buffer.from(bytes).toString('utf8'), files.program) : readProgramDesc(bytes, files.program);
}

/** Weights keyed by PaddleClas keys, from a program reading and its combined parameter file. */
export function mapInferenceWeights(program: Program, reading: ProgramReading, paramsBytes: Uint8Array, paramsFile: string): Map<string, Float32Array> {
  const tensors = readPdiparams(paramsBytes, paramsFile);
  const names = pdiparamsOrder(program.parameters.map((p) => p.name));
  if (tensors.length !== names.length) {
    throw new PplcnetError('E_WEIGHTS', `${paramsFile}: holds ${tensors.length} tensors but the program declares ${names.length} parameters; the two files do not belong together`);
  }
  const declared = new Map(program.parameters.map((p) => [p.name, p.shape]));
  const byName = new Map<string, Float32Array>();
  names.forEach((name, i) => {
    const t = tensors[i]!;
    const want = declared.get(name)!;
    if (JSON.stringify(t.shape) !== JSON.stringify(want)) {
      throw new PplcnetError('E_WEIGHTS', `${paramsFile}: tensor ${i} ('${name}' in sorted order) has shape ${JSON.stringify(t.shape)} but the program declares ${JSON.stringify(want)}; the two files do not belong together`);
    }
    byName.set(name, toFloat32(t, `${paramsFile}: '${name}'`));
  });
  const weights = new Map<string, Float32Array>();
  for (const [key, name] of reading.keys) {
    let data = byName.get(name)!;
    if (key === 'fc.weight' && reading.fcTransposed) {
      const [out, inF] = declared.get(name)! as [number, number];
      const t = new Float32Array(data.length);
      for (let o = 0; o < out; o++) for (let k = 0; k < inF; k++) t[k * out + o] = data[o * inF + k]!;
      data = t;
    }
    weights.set(key, data);
  }
  return weights;
}

export interface InferenceConversion extends BuiltModel {
  readonly files: InferenceModelFiles;
  readonly reading: ProgramReading;
  readonly description: ModelDescription;
  /** Things that look wrong but do not stop the conversion (NaN or infinite weights, …). */
  readonly warnings: readonly string[];
}

/** Convert a Paddle inference model to ONNX (nothing is written; the caller writes `bytes`). */
export async function convertInferenceModel(
  path: string,
  options: Omit<BuildOptions, 'weights' | 'seed'> & {
    /** What to record where inference.yml is silent (a zoo record's labels, preprocessing, name, license). */
    defaults?: ModelDescription;
  } = {},
): Promise<InferenceConversion> {
  const files = locateInferenceModel(path);
  const program = await readProgramFile(files);
  const reading = interpretProgram(program, files.program);
  const weights = mapInferenceWeights(program, reading, await readBounded(files.params, WEIGHT_LIMITS.maxFileBytes, 'the parameters of a PP-LCNet'), files.params);
  const configText = files.config ? Buffer.from(await readBounded(files.config, CONFIG_LIMITS.maxBytes, 'an inference config')).toString('utf8') : undefined;
  const config = files.config && configText !== undefined ? readInferenceConfig(configText, files.config) : {};
  const arch = reading.architecture;
  const { defaults = {}, ...build } = options;
  const labels = config.labels ?? defaults.labels ?? (arch.classNum === 1000 ? imagenetLabels() : undefined);
  const description: ModelDescription = {
    ...defaults,
    name: config.name ?? defaults.name ?? `PPLCNet_x${scaleTag(arch.scale)}`,
    ...(config.preprocess ? { preprocess: config.preprocess } : {}),
    ...(labels ? { labels } : {}),
    ...(config.topk !== undefined ? { topk: config.topk } : {}),
    source: defaults.source ?? 'Paddle inference model',
    ...options.description,
  };
  if (description.labels && description.labels.length !== arch.classNum) {
    throw new PplcnetError('E_FORMAT', `${files.config ?? 'labels'}: ${description.labels.length} labels for a model of ${arch.classNum} classes`);
  }
  const warnings = nonFiniteWarnings(weights, files.params);
  // the program's head (a sigmoid marks a multi-label model); a program that ends at fc gets a softmax
  const head = build.head ?? (reading.head === 'sigmoid' ? 'sigmoid' : 'softmax');
  const built = buildPPLCNet(arch, { ...build, head, inputSize: build.inputSize ?? reading.inputSize ?? 224, weights, description });
  return { ...built, files, reading, description, warnings };
}
