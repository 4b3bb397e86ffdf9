/** File helpers: bounded reads, atomic writes, package paths. */
import { randomBytes } from 'node:crypto';
import { type Stats, closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { type FileHandle, link, lstat, mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ErrorCode, PplcnetError } from '../errors.js';

/**
 * What a kind of file may be: the most bytes pplcnet reads of it, and what to say when a file is refused.
 * The limits in use are listed in one table, `FILE_LIMITS` (file-limits.ts), and in docs/security.md.
 */
export interface FileLimit {
  /** The kind of file, as messages name it: `an ONNX model`, `a label file`. */
  readonly what: string;
  /** The most bytes a file of this kind may hold. */
  readonly maxBytes: number;
  /** Why the limit is what it is and what to do, appended to the refusal (`a PP-LCNet x2.5 takes 36.2 MB`). */
  readonly advice: string;
  /** What to do when the path is no regular file (a FIFO, a device). ['save it to a file first'] */
  readonly notRegularAdvice?: string;
  /** The error code of a refusal (too large, not a regular file). ['E_IO'] */
  readonly code?: ErrorCode;
  /** The error code of a file that cannot be opened or read (absent, no permission). ['E_IO'] */
  readonly readCode?: ErrorCode;
}

/** What a non-regular file is, for messages: `a FIFO (named pipe)`, `a character device`. */
export function fileTypeName(st: Pick<Stats, 'isDirectory' | 'isFIFO' | 'isSocket' | 'isCharacterDevice' | 'isBlockDevice'>): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** The refusal of a file larger than its kind's limit: which file, its size, the limit, and what to do. */
export function tooLarge(name: string, size: number, limit: FileLimit): PplcnetError {
  return new PplcnetError(
    limit.code ?? 'E_IO',
    `${name}: ${size} bytes (${formatBytes(size)}), more than the ${limit.maxBytes} bytes (${formatBytes(limit.maxBytes)}) pplcnet reads of ${limit.what}; not read. ${limit.advice}`,
  );
}

function notRegular(name: string, st: Stats, limit: FileLimit): PplcnetError {
  return new PplcnetError(
    limit.code ?? 'E_IO',
    `${name}: is ${fileTypeName(st)}, not a regular file; pplcnet reads ${limit.what} from a regular file only (a pipe or device could block or never end): ${limit.notRegularAdvice ?? 'save it to a file first'}`,
  );
}

function openFailed(name: string, err: unknown, limit: FileLimit): PplcnetError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : `cannot read (${(err as Error).message})`;
  return new PplcnetError(limit.readCode ?? 'E_IO', `${name}: ${why}`, { cause: err });
}

/**
 * O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer, so the check on the opened
 * descriptor can refuse it; regular files ignore the flag.
 */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Open `path` for reading, the one way every named file is opened: without blocking, then checked with
 * `fstat` on the opened descriptor (no race with a rename): a regular file of at most `limit.maxBytes`
 * bytes. Anything else (a folder, FIFO, socket, device; a larger file) is refused, naming the file, and
 * nothing is read. The caller closes the handle.
 */
export async function openRegularFile(path: string, limit: FileLimit, name = path): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (err) {
    throw openFailed(name, err, limit);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notRegular(name, st, limit);
    if (st.size > limit.maxBytes) throw tooLarge(name, st.size, limit);
    return { handle, size: st.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Read up to `size` bytes from the start of an open file (fewer when it shrank meanwhile; never more). */
export async function readOpenFile(handle: FileHandle, size: number, name: string, limit: FileLimit): Promise<Uint8Array> {
  const buf = Buffer.allocUnsafe(size);
  let n = 0;
  try {
    while (n < size) {
      const { bytesRead } = await handle.read(buf, n, size - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
  } catch (err) {
    throw openFailed(name, err, limit);
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, n);
}

/**
 * A named file's bytes, read under `limit` (see {@link openRegularFile}): the rule for every file a user or
 * an environment variable names. `name` names the file in messages. [path]
 */
export async function readFileBounded(path: string, limit: FileLimit, name = path): Promise<Uint8Array> {
  const { handle, size } = await openRegularFile(path, limit, name);
  try {
    return await readOpenFile(handle, size, name, limit);
  } finally {
    await handle.close();
  }
}

/** {@link readFileBounded} as text (UTF-8). */
export async function readTextBounded(path: string, limit: FileLimit, name = path): Promise<string> {
  const b = await readFileBounded(path, limit, name);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}

/** {@link readFileBounded}, synchronously (for settings read where no await is possible), as text (UTF-8). */
export function readTextBoundedSync(path: string, limit: FileLimit, name = path): string {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (err) {
    throw openFailed(name, err, limit);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegular(name, st, limit);
    if (st.size > limit.maxBytes) throw tooLarge(name, st.size, limit);
    const buf = Buffer.allocUnsafe(st.size);
    let n = 0;
    while (n < st.size) {
      const r = readSync(fd, buf, n, st.size - n, n);
      if (r === 0) break;
      n += r;
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * A stream (standard input) read to its end under `limit`: past `limit.maxBytes` bytes it is refused at once
 * (nothing more is read), so an endless stream (`/dev/zero`) costs at most the limit.
 */
export async function readStreamBounded(stream: AsyncIterable<unknown>, limit: FileLimit, name: string): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    n += b.length;
    if (n > limit.maxBytes) {
      throw new PplcnetError(
        limit.code ?? 'E_IO',
        `${name}: more than ${limit.maxBytes} bytes (${formatBytes(limit.maxBytes)}), the most pplcnet reads of ${limit.what}; stopped reading. ${limit.advice}`,
      );
    }
    chunks.push(b);
  }
  const all = Buffer.concat(chunks, n);
  return new Uint8Array(all.buffer, all.byteOffset, all.byteLength);
}

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
