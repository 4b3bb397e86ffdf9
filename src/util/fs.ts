/** File helpers: atomic writes, package paths. */
import { randomBytes } from 'node:crypto';
import { link, lstat, mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
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
    throw await outputError(path, err);
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

/** What a write error means, for the errors that say something about the output path. */
const WRITE_ERRORS: Readonly<Record<string, string>> = Object.freeze({
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'a read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exceeded',
  ENOENT: 'the folder does not take new files',
  ENOTDIR: 'a part of the path is a file, not a folder',
  ENAMETOOLONG: 'the name is too long for the file system',
  EISDIR: 'it is a folder',
  ELOOP: 'too many symbolic links in the path',
});

/** The longest file name most file systems take (NAME_MAX). */
const NAME_MAX = 255;
/** What the temp file adds to the output's name: `.tmp.<pid>.<8 hex>`. */
const tempSuffix = (): string => `.tmp.${process.pid}.${randomBytes(4).toString('hex')}`;

/**
 * A file-system error on the way to `path`, as an E_IO error naming the path the user gave (never the
 * temp file's name), what went wrong, and what to do. Other errors pass unchanged.
 */
async function outputError(path: string, err: unknown, folder = dirname(resolve(path))): Promise<unknown> {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const reason = WRITE_ERRORS[code];
  if (!reason) return err;
  let detail = '';
  if (code === 'ENAMETOOLONG') {
    const parts = resolve(path).split('/');
    const longest = parts.reduce((a, b) => (Buffer.byteLength(b) > Buffer.byteLength(a) ? b : a), '');
    const which = longest === parts.at(-1) ? 'the file name' : `the folder name ${JSON.stringify(longest.length > 40 ? `${longest.slice(0, 37)}...` : longest)}`;
    const keep = NAME_MAX - tempSuffix().length;
    detail = ` (${which} is ${Buffer.byteLength(longest)} bytes; a name can have at most ${NAME_MAX}, and pplcnet first writes a temp file named <name>.tmp.<pid>.<random> beside the output, so keep its name under ${keep} bytes)`;
  } else if (code === 'ENOTDIR') {
    const blocker = await firstFileInPath(dirname(path));
    if (blocker) detail = ` (${blocker} is a file)`;
  } else detail = ` in ${folder}`;
  return new PplcnetError('E_IO', `${path}: cannot write the output file: ${reason}${detail}; choose another output path (-o)`, { cause: err });
}

/** The first existing non-folder on the way to `dir`, if any. */
async function firstFileInPath(dir: string): Promise<string | undefined> {
  const parts = resolve(dir).split('/');
  for (let i = 2; i <= parts.length; i++) {
    const p = parts.slice(0, i).join('/');
    const st = await stat(p).catch(() => undefined);
    if (!st) return undefined;
    if (!st.isDirectory()) return p;
  }
  return undefined;
}

/** The nearest folder of `dir` that exists (`dir` itself when it does), and the missing folders below it, top first. */
async function existingFolder(path: string, dir: string): Promise<{ folder: string; missing: string[] }> {
  const missing: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    let st;
    try {
      st = await stat(d);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && dirname(d) !== d) {
        missing.unshift(d);
        continue;
      }
      throw await outputError(path, err);
    }
    if (!st.isDirectory()) throw new PplcnetError('E_IO', `${path}: cannot write the output file: ${d} is a file, not a folder; choose another output path (-o)`);
    return { folder: d, missing };
  }
}

/**
 * Whether a file can be made where `path` goes: a temp file of the same name length is created and removed
 * in its folder (or, when folders are missing, in the nearest one that exists: they are made only when the
 * output is written). Catches permissions, read-only or pseudo file systems and over-long names up front.
 */
async function probeOutputFolder(path: string): Promise<void> {
  for (const part of resolve(path).split('/')) {
    if (Buffer.byteLength(part) > NAME_MAX - (part === basename(path) ? tempSuffix().length : 0)) throw await outputError(path, Object.assign(new Error('name too long'), { code: 'ENAMETOOLONG' }));
  }
  const { folder, missing } = await existingFolder(path, dirname(path));
  const name = missing.length ? basename(missing[0]!) : basename(path);
  const probe = join(folder, `${name}${tempSuffix()}`);
  try {
    await (await open(probe, 'wx')).close();
  } catch (err) {
    throw await outputError(path, err, folder);
  }
  await rm(probe, { force: true });
}

/** Create the folders of `dir` that are missing, one at a time (errors name the output path). */
async function makeFolders(path: string, dir: string): Promise<void> {
  const { missing } = await existingFolder(path, dir);
  for (const d of missing) {
    try {
      await mkdir(d);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw await outputError(path, err, dirname(d));
    }
  }
}

/**
 * Refuse now what `writeFileAtomic(path, …, options)` would refuse, before a long computation of the data:
 * what is at `path`, a folder that takes no files (permissions, read-only), a part of the path that is a
 * file, a name too long. Errors name `path` as given.
 */
export async function checkOutputPath(path: string, options: WriteOptions = {}): Promise<void> {
  await checkTarget(path, options.force === true, options.overwrite !== false || options.force === true);
  await probeOutputFolder(path);
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
  await makeFolders(path, dirname(path));
  const tmp = `${path}${tempSuffix()}`;
  try {
    await writeFile(tmp, data, { flag: 'wx' }).catch(async (err: unknown) => {
      throw await outputError(path, err);
    });
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
