/** The pplcnet cache: where pulled sources and converted models live, and the checks that keep it there. */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, realpathSync } from 'node:fs';
import { rm, stat, utimes } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { PplcnetError, invalidOption } from '../errors.js';
import { type FileLimit, readFileBounded, readTextBounded, writeFileAtomic } from '../util/fs.js';
import { FILE_LIMITS } from '../util/file-limits.js';

/** A converted model in the cache: at most what a conversion can make (its source's limit, a `.pdparams`). */
const CACHED_MODEL: FileLimit = {
  what: 'a converted model in the cache',
  maxBytes: FILE_LIMITS.pdparams.maxBytes,
  code: 'E_MODEL',
  advice: 'pplcnet writes no such file: remove it (pplcnet converts the model again)',
};
import { VERSION } from '../version.js';

/** `$PPLCNET_HOME`, else `$XDG_CACHE_HOME/pplcnet`, else `~/.cache/pplcnet` (Linux) or the platform's cache folder. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PPLCNET_HOME) return env.PPLCNET_HOME;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'pplcnet');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'pplcnet');
  if (process.platform === 'win32') return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'pplcnet', 'cache');
  return join(homedir(), '.cache', 'pplcnet');
}

export function sha256(...parts: (Uint8Array | string)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(typeof p === 'string' ? `${p.length}:${p}` : p);
  }
  return h.digest('hex');
}

/** The sha256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * What identifies one state of a file without reading it: size, inode and change time (ctime, which no
 * user-level tool can set back), and when the stamp was taken.
 */
export interface FileStamp {
  size: number;
  ino: string;
  ctimeNs: string;
  /** ms since the epoch */
  at: number;
}

export async function fileStamp(path: string): Promise<FileStamp> {
  const s = await stat(path, { bigint: true });
  return { size: Number(s.size), ino: String(s.ino), ctimeNs: String(s.ctimeNs), at: Date.now() };
}

/**
 * Whether `path` is provably unchanged since `stamp` was taken, so its recorded digest still holds without
 * reading it: same size, inode and ctime, and the stamp taken more than 2 s after that ctime (a change in the
 * same clock tick as the stamp could otherwise hide; such a "racy" stamp is re-taken after a full check).
 */
export async function unchangedSince(path: string, stamp: FileStamp | undefined): Promise<boolean> {
  if (!stamp || typeof stamp.ctimeNs !== 'string') return false;
  let now: FileStamp;
  try {
    now = await fileStamp(path);
  } catch {
    return false;
  }
  if (now.size !== stamp.size || now.ino !== stamp.ino || now.ctimeNs !== stamp.ctimeNs) return false;
  return stamp.at - Number(BigInt(stamp.ctimeNs) / 1_000_000n) > 2000;
}

const PLAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

/** Whether `name` can name a folder in the cache: letters, digits, `.`, `_`, `+`, `-`; no separator, no `..`. */
export function isPlainName(name: unknown): name is string {
  return typeof name === 'string' && PLAIN_NAME.test(name) && !name.includes('..');
}

/**
 * Check a model name where it enters (command line, library call): a RangeError (a bad argument) unless it
 * is a plain name, so that it can never address a folder outside the cache.
 */
export function assertPlainName(name: unknown, what = 'model name'): string {
  if (!isPlainName(name)) throw invalidOption(what, "a plain model name (letters, digits, '.', '_', '+', '-'; no '/', '\\' or '..')", name);
  return name;
}

/** The real path of the deepest existing ancestor of `p`, with the rest appended (symbolic links resolved). */
function realish(p: string): string {
  let head = p;
  const tail: string[] = [];
  while (!existsSync(head)) {
    const up = dirname(head);
    if (up === head) break;
    tail.unshift(head.slice(up.length).replace(/^[\\/]/, ''));
    head = up;
  }
  let real = head;
  try {
    real = realpathSync(head);
  } catch {
    // unreadable: keep the lexical path
  }
  return tail.length ? join(real, ...tail) : real;
}

/**
 * The one path builder of the cache: `<cacheDir>/<parts…>`, refused (E_UNSAFE_PATH) unless it stays strictly
 * inside the cache root, both lexically and after symbolic links are resolved.
 */
export function cachePath(cacheDir: string, ...parts: string[]): string {
  const root = resolve(cacheDir);
  const path = resolve(root, ...parts);
  const inside = (p: string, r: string) => p.startsWith(r.endsWith(sep) ? r : r + sep);
  if (!inside(path, root) || !inside(realish(path), realish(root))) {
    throw new PplcnetError('E_UNSAFE_PATH', `refusing ${JSON.stringify(parts.join('/'))}: it resolves to ${path}, outside the cache ${root}`);
  }
  return path;
}

/** What a cache lookup may report: a cached file that failed its check and was replaced. */
export type Notice = (message: string) => void;

/** One source a converted model was made from, as it was when converted. */
export interface SourceStamp {
  /** What the user gave (absolute path), or `zoo:<name>` / `packaged:<name>`. */
  readonly source: string;
  /** The file whose state is recorded (the `.pdparams`, the archive, the program file); absent for zoo and packaged models. */
  readonly file?: string;
  readonly size?: number;
  readonly mtimeMs?: number;
}

/**
 * What a converted model in the cache came from, kept beside it as `<key>.onnx.json`; its modification time
 * is the model's last use. One ONNX may have several sources of the same content (a folder and its archive).
 */
export interface ConvertedRecord {
  readonly kind: 'pdparams' | 'inference' | 'tar' | 'zoo' | 'packaged';
  /** A display name (the file's or the zoo model's). */
  readonly name: string;
  readonly sources: readonly SourceStamp[];
  /** ISO time of the conversion. */
  readonly convertedAt: string;
  /** The pplcnet version that converted it. */
  readonly pplcnet: string;
}

/** The stamp of a local source: its absolute path and the size and mtime of `file` (the file read). */
export async function sourceStamp(given: string, file: string): Promise<SourceStamp> {
  const s = await stat(file);
  return { source: resolve(given), file: resolve(file), size: s.size, mtimeMs: Math.round(s.mtimeMs) };
}

/** The record beside a cached model, or undefined (absent or unreadable). */
export async function readConvertedRecord(onnxPath: string): Promise<ConvertedRecord | undefined> {
  try {
    const r = JSON.parse(await readTextBounded(`${onnxPath}.json`, FILE_LIMITS.cacheRecord)) as ConvertedRecord;
    return r && typeof r === 'object' && Array.isArray(r.sources) ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Mark a cached model used (the record's mtime), adding `source` to its record when it is a new one. */
async function noteUse(path: string, record: Omit<ConvertedRecord, 'convertedAt' | 'pplcnet'> | undefined): Promise<void> {
  const file = `${path}.json`;
  if (!record) {
    const now = new Date();
    await utimes(file, now, now).catch(() => {});
    return;
  }
  const had = await readConvertedRecord(path);
  const fresh = record.sources.filter((s) => !had?.sources.some((h) => h.source === s.source && h.size === s.size && h.mtimeMs === s.mtimeMs));
  if (had && fresh.length === 0) {
    const now = new Date();
    await utimes(file, now, now).catch(() => {});
    return;
  }
  const sources = [...(had?.sources.filter((h) => !fresh.some((s) => s.source === h.source)) ?? []), ...fresh];
  const next: ConvertedRecord = { ...(had ?? { convertedAt: new Date().toISOString(), pplcnet: VERSION }), kind: record.kind, name: record.name, sources };
  await writeFileAtomic(file, `${JSON.stringify(next, null, 1)}\n`).catch(() => {});
}

/**
 * A converted model, cached as `<cacheDir>/<sub…>/<key>.onnx` with its sha256 in `<key>.onnx.sha256` beside
 * it (first line; the second is the file's stamp when the digest was last checked) and what it came from in
 * `<key>.onnx.json` (see ConvertedRecord): read when present and matching (hashed again unless the stamp
 * proves the file unchanged), otherwise produced, written atomically (model first, digest, then record) and
 * returned. A cached model that does not match its digest (altered, truncated) or has none is rebuilt, with a
 * notice. A cache that cannot be written is not an error (the model is returned).
 */
export async function cachedModel(
  cacheDir: string,
  sub: readonly string[],
  key: string,
  produce: () => Promise<Uint8Array>,
  notice?: Notice,
  record?: Omit<ConvertedRecord, 'convertedAt' | 'pplcnet'>,
): Promise<{ path?: string; bytes: Uint8Array; fromCache: boolean }> {
  if (!/^[0-9a-f]{64}$/.test(key)) throw new PplcnetError('E_UNSAFE_PATH', `cache key ${JSON.stringify(key)} is not a sha256`);
  const path = cachePath(cacheDir, ...sub, `${key}.onnx`);
  const digestPath = `${path}.sha256`;
  if (existsSync(path)) {
    const bytes = await readFileBounded(path, CACHED_MODEL);
    const lines = existsSync(digestPath) ? (await readTextBounded(digestPath, FILE_LIMITS.cacheRecord)).split('\n') : [];
    const recorded = lines[0]?.trim() || undefined;
    let stamp: FileStamp | undefined;
    try {
      stamp = lines[1] ? (JSON.parse(lines[1]) as FileStamp) : undefined;
    } catch {
      stamp = undefined;
    }
    // the full sha256 when the file may have changed since its digest was checked; see unchangedSince
    if (recorded && (await unchangedSince(path, stamp))) {
      await noteUse(path, record);
      return { path, bytes, fromCache: true };
    }
    const found = createHash('sha256').update(bytes).digest('hex');
    if (recorded === found) {
      await writeFileAtomic(digestPath, `${found}\n${JSON.stringify(await fileStamp(path))}\n`).catch(() => {});
      await noteUse(path, record);
      return { path, bytes, fromCache: true };
    }
    notice?.(
      recorded === undefined
        ? `${path}: no recorded sha256 beside the cached model; converting again from the source`
        : `${path}: the cached model does not match its recorded sha256 (recorded ${recorded.slice(0, 12)}…, found ${found.slice(0, 12)}…, ${bytes.length} bytes); converting again from the source`,
    );
    await rm(digestPath, { force: true });
  }
  const bytes = await produce();
  try {
    await writeFileAtomic(path, bytes);
    await writeFileAtomic(digestPath, `${createHash('sha256').update(bytes).digest('hex')}\n${JSON.stringify(await fileStamp(path))}\n`);
    if (record) await writeFileAtomic(`${path}.json`, `${JSON.stringify({ ...record, convertedAt: new Date().toISOString(), pplcnet: VERSION }, null, 1)}\n`);
    return { path, bytes, fromCache: false };
  } catch {
    return { bytes, fromCache: false };
  }
}
