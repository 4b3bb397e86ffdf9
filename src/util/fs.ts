/** File helpers: atomic writes, package paths. */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Write `data` to `path` through `<path>.tmp.<pid>.<rand>` and a rename, so a reader never sees a
 * half-written file and a failure leaves nothing behind.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Absolute path of a file shipped in the package's `models/` folder. */
export function packagedModelPath(...parts: string[]): string {
  // dist/src/util/fs.js → package root
  return fileURLToPath(new URL(['../../../models', ...parts].join('/'), import.meta.url));
}

/** Human-readable size: 11.3 MB, 420 kB, 12 B. */
export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} kB`;
  return `${n} B`;
}
