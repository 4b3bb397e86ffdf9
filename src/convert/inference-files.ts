/**
 * Finding and reading a Paddle inference model's files (a folder, a `.json` or `.pdmodel`, or a `*_infer.tar`
 * archive), without the converter: resolving a model that is already converted and cached reads these
 * bytes for its cache key, and nothing more need load (inference-model.ts converts them).
 */
import { constants, existsSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PplcnetError } from '../errors.js';
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
