/** The pplcnet cache: where pulled sources and converted models live. */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
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

/**
 * A converted model, cached as `<dir>/<key>.onnx`: read when present, otherwise produced, written
 * atomically and returned. A cache that cannot be written is not an error (the model is returned).
 */
export async function cachedModel(
  dir: string,
  key: string,
  produce: () => Promise<Uint8Array>,
): Promise<{ path?: string; bytes: Uint8Array; fromCache: boolean }> {
  const path = join(dir, `${key}.onnx`);
  if (existsSync(path)) return { path, bytes: new Uint8Array(await readFile(path)), fromCache: true };
  const bytes = await produce();
  try {
    await writeFileAtomic(path, bytes);
    return { path, bytes, fromCache: false };
  } catch {
    return { bytes, fromCache: false };
  }
}
