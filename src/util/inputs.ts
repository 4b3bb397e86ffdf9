/**
 * Expanding command-line inputs into image files: files, folders (searched recursively) and glob patterns
 * (tinyglobby: `*`, `**`, `?`, classes `[ab]`, braces `{png,jpg}`).
 *
 * Only regular files come out. FIFOs, sockets, devices, broken symbolic links and symbolic link loops are
 * never opened: they are listed in `skipped` with the reason. Symbolic links to files are followed; links
 * to folders are searched once (a folder reached again, e.g. through a link to one of its parents, is
 * reported once and its images are listed once).
 */
import { type Dirent, readdir } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, sep } from 'node:path';
import { fileTypeName } from './fs.js';

export const IMAGE_EXTENSIONS = Object.freeze(['.jpg', '.jpeg', '.png', '.webp', '.bmp', '.tif', '.tiff', '.gif', '.avif']);

/** An input, or a file found in a folder or by a pattern, that is not read, and why. */
export interface SkippedInput {
  readonly path: string;
  readonly reason: string;
}

/** The image files to read, in order, and what was left out. */
export interface ExpandedInputs {
  readonly files: string[];
  readonly skipped: SkippedInput[];
}

function isImage(name: string): boolean {
  const n = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((e) => n.endsWith(e));
}

type Probe = { kind: 'file'; real: string } | { kind: 'dir' } | { kind: 'missing' } | { kind: 'skip'; reason: string };

/** stat (following links) without opening: a FIFO is never opened, so it cannot block. */
async function probe(path: string): Promise<Probe> {
  try {
    const s = await stat(path);
    if (s.isFile()) return { kind: 'file', real: await realpath(path) };
    if (s.isDirectory()) return { kind: 'dir' };
    return { kind: 'skip', reason: `${fileTypeName(s)}, not a regular file; not read` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') return { kind: 'skip', reason: 'a symbolic link loop; not followed' };
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const link = await lstat(path).catch(() => undefined);
      return link?.isSymbolicLink() ? { kind: 'skip', reason: 'a broken symbolic link (its target does not exist)' } : { kind: 'missing' };
    }
    return { kind: 'skip', reason: `cannot be examined (${code ?? (err as Error).message})` };
  }
}

type ReaddirCallback = (err: NodeJS.ErrnoException | null, entries: Dirent[]) => void;

/**
 * `fs.readdir` for tinyglobby's crawler that presents FIFOs, sockets, devices and links that do not resolve
 * as plain files: the crawler would drop them silently, this way they go through the pattern and are
 * reported (never opened) by the checks that follow.
 */
function readdirShowingAll(path: string, options: { withFileTypes: true }, cb: ReaddirCallback): void {
  readdir(path, options, (err, entries) => {
    if (err) return cb(err, entries);
    const asFile = (e: Dirent): Dirent =>
      ({ name: e.name, parentPath: e.parentPath, path: e.parentPath, isFile: () => true, isDirectory: () => false, isSymbolicLink: () => false }) as unknown as Dirent;
    const links = entries.map((e, i) => [e, i] as const).filter(([e]) => e.isSymbolicLink());
    Promise.all(links.map(([e]) => stat(join(path, e.name)).then(() => true, () => false))).then((resolves) => {
      const out = entries.map((e) => (e.isFile() || e.isDirectory() || e.isSymbolicLink() ? e : asFile(e)));
      links.forEach(([e, i], k) => {
        if (!resolves[k]) out[i] = asFile(e);
      });
      cb(null, out);
    }, (e: NodeJS.ErrnoException) => cb(e, entries));
  });
}

/** Segment-wise order (a folder's files come where the folder's name sorts), by UTF-16 code units. */
function comparePaths(a: string, b: string): number {
  const x = a.split(/[\\/]/);
  const y = b.split(/[\\/]/);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! < y[i]! ? -1 : 1;
  return x.length - y.length;
}

/** A link to a folder that contains the link. */
async function isLoop(link: string): Promise<boolean> {
  const target = await realpath(link).catch(() => undefined);
  const parent = await realpath(dirname(link)).catch(() => undefined);
  return target !== undefined && parent !== undefined && (parent === target || parent.startsWith(target + sep));
}

/**
 * Check and order what a folder or a pattern matched: regular files only, each real file once (the copy
 * with the shortest path is kept; a link to a folder that contains it is reported once, not per file).
 */
async function settle(candidates: string[], skipped: SkippedInput[]): Promise<string[]> {
  candidates.sort(comparePaths);
  const found: { path: string; real: string }[] = [];
  const refused = new Set<string>(); // a FIFO reached twice (through a folder link) is reported once
  for (const path of candidates) {
    const p = await probe(path);
    if (p.kind === 'file') found.push({ path, real: p.real });
    else if (p.kind === 'skip') {
      const key = join(await realpath(dirname(path)).catch(() => dirname(path)), basename(path));
      if (!refused.has(key)) skipped.push({ path, reason: p.reason });
      refused.add(key);
    }
  }
  const keep = new Map<string, string>();
  for (const f of found) {
    const k = keep.get(f.real);
    const depth = (s: string): number => s.split(/[\\/]/).length;
    if (k === undefined || depth(f.path) < depth(k)) keep.set(f.real, f.path);
  }
  const reported = new Set<string>();
  const loops = new Map<string, boolean>();
  for (const f of found) {
    const kept = keep.get(f.real)!;
    if (kept === f.path) continue;
    // the first link to a folder containing it, on the path below what it shares with the kept copy
    const a = f.path.split(/[\\/]/);
    const b = kept.split(/[\\/]/);
    let common = 0;
    while (common < a.length - 1 && a[common] === b[common]) common++;
    let via: string | undefined;
    for (let i = common + 1; i < a.length && via === undefined; i++) {
      const prefix = a.slice(0, i).join(sep) || sep;
      if (!loops.has(prefix)) loops.set(prefix, ((await lstat(prefix).catch(() => undefined))?.isSymbolicLink() ?? false) && (await isLoop(prefix)));
      if (loops.get(prefix)) via = prefix;
    }
    const loop = via !== undefined;
    if (!loop) skipped.push({ path: f.path, reason: `the same file as ${kept}; listed once` });
    else if (!reported.has(via!)) {
      reported.add(via!);
      skipped.push({ path: via!, reason: `a symbolic link loop (to ${await realpath(via!)}, a folder that contains it); its images are listed once` });
    }
  }
  return found.filter((f) => keep.get(f.real) === f.path).map((f) => f.path);
}

const globOptions = { onlyFiles: true, followSymbolicLinks: true, fs: { readdir: readdirShowingAll as never } } as const;

/**
 * Expand inputs in order. A path that exists is used as it is (a folder gives its images, recursively); a
 * pattern gives the images it matches; anything else is passed through as a file, to fail when read. Each
 * folder's and pattern's files are sorted; what cannot be read as an image is in `skipped`.
 */
export async function expandImageInputs(inputs: readonly string[]): Promise<ExpandedInputs> {
  const files: string[] = [];
  const skipped: SkippedInput[] = [];
  for (const input of inputs) {
    const p = await probe(input);
    if (p.kind === 'file') files.push(input);
    else if (p.kind === 'skip') skipped.push({ path: input, reason: p.reason });
    else if (p.kind === 'dir') {
      const { glob } = await import('tinyglobby'); // loaded when a folder or pattern needs it
      const rel = await glob('**/*', { ...globOptions, cwd: input, dot: true });
      files.push(...(await settle(rel.filter(isImage).map((f) => join(input, f)), skipped)));
    } else if (await isPattern(input)) {
      const { glob } = await import('tinyglobby');
      const matched = await glob(input, { ...globOptions, absolute: isAbsolute(input) });
      files.push(...(await settle(matched.filter(isImage), skipped)));
    } else files.push(input);
  }
  return { files, skipped };
}

/** Whether a missing path is a glob pattern (tinyglobby decides, loaded only for a name with a pattern character). */
async function isPattern(input: string): Promise<boolean> {
  return /[*?[\]{}()!+@]/.test(input) && (await import('tinyglobby')).isDynamicPattern(input);
}

/** {@link expandImageInputs}, the files only. */
export async function expandInputs(inputs: readonly string[]): Promise<string[]> {
  return (await expandImageInputs(inputs)).files;
}
