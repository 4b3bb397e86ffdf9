/**
 * Safe extraction of tar archives (ustar, pax and GNU long names): regular files and folders only, every
 * path kept inside the target folder (no absolute paths, no `..`, no links, no devices).
 * Our own reader rather than a package: it must refuse links, devices and escaping paths before anything
 * is written, and read an archive in memory without extracting it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { PplcnetError } from '../errors.js';

function str(b: Uint8Array, off: number, len: number): string {
  const end = b.subarray(off, off + len).indexOf(0);
  return new TextDecoder().decode(b.subarray(off, end < 0 ? off + len : off + end));
}

function octal(b: Uint8Array, off: number, len: number, where: string): number {
  if (b[off]! & 0x80) {
    // base-256 (GNU) for large sizes
    let v = 0;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i]!;
    return v;
  }
  const s = str(b, off, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw new PplcnetError('E_FORMAT', `${where}: bad octal field ${JSON.stringify(s)}`);
  return parseInt(s, 8);
}

/** A path from the archive, checked: relative, no `..`, no empty segments after normalization. */
export function safeEntryPath(name: string, where: string): string {
  const n = name.replace(/\\/g, '/');
  if (n.startsWith('/') || /^[A-Za-z]:/.test(n)) throw new PplcnetError('E_FORMAT', `${where}: refusing the absolute path ${JSON.stringify(name)}`);
  const parts = n.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw new PplcnetError('E_FORMAT', `${where}: refusing the path ${JSON.stringify(name)}, which leaves the target folder`);
  return parts.join('/');
}

interface TarItem {
  /** Checked relative path ('' for the archive root). */
  name: string;
  /** '0' file, '5' folder. */
  type: '0' | '5';
  data: Uint8Array;
}

/** Read the headers of `tar` (checksums, sizes, paths, types), calling `visit` on each file or folder. */
async function walkTar(tar: Uint8Array, where: string, visit: (item: TarItem) => Promise<void> | void): Promise<void> {
  let pos = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (pos + 512 <= tar.length) {
    const h = tar.subarray(pos, pos + 512);
    if (h.every((b) => b === 0)) break;
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    if (sum !== octal(h, 148, 8, where)) throw new PplcnetError('E_FORMAT', `${where}: header checksum mismatch at byte ${pos}; not a tar archive, or corrupt`);
    const size = octal(h, 124, 12, where);
    const type = String.fromCharCode(h[156]! || 0x30);
    const prefix = str(h, 257, 6).startsWith('ustar') ? str(h, 345, 155) : '';
    let name = longName ?? paxPath ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
    longName = undefined;
    paxPath = undefined;
    const dataStart = pos + 512;
    if (dataStart + size > tar.length) throw new PplcnetError('E_TRUNCATED', `${where}: entry ${JSON.stringify(name)} runs past the end of the archive`);
    const data = tar.subarray(dataStart, dataStart + size);
    pos = dataStart + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = str(data, 0, data.length);
      continue;
    }
    if (type === 'x' || type === 'g') {
      const text = new TextDecoder().decode(data);
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text);
      if (m && type === 'x') paxPath = m[1];
      continue;
    }
    name = safeEntryPath(name, where);
    if (type === '5') {
      await visit({ name, type: '5', data });
      continue;
    }
    if (type !== '0' && type !== '7') {
      throw new PplcnetError('E_FORMAT', `${where}: refusing entry ${JSON.stringify(name)} of type '${type}' (links and devices are not extracted)`);
    }
    if (name) await visit({ name, type: '0', data });
  }
  if (pos === 0) throw new PplcnetError('E_FORMAT', `${where}: empty, or not a tar archive`);
}

/** List the files of `tar` (relative paths), checking every header and path as extraction would. */
export async function listTar(tar: Uint8Array, where: string): Promise<string[]> {
  const files: string[] = [];
  const kinds = new Map<string, '0' | '5'>();
  await walkTar(tar, where, ({ name, type }) => {
    clash(kinds, name, type, where);
    if (type === '0') files.push(name);
  });
  return files;
}

/** A file where a folder of that name is (or under a file), refused by name rather than as EISDIR/ENOTDIR. */
function clash(kinds: Map<string, '0' | '5'>, name: string, type: '0' | '5', where: string): void {
  if (!name) return;
  const parts = name.split('/');
  for (let i = 1; i < parts.length; i++) {
    const up = parts.slice(0, i).join('/');
    if (kinds.get(up) === '0') throw new PplcnetError('E_FORMAT', `${where}: entry ${JSON.stringify(name)} lies under ${JSON.stringify(up)}, which the archive made a file; the archive is malformed`);
    kinds.set(up, '5');
  }
  const was = kinds.get(name);
  if (was && was !== type) {
    throw new PplcnetError(
      'E_FORMAT',
      `${where}: entry ${JSON.stringify(name)} is a ${type === '0' ? 'file' : 'folder'} where the archive already made a ${was === '0' ? 'file' : 'folder'} of that name; the archive is malformed`,
    );
  }
  kinds.set(name, type);
}

/** List and extract `tar` into `dest`. Returns the extracted file paths (relative). */
export async function extractTar(tar: Uint8Array, dest: string, where: string): Promise<string[]> {
  const files: string[] = [];
  const kinds = new Map<string, '0' | '5'>();
  await walkTar(tar, where, async ({ name, type, data }) => {
    clash(kinds, name, type, where);
    const target = normalize(join(dest, name));
    if (target !== normalize(dest) && !target.startsWith(normalize(dest) + sep)) throw new PplcnetError('E_FORMAT', `${where}: refusing ${JSON.stringify(name)}, which leaves the target folder`);
    try {
      if (type === '5') {
        await mkdir(target, { recursive: true });
        return;
      }
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, data);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST') {
        throw new PplcnetError('E_FORMAT', `${where}: cannot extract entry ${JSON.stringify(name)} (${code}): a file and a folder of the same name; the archive is malformed`, { cause: err });
      }
      throw err;
    }
    if (!files.includes(name)) files.push(name);
  });
  return files;
}

/**
 * Read the files of `tar` into memory, checking every header and path as extraction would; nothing is
 * written. Returns relative path → bytes (views into `tar`).
 */
export async function readTarFiles(tar: Uint8Array, where: string): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const kinds = new Map<string, '0' | '5'>();
  await walkTar(tar, where, ({ name, type, data }) => {
    clash(kinds, name, type, where);
    if (type === '0') files.set(name, data);
  });
  return files;
}

/** Whether `head` (at least the first 263 bytes of a file) is a ustar/GNU tar header. */
export function looksLikeTar(head: Uint8Array): boolean {
  return head.length >= 263 && new TextDecoder().decode(head.subarray(257, 262)) === 'ustar';
}
