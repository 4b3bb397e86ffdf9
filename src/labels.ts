/** Class-name lists that ship with the package. */
import { readFileSync } from 'node:fs';
import { FILE_LIMITS } from './util/file-limits.js';
import { packagedModelPath, readTextBounded } from './util/fs.js';

let imagenet: readonly string[] | undefined;

/** The 1000 ImageNet-1k class names in PaddleClas's class-id order (0 = "tench, Tinca tinca"). */
export function imagenetLabels(): readonly string[] {
  imagenet ??= Object.freeze(
    readFileSync(packagedModelPath('imagenet1k_labels.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.length > 0),
  );
  return imagenet;
}

/**
 * Read a label file: a JSON array of strings; PaddleClas's `class_id_map_file` form, one "id label" per
 * line (`0 tench, Tinca tinca`: the id, whitespace, the label; used when every line has that form and the
 * ids are 0..n−1, each once, in any order); or one label per line, kept whole.
 */
export function parseLabelFile(text: string, file: string): string[] {
  const t = text.trim();
  if (t.startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch (err) {
      throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
    }
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new Error(`${file}: expected a JSON array of strings`);
    return v;
  }
  const lines = t.split(/\r?\n/).filter((l) => l.trim().length > 0);
  return classIdMap(lines) ?? lines;
}

/** Lines of "id label" with ids 0..n−1, each once → labels by id; undefined when the lines are not that form. */
function classIdMap(lines: readonly string[]): string[] | undefined {
  const out: string[] = new Array<string>(lines.length);
  for (const line of lines) {
    const m = /^\s*(\d+)\s+(\S.*?)\s*$/.exec(line);
    if (!m) return undefined;
    const id = Number(m[1]);
    if (id >= lines.length || out[id] !== undefined) return undefined;
    out[id] = m[2]!;
  }
  return out;
}

/** Read a label file from disk (see {@link parseLabelFile}): a regular file of at most `FILE_LIMITS.labels` (16 MiB). */
export async function readLabelFile(file: string): Promise<string[]> {
  return parseLabelFile(await readTextBounded(file, FILE_LIMITS.labels), file);
}
