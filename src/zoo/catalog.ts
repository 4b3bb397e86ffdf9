/**
 * The zoo as a catalog: every model with its state in the cache, one model's full record, the folders
 * models live in.
 */
import { PplcnetError } from '../errors.js';
import { diskBytes, packagedModelPath } from '../util/fs.js';
import { defaultCacheDir } from './cache.js';
import { type SourceRecord, cacheState, modelDir } from './pull.js';
import { type ZooEntry, findZooEntry, loadZoo, zooNameHint } from './registry.js';

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
  readonly folder: string;
  readonly cachedBytes: number;
  /** What was downloaded, its sha256 and how it was verified (pulled models only). */
  readonly source?: SourceRecord;
};

interface CacheOption {
  /** [defaultCacheDir()] */
  cacheDir?: string;
}

/** The zoo record of `name` (or an alias); a typed error naming the command that lists them when there is none. */
export function requireZooEntry(name: string): ZooEntry {
  const e = findZooEntry(name);
  if (!e) throw new PplcnetError('E_MODEL', `'${name}' is not a zoo model; ${zooNameHint(name)}`);
  return e;
}

/** Every zoo model (built-in and `$PPLCNET_REGISTRY`'s) with its cache state. */
export async function listZoo(options: CacheOption = {}): Promise<ZooListing[]> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  return Promise.all(
    loadZoo().map(async (e) => {
      const s = await cacheState(e, cacheDir);
      const size = s.state === 'packaged' ? await diskBytes(packagedModelPath(e.packaged!)) : s.state === 'pulled' ? s.bytes : e.sizeBytes;
      return { ...e, state: s.state, cachedBytes: s.bytes, ...(size !== undefined ? { sizeBytes: size } : {}) };
    }),
  );
}

/** The full record of one model, its cache state and folder. */
export async function zooModelInfo(name: string, options: CacheOption = {}): Promise<ZooModelInfo> {
  const e = requireZooEntry(name);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const s = await cacheState(e, cacheDir);
  return { ...e, state: s.state, folder: modelDir(cacheDir, e.name), cachedBytes: s.bytes, ...(s.record ? { source: s.record } : {}) };
}

/** The cache folder, or the folder of one model in it. */
export function zooPath(name?: string, options: CacheOption = {}): string {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  return name ? modelDir(cacheDir, requireZooEntry(name).name) : cacheDir;
}

