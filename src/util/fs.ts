/** File helpers: atomic writes, package paths. */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PplcnetError } from '../errors.js';

export interface WriteOptions {
  /** Replace a symbolic link at `path` (the link itself, never what it points to). [false] */
  force?: boolean;
}

/**
 * What may be replaced at `path`: nothing, or a regular file; a symbolic link only with `force`.
 * Devices, FIFOs, sockets and folders are always refused: a rename over them would swap a system file for
 * ours (or fail half-way).
 */
async function checkTarget(path: string, force: boolean): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (st.isFile()) return;
  if (st.isSymbolicLink()) {
    if (force) return;
    throw new PplcnetError('E_IO', `${path}: is a symbolic link; refusing to replace it (pass --force to replace the link itself with the output file)`);
  }
  const kind = st.isDirectory()
    ? 'a folder'
    : st.isFIFO()
      ? 'a FIFO'
      : st.isSocket()
        ? 'a socket'
        : st.isCharacterDevice()
          ? 'a character device'
          : st.isBlockDevice()
            ? 'a block device'
            : 'not a regular file';
  throw new PplcnetError('E_IO', `${path}: is ${kind}; refusing to write over it (choose a regular file name for the output)`);
}

/**
 * Write `data` to `path` through `<path>.tmp.<pid>.<rand>` and a rename, so a reader never sees a
 * half-written file and a failure leaves nothing behind. `path` must be absent or a regular file (a
 * symbolic link only with `force`); anything else is refused before anything is written.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: WriteOptions = {}): Promise<void> {
  await checkTarget(path, options.force === true);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, data, { flag: 'wx' });
    // checked again just before the rename, so a special file that appeared meanwhile is not replaced
    await checkTarget(path, options.force === true);
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
