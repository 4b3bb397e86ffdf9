/** File helpers: atomic writes, package paths. */
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PplcnetError } from '../errors.js';

export interface WriteOptions {
  /** Replace a symbolic link at `path` (the link itself, never what it points to). [false] */
  force?: boolean;
  /**
   * Replace an existing regular file at `path`. With `false`, an existing file (or link) is refused with
   * E_IO naming `--force`, and the file appears by a hard link that fails if another process made one
   * meanwhile (no check-then-write race). [true]
   */
  overwrite?: boolean;
}

function exists(path: string): PplcnetError {
  return new PplcnetError('E_IO', `${path}: already exists; refusing to replace it (pass --force to replace it, or choose another name with -o)`);
}

/**
 * What may be replaced at `path`: nothing, or a regular file; a symbolic link only with `force`.
 * Devices, FIFOs, sockets and folders are always refused: a rename over them would swap a system file for
 * ours (or fail half-way).
 */
async function checkTarget(path: string, force: boolean, overwrite = true): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!overwrite && st.isFile()) throw exists(path);
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

/** Refuse now what `writeFileAtomic(path, …, options)` would refuse, before a long computation of the data. */
export async function checkOutputPath(path: string, options: WriteOptions = {}): Promise<void> {
  await checkTarget(path, options.force === true, options.overwrite !== false || options.force === true);
}

/**
 * Write `data` to `path` through `<path>.tmp.<pid>.<rand>` and a rename, so a reader never sees a
 * half-written file and a failure leaves nothing behind. `path` must be absent or a regular file (a
 * symbolic link only with `force`); anything else is refused before anything is written.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: WriteOptions = {}): Promise<void> {
  const force = options.force === true;
  const overwrite = options.overwrite !== false || force;
  await checkTarget(path, force, overwrite);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    await writeFile(tmp, data, { flag: 'wx' });
    if (overwrite) {
      // checked again just before the rename, so a special file that appeared meanwhile is not replaced
      await checkTarget(path, force);
      await rename(tmp, path);
    } else {
      // a hard link never replaces: it fails when anything appeared at `path` meanwhile
      try {
        await link(tmp, path);
        await rm(tmp, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw exists(path);
        // a file system without hard links: check, then rename
        await checkTarget(path, force, false);
        await rename(tmp, path);
      }
    }
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

/**
 * The ONNX file name for a converted input, after the input: `PULC_textline.pdparams` → `PULC_textline.onnx`;
 * a model folder → `<folder>.onnx`; `<folder>/inference.json` (or `.pdmodel`, `.tar`) → `<folder>.onnx`.
 */
export function onnxNameFor(input: string): string {
  const trimmed = input.replace(/[\\/]+$/, '') || input;
  const ext = extname(trimmed);
  const known = ['.pdparams', '.json', '.pdmodel', '.tar', '.onnx', '.pdiparams'];
  let stem = known.includes(ext.toLowerCase()) ? basename(trimmed, ext) : basename(trimmed);
  if (stem === 'inference' || stem === 'model' || stem === '') stem = basename(dirname(resolve(trimmed)));
  return `${stem || 'model'}.onnx`;
}

/** Bytes of a file, or of every file under a folder (links counted as links, not followed); 0 when absent. */
export async function diskBytes(path: string): Promise<number> {
  const s = await lstat(path).catch(() => undefined);
  if (!s) return 0;
  if (!s.isDirectory()) return s.size;
  let n = 0;
  for (const e of await readdir(path)) n += await diskBytes(join(path, e));
  return n;
}
