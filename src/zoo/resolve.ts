/**
 * `--model` resolution: a zoo name, an `.onnx` file, or a Paddle model (inference model folder/`.json`/
 * `.pdmodel`, or `.pdparams`) converted on first use and cached, keyed by its content and the converter version.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { imagenetLabels } from '../labels.js';
import type { ModelDescription } from '../metadata.js';
import type { BuildOptions } from '../builder/pplcnet.js';
import type { WeightsArchitectureOptions } from '../convert/from-weights.js';
import { PplcnetError } from '../errors.js';
import { packagedModelPath } from '../util/fs.js';
import { VERSION } from '../version.js';
import { type Notice, cachedModel, defaultCacheDir, sha256 } from './cache.js';
import { type ZooEntry, findZooEntry, loadZoo } from './registry.js';
import { type PullOptions, pullModel } from './pull.js';

export interface ResolveOptions extends Omit<PullOptions, 'cacheDir' | 'zoo'> {
  /** Cache folder. [defaultCacheDir()] */
  cacheDir?: string;
  /** Build options for conversions (opset, batch, fold…); part of the cache key. */
  build?: Omit<BuildOptions, 'weights' | 'seed' | 'description'>;
  /** For `.pdparams`: what the weights cannot tell (act, strides, dropout); PaddleClas defaults otherwise. */
  weights?: WeightsArchitectureOptions;
}

export interface ResolvedModel {
  /** A display name. */
  readonly name: string;
  readonly bytes: Uint8Array;
  /** The ONNX file, when there is one (given, or cached). */
  readonly path?: string;
  /** How it was obtained. */
  readonly origin: 'onnx' | 'converted' | 'cache';
  readonly entry?: ZooEntry;
}

function isInferenceModelPath(p: string): boolean {
  if (/\.(json|pdmodel)$/.test(p)) return true;
  return existsSync(p) && statSync(p).isDirectory();
}

/** Turn a `--model` value into ONNX bytes. */
export async function resolveModel(spec: string, options: ResolveOptions = {}): Promise<ResolvedModel> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const build = options.build ?? {};
  if (spec.endsWith('.onnx')) {
    if (!existsSync(spec)) throw new PplcnetError('E_IO', `${spec}: no such file`);
    return { name: basename(spec, '.onnx'), bytes: new Uint8Array(await readFile(spec)), path: spec, origin: 'onnx' };
  }
  if (spec.endsWith('.pdparams')) return convertWeightsCached({ path: spec, cacheDir, build, arch: options.weights ?? {}, notice: options.notice });
  if (isInferenceModelPath(spec)) return convertCached({ path: spec, cacheDir, build, name: basename(spec.replace(/\/$/, '')), notice: options.notice });
  if (existsSync(spec)) throw new PplcnetError('E_MODEL', `${spec}: not a model pplcnet reads (.onnx, .pdparams, or a Paddle inference model folder/.json/.pdmodel)`);
  const zoo = loadZoo();
  const entry = findZooEntry(spec, zoo);
  if (!entry) {
    throw new PplcnetError('E_MODEL', `'${spec}' is neither a file nor a zoo model. Zoo models: ${zoo.map((e) => e.name).join(', ')}.`);
  }
  if (entry.format === 'packaged') {
    const r = await convertCached({ path: packagedModelPath(entry.packaged!), cacheDir, build, name: entry.name, description: entryDescription(entry), notice: options.notice });
    return { ...r, entry };
  }
  const pulled = await pullModel(entry, { ...options, cacheDir, zoo });
  const onnxDir = ['models', entry.name, 'onnx'];
  const r =
    entry.format === 'pdparams'
      ? await convertWeightsCached({
          path: pulled.source,
          cacheDir,
          build: { ...(entry.inputSize ? { inputSize: entry.inputSize } : {}), ...build },
          arch: { ...entry.architecture, ...options.weights },
          onnxDir,
          description: entryDescription(entry),
          notice: options.notice,
        })
      : await convertCached({ path: pulled.source, cacheDir, build: entry.head ? { head: entry.head, ...build } : build, name: entry.name, onnxDir, description: entryDescription(entry), notice: options.notice });
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

/** What a cached conversion needs. */
interface CachedConversion {
  path: string;
  cacheDir: string;
  build: ResolveOptions['build'];
  /** Where the ONNX goes, as path segments under the cache root. [['onnx']] */
  onnxDir?: readonly string[];
  /** The zoo record's description: defaults under inference.yml; for `.pdparams`, recorded as given. */
  description?: ModelDescription;
  /** Where to say that a cached model failed its check and was rebuilt. */
  notice?: Notice | undefined;
}

async function convertCached({ path, cacheDir, build, name, onnxDir = ['onnx'], description: fallback = {}, notice }: CachedConversion & { name: string }): Promise<ResolvedModel> {
  // the converter (and the ONNX writer) load only when a conversion may be needed
  const { convertInferenceModel, locateInferenceModel } = await import('../convert/inference-model.js');
  const files = locateInferenceModel(path);
  const parts = await Promise.all([files.program, files.params, ...(files.config ? [files.config] : [])].map((f) => readFile(f)));
  const key = sha256(`pplcnet ${VERSION}`, JSON.stringify(build ?? {}), JSON.stringify(fallback), ...parts.map((p) => new Uint8Array(p)));
  // the model's inference.yml wins; the zoo record fills in what it lacks
  const r = await cachedModel(cacheDir, onnxDir, key, async () => (await convertInferenceModel(path, { ...build, defaults: fallback })).bytes, notice);
  return { name, bytes: r.bytes, ...(r.path ? { path: r.path } : {}), origin: r.fromCache ? 'cache' : 'converted' };
}

async function convertWeightsCached({ path, cacheDir, build, arch, onnxDir = ['onnx'], description, notice }: CachedConversion & { arch: WeightsArchitectureOptions }): Promise<ResolvedModel> {
  if (!existsSync(path)) throw new PplcnetError('E_IO', `${path}: no such file`);
  const bytes = new Uint8Array(await readFile(path));
  const key = sha256(`pplcnet ${VERSION} pdparams`, JSON.stringify({ build, arch, description }), bytes);
  const r = await cachedModel(
    cacheDir,
    onnxDir,
    key,
    async () => {
      const { convertPdparams } = await import('../convert/from-weights.js');
      return (await convertPdparams(path, { ...build, ...arch, ...(description ? { description } : {}) })).bytes;
    },
    notice,
  );
  return { name: basename(path, '.pdparams'), bytes: r.bytes, ...(r.path ? { path: r.path } : {}), origin: r.fromCache ? 'cache' : 'converted' };
}
