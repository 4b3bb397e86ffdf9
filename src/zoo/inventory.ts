/**
 * What the cache holds, and removing from it: pulled zoo models (`models/<name>/`), models converted from
 * the user's own files (`onnx/<key>.onnx`, each with `<key>.onnx.json` naming its source, size and mtime;
 * the JSON's modification time is the last use) and leftovers of interrupted work (`.partial` downloads,
 * `.rejected` files moved aside, temp files of processes that are gone).
 */
import { existsSync } from 'node:fs';
import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { alive } from './lock.js';
import { PplcnetError } from '../errors.js';
import { diskBytes, readTextBounded } from '../util/fs.js';
import { FILE_LIMITS } from '../util/file-limits.js';
import { type ConvertedRecord, cachePath, defaultCacheDir, isPlainName, readConvertedRecord } from './cache.js';
import { removeModel } from './pull.js';
import { findZooEntry } from './registry.js';

/** One thing in the cache. */
export interface CacheItem {
  /** `zoo`: a pulled (or packaged-and-converted) zoo model's folder; `converted`: a model converted from a local file; `leftover`: what interrupted work left. */
  readonly kind: 'zoo' | 'converted' | 'leftover';
  /** What `cache rm` takes: the zoo model's name, the converted model's key (sha256, first 12 digits), or the leftover's path in the cache. */
  readonly id: string;
  /** Absolute path (the folder, the `.onnx`, the leftover). */
  readonly path: string;
  /** Bytes on disk (with the digest and record files beside a converted model). */
  readonly bytes: number;
  /** ms since the epoch: last use (converted models, zoo models), else last change. */
  readonly lastUsedMs: number;
  /** Zoo models: whether the pull finished (its `source.json` is there). */
  readonly complete?: boolean;
  /** Converted models: what they were made from. */
  readonly record?: ConvertedRecord;
  /** Converted models: why the model is stale (every source gone or changed since), when it is. */
  readonly stale?: string;
}

export interface CacheOptions {
  /** [defaultCacheDir()] */
  cacheDir?: string;
}

/** Whether `dir` holds any file (not only folders). */
async function hasFiles(dir: string): Promise<boolean> {
  for (const e of await readdir(dir, { withFileTypes: true })) if (!e.isDirectory() || (await hasFiles(join(dir, e.name)))) return true;
  return false;
}

async function mtimeOf(p: string): Promise<number> {
  return (await stat(p).catch(() => undefined))?.mtimeMs ?? 0;
}


/** Whether a folder is locked by a live pplcnet process (a pull in progress). */
async function lockedByLiveProcess(dir: string): Promise<boolean> {
  const pid = Number((await readTextBounded(join(dir, '.lock'), FILE_LIMITS.cacheRecord).catch(() => '')).trim());
  return Number.isInteger(pid) && pid > 0 && alive(pid);
}

/** `.partial`, `.rejected` and temp files (`.tmp.<pid>…`, `model.tmp.<pid>`) of processes that are gone. */
function leftoverKind(name: string): boolean {
  if (/\.(partial|rejected)$/.test(name)) return true;
  const tmp = /\.tmp\.(\d+)(\.[0-9a-f]+)?$/.exec(name);
  return tmp !== null && !alive(Number(tmp[1]));
}

/** Why a converted model's sources no longer stand (each missing or changed), or undefined when one does. */
async function staleness(record: ConvertedRecord | undefined): Promise<string | undefined> {
  const local = record?.sources.filter((s) => s.file !== undefined) ?? [];
  if (!record || local.length === 0 || local.length !== record.sources.length) return undefined;
  const why: string[] = [];
  for (const s of local) {
    const now = await stat(s.file!).catch(() => undefined);
    if (!now) why.push(`${s.source} no longer exists`);
    else if (now.size !== s.size || Math.round(now.mtimeMs) !== s.mtimeMs) why.push(`${s.source} has changed since (${s.size} → ${now.size} bytes)`);
    else return undefined;
  }
  return why.join('; ');
}

/** Converted models in `<dir>` (`<key>.onnx` with their digest and record). */
async function convertedIn(dir: string): Promise<CacheItem[]> {
  if (!existsSync(dir)) return [];
  const items: CacheItem[] = [];
  for (const f of (await readdir(dir)).sort()) {
    const m = /^([0-9a-f]{64})\.onnx$/.exec(f);
    if (!m) continue;
    const path = join(dir, f);
    const record = await readConvertedRecord(path);
    const stale = await staleness(record);
    const bytes = (await diskBytes(path)) + (await diskBytes(`${path}.sha256`)) + (await diskBytes(`${path}.json`));
    const lastUsedMs = existsSync(`${path}.json`) ? await mtimeOf(`${path}.json`) : await mtimeOf(path);
    items.push({ kind: 'converted', id: m[1]!.slice(0, 12), path, bytes, lastUsedMs, ...(record ? { record } : {}), ...(stale ? { stale } : {}) });
  }
  return items;
}

/**
 * The models converted from a shipped zoo model: `onnx/<key>.onnx` whose record names `packaged:<name>` as
 * a source (a pulled model converts inside its own folder instead).
 */
export async function packagedConversions(name: string, options: CacheOptions = {}): Promise<CacheItem[]> {
  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
  return (await convertedIn(join(cacheDir, 'onnx'))).filter((i) => i.record?.sources.some((s) => s.source === `packaged:${name}`));
}

/** Leftovers under `dir` (recursively; folders with a live lock are skipped). */
async function leftoversIn(cacheDir: string, dir: string): Promise<CacheItem[]> {
  if (!existsSync(dir) || (await lockedByLiveProcess(dir))) return [];
  const items: CacheItem[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (leftoverKind(e.name)) {
      items.push({ kind: 'leftover', id: relative(cacheDir, path).split('\\').join('/'), path, bytes: await diskBytes(path), lastUsedMs: await mtimeOf(path) });
    } else if (e.isDirectory()) items.push(...(await leftoversIn(cacheDir, path)));
  }
  return items;
}

/** Every item in the cache: zoo model folders, models converted from local files, leftovers. */
export async function listCache(options: CacheOptions = {}): Promise<CacheItem[]> {
  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
  const items: CacheItem[] = [];
  const models = join(cacheDir, 'models');
  if (existsSync(models)) {
    for (const name of (await readdir(models)).sort()) {
      const dir = join(models, name);
      if (!isPlainName(name) || !(await stat(dir)).isDirectory()) continue;
      const bytes = await diskBytes(dir);
      if (!(await hasFiles(dir))) {
        // nothing in it but empty folders: what an interrupted pull of an older pplcnet left
        items.push({ kind: 'leftover', id: `models/${name}`, path: dir, bytes: 0, lastUsedMs: await mtimeOf(dir) });
        continue;
      }
      const used = await Promise.all([join(dir, 'source.json'), ...(existsSync(join(dir, 'onnx')) ? (await readdir(join(dir, 'onnx'))).map((f) => join(dir, 'onnx', f)) : [])].map(mtimeOf));
      const complete = existsSync(join(dir, 'source.json'));
      items.push({ kind: 'zoo', id: name, path: dir, bytes, lastUsedMs: Math.max(0, ...used) || (await mtimeOf(dir)), complete });
    }
  }
  items.push(...(await convertedIn(join(cacheDir, 'onnx'))));
  items.push(...(await leftoversIn(cacheDir, models)), ...(await leftoversIn(cacheDir, join(cacheDir, 'onnx'))));
  return items;
}

/** Remove a converted model: the ONNX, its digest and its record. */
async function removeConverted(path: string): Promise<void> {
  for (const f of [`${path}.json`, `${path}.sha256`, path]) await rm(f, { force: true });
}

async function removeItem(cacheDir: string, item: CacheItem): Promise<void> {
  const path = cachePath(cacheDir, relative(cacheDir, item.path)); // never outside the cache
  if (item.kind === 'converted') await removeConverted(path);
  else await rm(path, { recursive: true, force: true });
}

/**
 * Remove what `target` names: a zoo model (name or alias), a converted model (its key, or a prefix of at
 * least 6 hex digits that names one), every model converted from a path (the file or folder given when it
 * was converted), or a leftover (its path in the cache). Resolves to what was removed; nothing matching is
 * an E_MODEL error naming `pplcnet cache ls`.
 */
export async function removeFromCache(target: string, options: CacheOptions = {}): Promise<CacheItem[]> {
  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
  const items = await listCache({ cacheDir });
  let chosen: CacheItem[] = [];
  const entry = isPlainName(target) ? findZooEntry(target) : undefined;
  const zooName = entry?.name ?? target;
  const zoo = items.filter((i) => i.kind === 'zoo' && i.id.toLowerCase() === zooName.toLowerCase());
  if (zoo.length) {
    await removeModel(zoo[0]!.id, { cacheDir });
    return zoo;
  }
  if (/^[0-9a-f]{6,64}$/i.test(target)) {
    const all = [...items.filter((i) => i.kind === 'converted'), ...(await zooConverted(cacheDir))];
    chosen = all.filter((i) => basename(i.path).startsWith(target.toLowerCase()));
    if (chosen.length > 1) throw new PplcnetError('E_MODEL', `'${target}' names ${chosen.length} cached models (${chosen.map((i) => i.id).join(', ')}); give more digits`);
  }
  if (!chosen.length) {
    const abs = resolve(target);
    chosen = items.filter((i) => (i.kind === 'converted' && i.record?.sources.some((s) => s.source === abs || s.file === abs)) || i.path === abs || (i.kind === 'leftover' && i.id === target));
  }
  if (!chosen.length) throw new PplcnetError('E_MODEL', `${target}: nothing in the cache (${cacheDir}) matches it; 'pplcnet cache ls' lists what is there (zoo names, keys, source paths)`);
  for (const i of chosen) await removeItem(cacheDir, i);
  return chosen;
}

/** Converted models inside zoo model folders (`models/<name>/onnx/`). */
async function zooConverted(cacheDir: string): Promise<CacheItem[]> {
  const models = join(cacheDir, 'models');
  if (!existsSync(models)) return [];
  const out: CacheItem[] = [];
  for (const name of await readdir(models)) if (isPlainName(name)) out.push(...(await convertedIn(join(models, name, 'onnx'))));
  return out;
}

export interface PruneOptions extends CacheOptions {
  /** Also remove converted models (local and zoo) not used for this long, ms. [never by age] */
  olderThanMs?: number;
  /** Report what would be removed; remove nothing. [false] */
  dryRun?: boolean;
  /** ms since the epoch. [Date.now()] */
  now?: number;
}

/** One pruned item and why. */
export type PrunedItem = CacheItem & { readonly reason: string };

/**
 * Remove what is no longer needed: models converted from a local file that no longer exists or has changed
 * since (a new conversion has another key), converted models not used for `olderThanMs` (they are rebuilt on
 * next use; zoo downloads are kept), and leftovers (`.partial`, `.rejected`, stale temp files; folders locked
 * by a running pull are skipped). Resolves to what was (or, with `dryRun`, would be) removed.
 */
export async function pruneCache(options: PruneOptions = {}): Promise<PrunedItem[]> {
  const cacheDir = resolve(options.cacheDir ?? defaultCacheDir());
  const now = options.now ?? Date.now();
  if (options.olderThanMs !== undefined && !(options.olderThanMs >= 0)) throw new RangeError(`Expected a duration >= 0 for 'olderThanMs' but received ${options.olderThanMs}`);
  const items = await listCache({ cacheDir });
  const out: PrunedItem[] = [];
  const old = (i: CacheItem) => options.olderThanMs !== undefined && now - i.lastUsedMs > options.olderThanMs;
  const days = (ms: number) => `${((now - ms) / 86_400_000).toFixed(1)} days`;
  for (const i of [...items.filter((x) => x.kind !== 'zoo'), ...(options.olderThanMs !== undefined ? await zooConverted(cacheDir) : [])]) {
    if (i.kind === 'leftover') {
      const reason = /\.partial$/.test(i.path) ? 'an unfinished download' : /\.rejected$/.test(i.path) ? 'a file moved aside after failing its check' : /\.tmp\./.test(i.path) ? 'a temp file of a process that is gone' : 'an empty folder';
      out.push({ ...i, reason });
    }
    else if (i.stale) out.push({ ...i, reason: i.stale });
    else if (old(i)) out.push({ ...i, reason: `not used for ${days(i.lastUsedMs)}` });
  }
  if (!options.dryRun) {
    for (const i of out) await removeItem(cacheDir, i);
    // a zoo model folder that only held what was pruned
    const models = join(cacheDir, 'models');
    for (const name of existsSync(models) ? await readdir(models) : []) {
      const dir = join(models, name);
      if (isPlainName(name) && out.some((i) => i.path.startsWith(`${dir}/`)) && !(await hasFiles(dir).catch(() => true))) await rm(cachePath(cacheDir, 'models', name), { recursive: true, force: true });
    }
    await rmdir(models).catch(() => {}); // only when empty

  }
  return out;
}
