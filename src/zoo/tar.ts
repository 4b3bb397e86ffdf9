/**
 * Safe extraction of tar archives (ustar, pax and GNU long names): regular files and folders only, every
 * path kept inside the target folder (no absolute paths, no `..`, no links, no devices).
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

/** List and extract `tar` into `dest`. Returns the extracted file paths (relative). */
export async function extractTar(tar: Uint8Array, dest: string, where: string): Promise<string[]> {
  const files: string[] = [];
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
      if (name) await mkdir(join(dest, name), { recursive: true });
      continue;
    }
    if (type !== '0' && type !== '7') {
      throw new PplcnetError('E_FORMAT', `${where}: refusing entry ${JSON.stringify(name)} of type '${type}' (links and devices are not extracted)`);
    }
    if (!name) continue;
    const target = normalize(join(dest, name));
    if (!target.startsWith(normalize(dest) + sep)) throw new PplcnetError('E_FORMAT', `${where}: refusing ${JSON.stringify(name)}, which leaves the target folder`);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, data);
    files.push(name);
  }
  return files;
}
