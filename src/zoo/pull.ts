/**
 * Pulling zoo models into the cache: `<cache>/models/<name>/` holds the downloaded `.pdparams` (or the
 * unpacked inference model under `model/`), `source.json` (URL, sha256, size; written last, so its presence
 * means complete) and converted ONNX files under `onnx/`. A lock keeps concurrent pulls apart.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PplcnetError } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { defaultCacheDir } from './cache.js';
import { type ProgressCallback, download } from './download.js';
import { acquireLock } from './lock.js';
import { type ZooEntry, findZooEntry, loadZoo } from './registry.js';
import { extractTar } from './tar.js';

export interface PullOptions {
  /** [defaultCacheDir()] */
  cacheDir?: string;
  /** Replaces the scheme and host of the source URL (an internal mirror); `$PPLCNET_MIRROR` by default. */
  mirror?: string;
  /** Never touch the network; `$PPLCNET_OFFLINE=1` by default. */
  offline?: boolean;
  onProgress?: ProgressCallback;
  /** The registry to use. [loadZoo()] */
  zoo?: readonly ZooEntry[];
}

export interface PulledModel {
  readonly entry: ZooEntry;
  /** `<cache>/models/<name>` */
  readonly dir: string;
  /** The `.pdparams` file, or the inference model folder. */
  readonly source: string;
  readonly sha256: string;
  readonly fromCache: boolean;
}

export interface SourceRecord {
  url: string;
  sha256: string;
  bytes: number;
  /** Whether the registry knew the digest (verified) or it was recorded from what was fetched. */
  verified: boolean;
}

/** `https://host/a/b.tar` with mirror `http://127.0.0.1:8080/m/` → `http://127.0.0.1:8080/m/a/b.tar`. */
export function mirrorUrl(url: string, mirror: string | undefined): string {
  if (!mirror) return url;
  const u = new URL(url);
  const base = mirror.endsWith('/') ? mirror : `${mirror}/`;
  return new URL(u.pathname.replace(/^\//, '') + u.search, base).toString();
}

export function modelDir(cacheDir: string, name: string): string {
  return join(cacheDir, 'models', name);
}

export function resolvePullOptions(options: PullOptions): Required<Pick<PullOptions, 'cacheDir'>> & PullOptions {
  return {
    ...options,
    cacheDir: options.cacheDir ?? defaultCacheDir(),
    mirror: options.mirror ?? (process.env.PPLCNET_MIRROR || undefined),
    offline: options.offline ?? ['1', 'true', 'yes'].includes((process.env.PPLCNET_OFFLINE ?? '').toLowerCase()),
  };
}

async function cached(entry: ZooEntry, dir: string): Promise<PulledModel | undefined> {
  const record = join(dir, 'source.json');
  if (!existsSync(record)) return undefined;
  const r = JSON.parse(await readFile(record, 'utf8')) as SourceRecord;
  const source = entry.format === 'pdparams' ? join(dir, `${entry.name}.pdparams`) : join(dir, 'model');
  if (!existsSync(source)) return undefined;
  return { entry, dir, source, sha256: r.sha256, fromCache: true };
}

/** Pull a zoo model (by name or record) into the cache, or find it there. */
export async function pullModel(name: string | ZooEntry, options: PullOptions = {}): Promise<PulledModel> {
  const o = resolvePullOptions(options);
  const entry = typeof name === 'string' ? findZooEntry(name, o.zoo ?? loadZoo()) : name;
  if (!entry) throw new PplcnetError('E_MODEL', `'${String(name)}' is not a zoo model; 'pplcnet zoo list' shows them`);
  if (entry.format === 'packaged') throw new PplcnetError('E_MODEL', `${entry.name} ships with pplcnet; nothing to pull`);
  const dir = modelDir(o.cacheDir, entry.name);
  const have = await cached(entry, dir);
  if (have) {
    o.onProgress?.({ status: 'ready', name: entry.name, path: have.source });
    return have;
  }
  const url = mirrorUrl(entry.urls[0]!, o.mirror);
  if (o.offline) {
    throw new PplcnetError(
      'E_OFFLINE',
      `${entry.name} is not in the cache (${dir}) and offline mode forbids downloading. On a connected machine run 'pplcnet pull ${entry.name}' and copy ${dir}, or point --mirror/PPLCNET_MIRROR at a server holding ${new URL(entry.urls[0]!).pathname}, or fetch ${url} yourself and use --model <file>.`,
    );
  }
  await mkdir(dir, { recursive: true });
  const release = await acquireLock(join(dir, '.lock'));
  try {
    const again = await cached(entry, dir); // another process may have finished while we waited
    if (again) {
      o.onProgress?.({ status: 'ready', name: entry.name, path: again.source });
      return again;
    }
    const file = entry.format === 'pdparams' ? join(dir, `${entry.name}.pdparams`) : join(dir, `${entry.name}_infer.tar`);
    const sha256 = await download(url, file, { ...(entry.sha256 ? { sha256: entry.sha256 } : {}), name: entry.name, ...(o.onProgress ? { onProgress: o.onProgress } : {}) });
    let source = file;
    if (entry.format === 'inference') {
      const staging = join(dir, `model.tmp.${process.pid}`);
      await rm(staging, { recursive: true, force: true });
      try {
        const files = await extractTar(new Uint8Array(await readFile(file)), staging, file);
        const programs = files.filter((f) => /(^|\/)(inference|model)\.(json|pdmodel)$/.test(f));
        if (programs.length === 0) throw new PplcnetError('E_FORMAT', `${file}: no inference.json or inference.pdmodel in the archive (it holds ${files.slice(0, 5).join(', ')})`);
        const inner = programs[0]!.includes('/') ? programs[0]!.slice(0, programs[0]!.lastIndexOf('/')) : '';
        source = join(dir, 'model');
        await rm(source, { recursive: true, force: true });
        await rename(join(staging, inner), source);
      } catch (err) {
        await rm(file, { force: true });
        throw err;
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
      await rm(file, { force: true });
    }
    const record: SourceRecord = { url, sha256, bytes: entry.format === 'pdparams' ? (await stat(file)).size : 0, verified: Boolean(entry.sha256) };
    await writeFileAtomic(join(dir, 'source.json'), `${JSON.stringify(record, null, 1)}\n`);
    o.onProgress?.({ status: 'ready', name: entry.name, path: source });
    return { entry, dir, source, sha256, fromCache: false };
  } finally {
    await release();
  }
}

/** Remove a pulled model (its files and converted ONNX). Resolves to whether anything was there. */
export async function removeModel(name: string, options: PullOptions = {}): Promise<boolean> {
  const o = resolvePullOptions(options);
  const entry = findZooEntry(name, o.zoo ?? loadZoo());
  const dir = modelDir(o.cacheDir, entry?.name ?? name);
  if (!existsSync(dir)) return false;
  await rm(dir, { recursive: true, force: true });
  return true;
}

/** Cached state of an entry: 'packaged', 'pulled' or 'remote'; and the bytes used under its folder. */
export async function cacheState(entry: ZooEntry, cacheDir: string): Promise<{ state: 'packaged' | 'pulled' | 'remote'; bytes: number }> {
  const dir = modelDir(cacheDir, entry.name);
  const size = async (p: string): Promise<number> => {
    const s = await stat(p);
    if (!s.isDirectory()) return s.size;
    let n = 0;
    for (const e of await readdir(p)) n += await size(join(p, e));
    return n;
  };
  const bytes = existsSync(dir) ? await size(dir) : 0;
  if (entry.format === 'packaged') return { state: 'packaged', bytes };
  return { state: (await cached(entry, dir)) ? 'pulled' : 'remote', bytes };
}
