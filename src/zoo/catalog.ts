/**
 * The zoo as a catalog: every model with its state in the cache, one model's full record, the folders
 * models live in.
 */
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { diskBytes, packagedModelPath } from '../util/fs.js';
import { defaultCacheDir } from './cache.js';
import { packagedConversions } from './inventory.js';
import { type SourceRecord, cacheState, modelDir } from './pull.js';
import { type ZooEntry, loadZoo, requireZooEntry } from './registry.js';

/** A zoo record with its cache state. */
export type ZooListing = ZooEntry & {
  /** `packaged` (ships with pplcnet), `pulled` (in the cache) or `remote`. */
  readonly state: 'packaged' | 'pulled' | 'remote';
  /** Bytes under the model's cache folder. */
  readonly cachedBytes: number;
  /**
   * The model's size: what it takes in the cache (pulled: the download and its converted ONNX), what the
   * registry says the download is (remote; absent when unknown), or the shipped files (packaged).
   */
  readonly sizeBytes?: number;
};

/** A zoo record with its cache state and folder. */
export type ZooModelInfo = ZooEntry & {
  readonly state: ZooListing['state'];
  /** The model's folder in the cache: a pulled model's download and conversion (absent until pulled). */
  readonly folder: string;
  /** Bytes the model takes in the cache: its folder, and a shipped model's conversions (`converted`). */
  readonly cachedBytes: number;
  /** The shipped model's files: the folder in the installed package (shipped models only). */
  readonly packaged?: string;
  /** The model's converted ONNX files in the cache (a shipped model's are under `onnx/`, a pulled one's in its folder). */
  readonly converted: readonly string[];
  /** What was downloaded, its sha256 and how it was verified (pulled models only). */
  readonly source?: SourceRecord;
};

interface CacheOption {
  /** [defaultCacheDir()] */
  cacheDir?: string;
}


/** Every zoo model (built-in and `$PPLCNET_REGISTRY`'s) with its cache state. */
export async function listZoo(options: CacheOption = {}): Promise<ZooListing[]> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  return Promise.all(
    loadZoo().map(async (e) => {
      const s = await cacheState(e, cacheDir);
      const size = s.state === 'packaged' ? await diskBytes(packagedModelPath(e.packaged!)) : s.state === 'pulled' ? s.bytes : e.sizeBytes;
      const converted = await convertedFiles(e, cacheDir);
      return { ...e, state: s.state, cachedBytes: s.bytes + converted.bytes, ...(size !== undefined ? { sizeBytes: size } : {}) };
    }),
  );
}

/**
 * A model's converted ONNX files in the cache, and the bytes a shipped model's take (with their digest and
 * record files) outside its folder; a pulled model's are inside it, so already counted.
 */
async function convertedFiles(e: ZooEntry, cacheDir: string): Promise<{ paths: string[]; bytes: number }> {
  if (e.format === 'packaged') {
    const items = await packagedConversions(e.name, { cacheDir });
    return { paths: items.map((i) => i.path), bytes: items.reduce((n, i) => n + i.bytes, 0) };
  }
  const onnx = join(modelDir(cacheDir, e.name), 'onnx');
  const names = existsSync(onnx) ? (await readdir(onnx)).filter((f) => /^[0-9a-f]{64}\.onnx$/.test(f)).sort() : [];
  return { paths: names.map((f) => join(onnx, f)), bytes: 0 };
}

/** The full record of one model, its cache state and folder. */
export async function zooModelInfo(name: string, options: CacheOption = {}): Promise<ZooModelInfo> {
  const e = requireZooEntry(name);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const s = await cacheState(e, cacheDir);
  const converted = await convertedFiles(e, cacheDir);
  return {
    ...e,
    ...(e.packaged ? { packaged: packagedModelPath(e.packaged) } : {}),
    state: s.state,
    folder: modelDir(cacheDir, e.name),
    cachedBytes: s.bytes + converted.bytes,
    converted: converted.paths,
    ...(s.record ? { source: s.record } : {}),
  };
}

/** The cache folder, or the folder of one model in it. */
export function zooPath(name?: string, options: CacheOption = {}): string {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  return name ? modelDir(cacheDir, requireZooEntry(name).name) : cacheDir;
}

