/**
 * Paddle inference models → ONNX: a program (`inference.json` or `inference.pdmodel`) and its combined
 * parameters (`inference.pdiparams`), with `inference.yml` when present.
 */
import { constants, existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
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
import { looksLikeTar, readTarFiles } from '../util/tar.js';
import { FILE_LIMITS } from '../util/file-limits.js';
import { type FileLimit, readFileBounded, tooLarge } from '../util/fs.js';

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

/** An inference model's files, each read once: where they are, and their bytes. */
export interface InferenceModelSource {
  readonly files: InferenceModelFiles;
  readonly program: Uint8Array;
  readonly params: Uint8Array;
  readonly config?: Uint8Array;
}

/** Whether `path` is a tar archive: named `.tar`, or a file with a ustar header. */
export async function isTarArchive(path: string): Promise<boolean> {
  if (/\.tar$/i.test(path)) return true;
  if (/\.(json|pdmodel|pdparams|onnx)$/i.test(path) || !existsSync(path) || !statSync(path).isFile()) return false;
  // without blocking: a FIFO that appeared since the check above is not waited for (its read finds nothing)
  const fh = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const head = new Uint8Array(263);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    return looksLikeTar(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

const PROGRAM_NAMES = ['inference.json', 'inference.pdmodel', 'model.json', 'model.pdmodel'];

/**
 * The program file of the one model an archive holds (`undefined` when it holds none). A model is a program
 * with its `.pdiparams` beside it (`inference.json` and `inference.pdmodel` sharing one `inference.pdiparams`
 * are one model, read from the `.json`); an archive with two or more is refused, listing them, rather than
 * converting whichever comes first.
 */
function onlyProgram(names: readonly string[], where: string): string | undefined {
  const isProgram = (f: string): boolean => PROGRAM_NAMES.some((n) => f === n || f.endsWith(`/${n}`));
  const programs = names.filter(isProgram);
  const models = new Map<string, string[]>(); // path without extension → its program files
  for (const f of programs) {
    const stem = f.replace(/\.(json|pdmodel)$/, '');
    if (names.includes(`${stem}.pdiparams`)) models.set(stem, [...(models.get(stem) ?? []), f]);
  }
  if (models.size > 1) {
    const list = [...models.values()].map((fs) => fs.join(' + ')).sort();
    throw new PplcnetError(
      'E_FORMAT',
      `${where}: the archive holds ${models.size} inference models (${list.join('; ')}), expected one; extract it and pass the folder of the model to convert`,
    );
  }
  const pick = (fs: readonly string[]): string | undefined => PROGRAM_NAMES.map((n) => fs.filter((f) => f === n || f.endsWith(`/${n}`)).sort((a, b) => a.split('/').length - b.split('/').length)[0]).find((f) => f !== undefined);
  return pick([...models.values()].flat()) ?? pick(programs);
}

/**
 * The files of an inference model from a `*_infer.tar` archive's bytes, read in memory by the tar reader
 * (headers, checksums and paths checked; links, devices and escaping paths refused); nothing is extracted.
 * Names in `files` are `<where>:<path in the archive>`.
 */
export async function inferenceModelFromTar(tar: Uint8Array, where: string): Promise<InferenceModelSource> {
  if (tar.length > FILE_LIMITS.archive.maxBytes) throw tooLarge(where, tar.length, FILE_LIMITS.archive);
  const entries = await readTarFiles(tar, where);
  const names = [...entries.keys()];
  const program = onlyProgram(names, where);
  if (!program) {
    throw new PplcnetError('E_FORMAT', `${where}: no inference.json or inference.pdmodel in the archive (it holds ${names.slice(0, 5).join(', ') || 'no files'}); pass a Paddle inference model archive (*_infer.tar)`);
  }
  const dir = program.includes('/') ? program.slice(0, program.lastIndexOf('/') + 1) : '';
  const paramsName = program.replace(/\.(json|pdmodel)$/, '.pdiparams');
  const params = entries.get(paramsName);
  if (!params) throw new PplcnetError('E_FORMAT', `${where}: ${program} is in the archive but its parameters ${paramsName} are not; an inference model needs both files`);
  const configName = CONFIG_NAMES.map((n) => dir + n).find((n) => entries.has(n));
  const files: InferenceModelFiles = {
    format: program.endsWith('.json') ? 'pir-json' : 'program-desc',
    program: `${where}:${program}`,
    params: `${where}:${paramsName}`,
    ...(configName ? { config: `${where}:${configName}` } : {}),
  };
  const bounded = (b: Uint8Array, name: string, limit: FileLimit): Uint8Array => {
    if (b.length > limit.maxBytes) throw tooLarge(name, b.length, limit);
    return b;
  };
  return {
    files,
    program: bounded(entries.get(program)!, files.program, FILE_LIMITS.program),
    params: bounded(params, files.params, FILE_LIMITS.pdiparams),
    ...(configName ? { config: bounded(entries.get(configName)!, files.config!, FILE_LIMITS.config) } : {}),
  };
}

/** Read an inference model (folder, `.json`, `.pdmodel`, or a `*_infer.tar` archive), each file once. */
export async function readInferenceModel(path: string): Promise<InferenceModelSource> {
  if (await isTarArchive(path)) {
    if (!existsSync(path)) throw new PplcnetError('E_IO', `${path}: no such file`);
    return inferenceModelFromTar(await readFileBounded(path, FILE_LIMITS.archive), path);
  }
  const files = locateInferenceModel(path);
  const [program, params, config] = await Promise.all([
    readFileBounded(files.program, FILE_LIMITS.program),
    readFileBounded(files.params, FILE_LIMITS.pdiparams),
    files.config ? readFileBounded(files.config, FILE_LIMITS.config) : undefined,
  ]);
  return { files, program, params, ...(config ? { config } : {}) };
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
