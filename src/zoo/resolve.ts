/**
 * `--model` resolution: a zoo name, an `.onnx` file, or a Paddle model (inference model folder/`.json`/
 * `.pdmodel`, or `.pdparams`) converted on first use and cached, keyed by its content and the converter version.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { BuildOptions } from '../builder/pplcnet.js';
import type { WeightsArchitectureOptions } from '../convert/from-weights.js';
import { PplcnetError } from '../errors.js';
import { packagedModelPath } from '../util/fs.js';
import { VERSION } from '../version.js';
import { cachedModel, defaultCacheDir, sha256 } from './cache.js';
import { ZOO, type ZooEntry, findZooEntry } from './registry.js';

export interface ResolveOptions {
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
  if (spec.endsWith('.pdparams')) return convertWeightsCached(spec, cacheDir, build, options.weights ?? {});
  if (isInferenceModelPath(spec)) return convertCached(spec, cacheDir, build, basename(spec.replace(/\/$/, '')));
  const entry = findZooEntry(spec);
  if (entry?.format === 'packaged') {
    const r = await convertCached(packagedModelPath(entry.packaged!), cacheDir, build, entry.name);
    return { ...r, entry };
  }
  if (entry) {
    throw new PplcnetError('E_OFFLINE', `${entry.name} is not downloaded; pulling zoo models is not available in this version. Convert its file yourself with 'pplcnet convert'.`);
  }
  if (existsSync(spec)) throw new PplcnetError('E_MODEL', `${spec}: not a model pplcnet reads (.onnx, .pdparams, or a Paddle inference model folder/.json/.pdmodel)`);
  const names = ZOO.map((e) => e.name).join(', ');
  throw new PplcnetError('E_MODEL', `'${spec}' is neither a file nor a zoo model. Zoo models: ${names}.`);
}

async function convertCached(path: string, cacheDir: string, build: ResolveOptions['build'], name: string): Promise<ResolvedModel> {
  // the converter (and the ONNX writer) load only when a conversion may be needed
  const { convertInferenceModel, locateInferenceModel } = await import('../convert/inference-model.js');
  const files = locateInferenceModel(path);
  const parts = await Promise.all([files.program, files.params, ...(files.config ? [files.config] : [])].map((f) => readFile(f)));
  const key = sha256(`pplcnet ${VERSION}`, JSON.stringify(build ?? {}), ...parts.map((p) => new Uint8Array(p)));
  const r = await cachedModel(cacheDir, key, async () => (await convertInferenceModel(path, build)).bytes);
  return { name, bytes: r.bytes, ...(r.path ? { path: r.path } : {}), origin: r.fromCache ? 'cache' : 'converted' };
}

async function convertWeightsCached(path: string, cacheDir: string, build: ResolveOptions['build'], arch: WeightsArchitectureOptions): Promise<ResolvedModel> {
  if (!existsSync(path)) throw new PplcnetError('E_IO', `${path}: no such file`);
  const bytes = new Uint8Array(await readFile(path));
  const key = sha256(`pplcnet ${VERSION} pdparams`, JSON.stringify({ build, arch }), bytes);
  const r = await cachedModel(cacheDir, key, async () => {
    const { convertPdparams } = await import('../convert/from-weights.js');
    return (await convertPdparams(path, { ...build, ...arch })).bytes;
  });
  return { name: basename(path, '.pdparams'), bytes: r.bytes, ...(r.path ? { path: r.path } : {}), origin: r.fromCache ? 'cache' : 'converted' };
}
