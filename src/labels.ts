/** Class-name lists that ship with the package. */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { packagedModelPath } from './util/fs.js';

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

/** Read a label file: a JSON array of strings, or one label per line (PaddleClas label_list style "id name" kept whole). */
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
  return t.split(/\r?\n/).filter((l) => l.length > 0);
}

/** Read a label file from disk (see {@link parseLabelFile}). */
export async function readLabelFile(file: string): Promise<string[]> {
  return parseLabelFile(await readFile(file, 'utf8'), file);
}
