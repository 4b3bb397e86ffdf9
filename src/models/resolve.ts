/**
 * What the user gave → a model. The one place that turns a model argument into ONNX bytes: a zoo name
 * (pulled into the cache on first use), an `.onnx` file, ONNX bytes, a `.pdparams`, a Paddle inference model
 * (folder, `.json`, `.pdmodel`) or its `*_infer.tar` archive. Paddle models are converted on first use and
 * cached, keyed by their content, the converter version and the options; every file is read once and its
 * bytes go to the converter. The zoo (`src/zoo/`) only pulls and caches.
 */
import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { BuildOptions } from '../builder/pplcnet.js';
import { type InferenceModelSource, isTarArchive, readInferenceModel } from '../convert/inference-files.js';
import type { WeightsArchitectureOptions } from '../convert/from-weights.js';
import { FILE_LIMITS } from '../util/file-limits.js';
import { PplcnetError, invalidOption } from '../errors.js';
import { imagenetLabels } from '../labels.js';
import type { ModelDescription } from '../metadata.js';
import { packagedModelPath, readFileBounded } from '../util/fs.js';
import { VERSION } from '../version.js';
import { type ConvertedRecord, type Notice, type SourceStamp, cachedModel, defaultCacheDir, sha256, sourceStamp } from '../zoo/cache.js';
import { checkMirror } from '../zoo/mirror.js';
import type { PullOptions } from '../zoo/pull.js';
import { type ZooEntry, findZooEntry, loadZoo, requireZooEntry, zooNameHint } from '../zoo/registry.js';

/** Everything that decides how a model is found, pulled and converted: one options object. */
export interface ResolveOptions extends Omit<PullOptions, 'cacheDir' | 'zoo'> {
  /** Cache folder. [defaultCacheDir()] */
  cacheDir?: string;
  /** Build options for conversions (opset, batch, fold…); part of the cache key. */
  build?: Omit<BuildOptions, 'weights' | 'seed' | 'description'>;
  /** For `.pdparams`: what the weights cannot tell (act, strides, dropout); PaddleClas defaults otherwise. */
  weights?: WeightsArchitectureOptions;
}

/** A model argument: a zoo name or a path (see resolveModel), or the bytes of an ONNX model. */
export type ModelSource = string | Uint8Array;

export interface ResolvedModel {
  /** A display name. */
  readonly name: string;
  readonly bytes: Uint8Array;
  /** The ONNX file, when there is one (given, or cached). */
  readonly path?: string;
  /** How it was obtained: an ONNX file, ONNX bytes, converted now, or taken from the cache. */
  readonly origin: 'onnx' | 'bytes' | 'converted' | 'cache';
  readonly entry?: ZooEntry;
}

/** What kind of model argument `spec` is; a minimal local check by name and, for archives, by header. */
async function kindOf(spec: string): Promise<'onnx' | 'pdparams' | 'inference' | 'tar' | 'other-file' | 'name'> {
  if (/\.onnx$/i.test(spec)) return 'onnx';
  if (/\.pdparams$/i.test(spec)) return 'pdparams';
  if (/\.(json|pdmodel)$/i.test(spec)) return 'inference';
  if (await isTarArchive(spec)) return 'tar';
  if (!existsSync(spec)) return 'name';
  return statSync(spec).isDirectory() ? 'inference' : 'other-file';
}

/** ONNX bytes given directly: a ModelProto starts with a field tag (ir_version is field 1, a varint: 0x08). */
function checkOnnxBytes(bytes: Uint8Array): void {
  if (bytes.length < 16 || bytes[0] !== 0x08) {
    throw new PplcnetError(
      'E_FORMAT',
      `model bytes (${bytes.length} bytes, starting ${Buffer.from(bytes.subarray(0, 4)).toString('hex') || 'with nothing'}): not an ONNX model; pass the bytes of an .onnx file (convert Paddle models first: 'pplcnet convert', or give their path as model)`,
    );
  }
}

/**
 * Turn a model argument into ONNX bytes: ONNX bytes as they are; an `.onnx` file read; a `.pdparams`, an
 * inference model folder/`.json`/`.pdmodel` or a `*_infer.tar` archive converted (once; cached); a zoo name
 * pulled (once; cached) and converted.
 */
export async function resolveModel(model: ModelSource, options: ResolveOptions = {}): Promise<ResolvedModel> {
  if (model instanceof Uint8Array) {
    checkOnnxBytes(model);
    return { name: `<ONNX model, ${model.length} bytes>`, bytes: model, origin: 'bytes' };
  }
  if (typeof model !== 'string' || model === '') throw invalidOption('model', 'a zoo name, a model path or ONNX model bytes (Uint8Array)', model, 'type');
  // a malformed mirror is a bad command line even when this model needs no download
  if (options.mirror !== undefined) checkMirror(options.mirror, 'option');
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const build = options.build ?? {};
  const notice = options.notice;
  const kind = await kindOf(model);
  switch (kind) {
    case 'onnx':
      if (!existsSync(model)) throw new PplcnetError('E_IO', `${model}: no such file`);
      return { name: basename(model).replace(/\.onnx$/i, ''), bytes: await readFileBounded(model, FILE_LIMITS.onnx), path: model, origin: 'onnx' };
    case 'pdparams': {
      const bytes = await readWeights(model);
      const stamp = await sourceStamp(model, model);
      const name = basename(model).replace(/\.pdparams$/i, '');
      return convertWeights(bytes, model, { cacheDir, build, arch: options.weights ?? {}, notice, record: { kind: 'pdparams', name, sources: [stamp] } });
    }
    case 'tar':
    case 'inference': {
      const src = await readInferenceModel(model);
      const tar = kind === 'tar';
      const main = tar ? model : src.files.program;
      const name = basename(model.replace(/[\\/]+$/, '')).replace(/\.tar$/i, '');
      return convertInference(src, { cacheDir, build, name, notice, record: { kind: tar ? 'tar' : 'inference', name, sources: [await sourceStamp(model, main)] } });
    }
    case 'other-file':
      throw new PplcnetError('E_MODEL', `${model}: not a model pplcnet reads (.onnx, .pdparams, a Paddle inference model folder/.json/.pdmodel, or its *_infer.tar archive)`);
    case 'name':
      break;
  }
  const zoo = loadZoo();
  const entry = findZooEntry(model, zoo);
  if (!entry) throw new PplcnetError('E_MODEL', `'${model}' is neither a file nor a zoo model; ${zooNameHint(model, zoo)}`);
  return resolveZooEntry(entry, zoo, { ...options, cacheDir });
}

/** Pull a zoo model by name into the cache and convert it: the ONNX `predict` will use. */
export async function pullZooModel(name: string, options: Omit<ResolveOptions, 'weights'> = {}): Promise<ResolvedModel> {
  const entry = requireZooEntry(name);
  return resolveZooEntry(entry, loadZoo(), { ...options, cacheDir: options.cacheDir ?? defaultCacheDir() });
}

async function resolveZooEntry(entry: ZooEntry, zoo: readonly ZooEntry[], options: ResolveOptions & { cacheDir: string }): Promise<ResolvedModel> {
  const { cacheDir, notice } = options;
  const build = options.build ?? {};
  const stamp: SourceStamp = { source: `${entry.format === 'packaged' ? 'packaged' : 'zoo'}:${entry.name}` };
  if (entry.format === 'packaged') {
    const src = await readInferenceModel(packagedModelPath(entry.packaged!));
    const r = await convertInference(src, { cacheDir, build, name: entry.name, description: entryDescription(entry), notice, record: { kind: 'packaged', name: entry.name, sources: [stamp] } });
    return { ...r, entry };
  }
  // the download code loads only for a zoo model that is pulled (or checked in the cache)
  const { pullModel } = await import('../zoo/pull.js');
  const pulled = await pullModel(entry, { ...options, zoo });
  const onnxDir = ['models', entry.name, 'onnx'];
  const record = { kind: 'zoo' as const, name: entry.name, sources: [stamp] };
  const r =
    entry.format === 'pdparams'
      ? await convertWeights(await readWeights(pulled.source), pulled.source, {
          cacheDir,
          build: { ...(entry.inputSize ? { inputSize: entry.inputSize } : {}), ...build },
          arch: { ...entry.architecture, ...options.weights },
          onnxDir,
          description: entryDescription(entry),
          notice,
          record,
        })
      : await convertInference(await readInferenceModel(pulled.source), { cacheDir, build: entry.head ? { head: entry.head, ...build } : build, name: entry.name, onnxDir, description: entryDescription(entry), notice, record });
  return { ...r, name: entry.name, entry };
}

/** What a zoo record says about its model, for the converted model's metadata. */
function entryDescription(entry: ZooEntry): ModelDescription {
  return {
    name: entry.name,
    ...(entry.preprocess ? { preprocess: entry.preprocess } : {}),
    ...(entry.labels ? { labels: entry.labels === 'imagenet1k' ? imagenetLabels() : entry.labels } : {}),
    ...(entry.topk !== undefined ? { topk: entry.topk } : {}),
    ...(entry.threshold !== undefined ? { threshold: entry.threshold } : {}),
    ...(entry.postprocess !== undefined ? { postprocess: entry.postprocess } : {}),
    source: `pplcnet zoo: ${entry.name}`,
    license: entry.license,
  };
}

/** A `.pdparams` file's bytes, refused before reading when larger than the weights of a PP-LCNet can be. */
function readWeights(path: string): Promise<Uint8Array> {
  return readFileBounded(path, FILE_LIMITS.pdparams);
}

interface CachedConversion {
  cacheDir: string;
  build: ResolveOptions['build'];
  /** Where the ONNX goes, as path segments under the cache root. [['onnx']] */
  onnxDir?: readonly string[];
  /** The zoo record's description: defaults under inference.yml; for `.pdparams`, recorded as given. */
  description?: ModelDescription;
  /** Where to say that a cached model failed its check and was rebuilt. */
  notice?: Notice | undefined;
  /** What the model is made from, recorded beside it. */
  record: Omit<ConvertedRecord, 'convertedAt' | 'pplcnet'>;
}

async function convertInference(src: InferenceModelSource, { cacheDir, build, name, onnxDir = ['onnx'], description: fallback = {}, notice, record }: CachedConversion & { name: string }): Promise<ResolvedModel> {
  const parts = [src.program, src.params, ...(src.config ? [src.config] : [])];
  const key = sha256(`pplcnet ${VERSION}`, JSON.stringify(build ?? {}), JSON.stringify(fallback), ...parts);
  // the model's inference.yml wins; the zoo record fills in what it lacks
  const r = await cachedModel(
    cacheDir,
    onnxDir,
    key,
    async () => {
      // the converter (and the ONNX writer) load only when a conversion is needed
      const { convertInferenceSource } = await import('../convert/inference-model.js');
      return (await convertInferenceSource(src, { ...build, defaults: fallback })).bytes;
    },
    notice,
    record,
  );
  return { name, bytes: r.bytes, ...(r.path ? { path: r.path } : {}), origin: r.fromCache ? 'cache' : 'converted' };
}

async function convertWeights(
  bytes: Uint8Array,
  path: string,
  { cacheDir, build, arch, onnxDir = ['onnx'], description, notice, record }: CachedConversion & { arch: WeightsArchitectureOptions },
): Promise<ResolvedModel> {
  const key = sha256(`pplcnet ${VERSION} pdparams`, JSON.stringify({ build, arch, description }), bytes);
  const r = await cachedModel(
    cacheDir,
    onnxDir,
    key,
    async () => {
      const { convertPdparamsBytes } = await import('../convert/from-weights.js');
      return (await convertPdparamsBytes(bytes, path, { ...build, ...arch, ...(description ? { description } : {}) })).bytes;
    },
    notice,
    record,
  );
  return { name: basename(path).replace(/\.pdparams$/i, ''), bytes: r.bytes, ...(r.path ? { path: r.path } : {}), origin: r.fromCache ? 'cache' : 'converted' };
}
