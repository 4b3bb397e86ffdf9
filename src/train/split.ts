/**
 * Stratified, deterministic splits, and `pplcnet split`'s files in PaddleX's ImageNet format
 * (`train_list.txt`, `val_list.txt`, `test_list.txt` with `relative/path <class id>` per line, and
 * `labels.txt`): as `paddlex --split_dataset --format ImageNet --val_value V --test_value T` does, each class's
 * images are shuffled, ⌊n·V⌋ go to val, ⌊n·T⌋ to test and the rest to train. The shuffle is seeded, so the
 * same folder and seed always give the same lists.
 */
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Random } from '../builder/random.js';
import { invalidOption } from '../errors.js';
import { checkOutputPath } from '../util/fs.js';
import { type Dataset, LIST_NAMES, type Sample, checkTrainable, readFolderDataset, subset } from './dataset.js';

export interface SplitOptions {
  /** Fraction of each class for validation, in [0, 1). [0.2] */
  val?: number;
  /** Fraction of each class for the test list, in [0, 1). [0] */
  test?: number;
  /** Seed of the shuffle. [0] */
  seed?: number;
}

export interface DatasetSplit {
  readonly train: Dataset;
  readonly val: Dataset;
  readonly test: Dataset;
  readonly seed: number;
}

/** A seeded Fisher–Yates shuffle (a copy). */
export function shuffled<T>(items: readonly T[], rng: Random): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.nextUint32() % (i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function checkFraction(name: string, v: number): number {
  if (typeof v !== 'number' || !(v >= 0 && v < 1)) throw invalidOption(name, 'a fraction from 0 to below 1', v);
  return v;
}

/** Split a single-label dataset, class by class (every class keeps at least one training image). */
export function splitDataset(d: Dataset, options: SplitOptions = {}): DatasetSplit {
  const val = checkFraction('val', options.val ?? 0.2);
  const test = checkFraction('test', options.test ?? 0);
  if (val + test >= 1) throw invalidOption('val + test', 'a sum below 1 (the rest is the training set)', val + test);
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw invalidOption('seed', 'an integer from 0 to 2^32-1', seed);
  const rng = new Random(seed);
  const parts: [Sample[], Sample[], Sample[]] = [[], [], []];
  // multi-label samples are stratified by their first positive label
  const byClass = new Map<number, Sample[]>();
  for (const s of d.samples) byClass.set(s.label, [...(byClass.get(s.label) ?? []), s]);
  for (const id of [...byClass.keys()].sort((a, b) => a - b)) {
    const items = shuffled(byClass.get(id)!, rng);
    const nVal = Math.floor(items.length * val);
    const nTest = Math.floor(items.length * test);
    parts[1].push(...items.slice(0, nVal));
    parts[2].push(...items.slice(nVal, nVal + nTest));
    parts[0].push(...items.slice(nVal + nTest));
  }
  return {
    train: subset(d, parts[0], `${d.source} (train split)`),
    val: subset(d, parts[1], `${d.source} (val split)`),
    test: subset(d, parts[2], `${d.source} (test split)`),
    seed,
  };
}

/** One list line in PaddleX's format. */
export function listLine(s: Sample): string {
  return `${s.rel} ${s.targets ? Array.from(s.targets).join(',') : s.label}\n`;
}

/** The four files `pplcnet split` writes, by name. */
export function splitFiles(split: DatasetSplit): Map<string, string> {
  const list = (d: Dataset): string => d.samples.map(listLine).join('');
  return new Map([
    [LIST_NAMES.train, list(split.train)],
    [LIST_NAMES.val, list(split.val)],
    [LIST_NAMES.test, list(split.test)],
    [LIST_NAMES.labels, split.train.labels.map((l) => `${l}\n`).join('')],
  ]);
}

/**
 * Write files into `folder` all or none: every file goes to a temporary name first; only when all are
 * written are they renamed into place (a failure removes the temporary files and leaves the folder as it was).
 */
export async function writeFilesTogether(folder: string, files: ReadonlyMap<string, string>): Promise<void> {
  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const written: [string, string][] = [];
  try {
    for (const [name, text] of files) {
      const target = join(folder, name);
      await checkOutputPath(target);
      const tmp = `${target}.tmp.${tag}`;
      await writeFile(tmp, text, { flag: 'wx' });
      written.push([tmp, target]);
    }
  } catch (err) {
    await Promise.all(written.map(([tmp]) => rm(tmp, { force: true })));
    throw err;
  }
  for (const [tmp, target] of written) await rename(tmp, target);
}

export interface SplitFolderResult {
  readonly folder: string;
  readonly labels: readonly string[];
  readonly counts: { readonly train: number; readonly val: number; readonly test: number };
  /** Per class: [train, val, test]. */
  readonly perClass: readonly (readonly [number, number, number])[];
  readonly seed: number;
  readonly files: readonly string[];
}

/** `pplcnet split`: read a folder of class folders, split it and write the lists beside the classes. */
export async function splitFolder(folder: string, options: SplitOptions = {}): Promise<SplitFolderResult> {
  const d = await readFolderDataset(folder);
  checkTrainable(d);
  const split = splitDataset(d, options);
  const files = splitFiles(split);
  await writeFilesTogether(folder, files);
  const count = (x: Dataset, id: number): number => x.samples.filter((s) => s.label === id).length;
  return {
    folder,
    labels: d.labels,
    counts: { train: split.train.samples.length, val: split.val.samples.length, test: split.test.samples.length },
    perClass: d.labels.map((_, id) => [count(split.train, id), count(split.val, id), count(split.test, id)] as const),
    seed: split.seed,
    files: [...files.keys()].map((n) => join(folder, n)),
  };
}
