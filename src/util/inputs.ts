/** Expanding command-line inputs: files, folders (recursive) and glob patterns, into image files. */
import { readdir, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';

export const IMAGE_EXTENSIONS = Object.freeze(['.jpg', '.jpeg', '.png', '.webp', '.bmp', '.tif', '.tiff', '.gif', '.avif']);

function isImage(name: string): boolean {
  const n = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((e) => n.endsWith(e));
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile() && isImage(e.name)) out.push(p);
  }
}

/** `*` and `?` within a path segment, `**` across segments. */
export function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      re += '.*';
      i++;
      if (pattern[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * Expand inputs in order: a folder gives its images recursively (sorted), a pattern with `*`/`?` the images
 * it matches; anything else is passed through as a file (a missing one fails later, per file).
 */
export async function expandInputs(inputs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const input of inputs) {
    if (/[*?]/.test(input)) {
      const parts = input.split('/');
      const firstGlob = parts.findIndex((p) => /[*?]/.test(p));
      const base = parts.slice(0, firstGlob).join('/') || '.';
      const all: string[] = [];
      try {
        await walk(base, all);
      } catch {
        continue;
      }
      const re = globToRegExp(input.startsWith('./') ? input.slice(2) : input);
      for (const f of all) {
        const rel = (base === '.' && !input.startsWith('./') ? f : f).split(sep).join('/');
        if (re.test(rel) || re.test(`./${rel}`)) out.push(f);
      }
      continue;
    }
    let s;
    try {
      s = await stat(input);
    } catch {
      out.push(input);
      continue;
    }
    if (s.isDirectory()) await walk(input, out);
    else out.push(input);
  }
  return out;
}
