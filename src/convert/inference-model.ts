/**
 * Paddle inference models → ONNX: a program (`inference.json` or `inference.pdmodel`) and its combined
 * parameters (`inference.pdiparams`), with `inference.yml` when present.
 */
import { scaleTag } from '../builder/architecture.js';
import { type BuildOptions, type BuiltModel, buildPPLCNet } from '../builder/pplcnet.js';
import { PplcnetError } from '../errors.js';
import { imagenetLabels } from '../labels.js';
import type { ModelDescription } from '../metadata.js';
import { nonFiniteWarnings } from './architecture-check.js';
import { readInferenceConfig } from './inference-config.js';
import { type ProgramReading, interpretProgram } from './interpret.js';
import { readPdiparams, toFloat32 } from './pdiparams.js';
import { readProgramDesc } from './pdmodel.js';
import { readPirProgram } from './pir.js';
import { type Program, pdiparamsOrder } from './program.js';
import { FILE_LIMITS } from '../util/file-limits.js';
import { readFileBounded } from '../util/fs.js';
import { type InferenceModelFiles, type InferenceModelSource, readInferenceModel } from './inference-files.js';

export { type InferenceModelFiles, type InferenceModelSource, inferenceModelFromTar, isTarArchive, locateInferenceModel, readInferenceModel } from './inference-files.js';

export async function readProgramFile(files: InferenceModelFiles): Promise<Program> {
  const bytes = await readFileBounded(files.program, FILE_LIMITS.program);
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


export type InferenceConversionOptions = Omit<BuildOptions, 'weights' | 'seed'> & {
  /** What to record where inference.yml is silent (a zoo record's labels, preprocessing, name, license). */
  defaults?: ModelDescription;
};

/** Convert a Paddle inference model (folder, `.json`, `.pdmodel` or `*_infer.tar`) to ONNX (nothing is written; the caller writes `bytes`). */
export async function convertInferenceModel(path: string, options: InferenceConversionOptions = {}): Promise<InferenceConversion> {
  return convertInferenceSource(await readInferenceModel(path), options);
}

/**
 * Read an inference model's files as a conversion does (program, its reading as a PP-LCNet, the weights it
 * names, the config) without building anything: throws what the conversion would.
 */
export function readInferenceSource(source: InferenceModelSource): { reading: ProgramReading; weights: Map<string, Float32Array>; config: ReturnType<typeof readInferenceConfig> } {
  const { files } = source;
  const program = files.format === 'pir-json' ? readPirProgram(Buffer.from(source.program).toString('utf8'), files.program) : readProgramDesc(source.program, files.program);
  const reading = interpretProgram(program, files.program);
  const weights = mapInferenceWeights(program, reading, source.params, files.params);
  const configText = source.config ? Buffer.from(source.config).toString('utf8') : undefined;
  const config = files.config && configText !== undefined ? readInferenceConfig(configText, files.config) : {};
  return { reading, weights, config };
}

/** Convert an inference model's files, already read, to ONNX. */
export async function convertInferenceSource(source: InferenceModelSource, options: InferenceConversionOptions = {}): Promise<InferenceConversion> {
  const { files } = source;
  const { reading, weights, config } = readInferenceSource(source);
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
