/** The pplcnet cache: where pulled sources and converted models live, and the checks that keep it there. */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, realpathSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { PplcnetError, invalidOption } from '../errors.js';
import { writeFileAtomic } from '../util/fs.js';

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

/**
 * A converted model, cached as `<cacheDir>/<sub…>/<key>.onnx` with its sha256 in `<key>.onnx.sha256` beside
 * it: read when present and matching, otherwise produced, written atomically (model first, digest last) and
 * returned. A cached model that does not match its digest (altered, truncated) or has none is rebuilt, with a
 * notice. A cache that cannot be written is not an error (the model is returned).
 */
export async function cachedModel(
  cacheDir: string,
  sub: readonly string[],
  key: string,
  produce: () => Promise<Uint8Array>,
  notice?: Notice,
): Promise<{ path?: string; bytes: Uint8Array; fromCache: boolean }> {
  if (!/^[0-9a-f]{64}$/.test(key)) throw new PplcnetError('E_UNSAFE_PATH', `cache key ${JSON.stringify(key)} is not a sha256`);
  const path = cachePath(cacheDir, ...sub, `${key}.onnx`);
  const digestPath = `${path}.sha256`;
  if (existsSync(path)) {
    const bytes = new Uint8Array(await readFile(path));
    const recorded = existsSync(digestPath) ? (await readFile(digestPath, 'utf8')).trim() : undefined;
    const found = createHash('sha256').update(bytes).digest('hex');
    if (recorded === found) return { path, bytes, fromCache: true };
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
    await writeFileAtomic(digestPath, `${createHash('sha256').update(bytes).digest('hex')}\n`);
    return { path, bytes, fromCache: false };
  } catch {
    return { bytes, fromCache: false };
  }
}
