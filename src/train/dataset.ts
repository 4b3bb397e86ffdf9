/**
 * Labelled image datasets, in the forms PaddleX and PaddleClas users already have:
 * - a folder with one sub-folder per class (the sub-folder's name is the class name; classes in code-point
 *   order of their names, as `pplcnet split` numbers them);
 * - a list file, one `relative/path.jpg <class id>` per line, paths relative to the list's folder, with
 *   `labels.txt` (one class name per line, in id order) beside it (PaddleX's ImageNet format);
 * - a multi-label list, one `relative/path.jpg 0,1,0,1` per line (PaddleClas's MultiLabelDataset);
 * - a split folder: one holding `train_list.txt` (and `val_list.txt`, `test_list.txt`, `labels.txt`).
 * Every failure is an E_DATASET error naming the file and line, what was expected and what was found.
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { PplcnetError } from '../errors.js';
import { FILE_LIMITS } from '../util/file-limits.js';
import { readTextBounded } from '../util/fs.js';
import { IMAGE_EXTENSIONS } from '../util/inputs.js';

/** One labelled image. */
export interface Sample {
  /** The image's path (as the dataset's folder was given, joined with the list's relative path). */
  readonly path: string;
  /** The path relative to the dataset's folder, with `/` separators (what a list file holds). */
  readonly rel: string;
  /** Single-label: the class id. Multi-label: the first positive label, or −1. */
  readonly label: number;
  /** Multi-label only: one 0/1 per label. */
  readonly targets?: Uint8Array;
  /** Where the sample was read: `list.txt:12`, or the class folder. */
  readonly where: string;
}

export interface Dataset {
  /** The folder paths are relative to. */
  readonly root: string;
  /** What was read: a list file or a folder. */
  readonly source: string;
  readonly labels: readonly string[];
  readonly multiLabel: boolean;
  readonly samples: readonly Sample[];
}

/** A dataset split for training: `val` absent when the split folder has no `val_list.txt`. */
export interface SplitDataset {
  readonly train: Dataset;
  readonly val?: Dataset;
}

/** Largest list or labels file read (64 MiB: about a million lines). */
export const MAX_LIST_BYTES = FILE_LIMITS.datasetList.maxBytes;

const LIST_NAMES = Object.freeze({ train: 'train_list.txt', val: 'val_list.txt', test: 'test_list.txt', labels: 'labels.txt' });
export { LIST_NAMES };

export function datasetError(message: string): PplcnetError {
  return new PplcnetError('E_DATASET', message);
}

/** Read a list or labels file under its bound (a regular file only, at most `MAX_LIST_BYTES` for a list). */
export function readListFile(path: string, what: 'list file' | 'labels file' = 'list file'): Promise<string> {
  return readTextBounded(path, what === 'list file' ? FILE_LIMITS.datasetList : FILE_LIMITS.datasetLabels);
}

/** The non-empty lines of a text, with their 1-based line numbers. */
function lines(text: string): { n: number; text: string }[] {
  return text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .map((t, i) => ({ n: i + 1, text: t.trim() }))
    .filter((l) => l.text.length > 0);
}

/** `labels.txt`: one class name per line, in id order; duplicates refused. */
export async function readLabelsTxt(path: string): Promise<string[]> {
  const names: string[] = [];
  const seen = new Map<string, number>();
  for (const l of lines(await readListFile(path, 'labels file'))) {
    const prev = seen.get(l.text);
    if (prev !== undefined) throw datasetError(`${path}:${l.n}: label '${l.text}' appears again (first on line ${prev}); each class once`);
    seen.set(l.text, l.n);
    names.push(l.text);
  }
  if (names.length === 0) throw datasetError(`${path}: no labels; write one class name per line`);
  return names;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

/** Parse one list line into its path and label part (the path may hold spaces: the label is the last field). */
function splitLine(file: string, l: { n: number; text: string }): [string, string] {
  const m = /^(.*\S)\s+(\S+)$/.exec(l.text);
  if (!m) throw datasetError(`${file}:${l.n}: expected 'relative/path.jpg <class id>' (or '<0,1,…>' for multi-label), found '${l.text.slice(0, 120)}'`);
  return [m[1]!, m[2]!];
}

/**
 * Read a list file. `labels`: the class names (from `labels.txt` beside the list when not given; when there is
 * none, ids are named by their number). Every listed image must exist; ids must be in `labels`.
 */
export async function readListDataset(listPath: string, labels?: readonly string[]): Promise<Dataset> {
  const root = dirname(listPath);
  const text = await readListFile(listPath);
  const labelsPath = join(root, LIST_NAMES.labels);
  let names = labels ?? ((await isFile(labelsPath)) ? await readLabelsTxt(labelsPath) : undefined);
  const samples: Sample[] = [];
  let multi: boolean | undefined;
  let maxId = -1;
  for (const l of lines(text)) {
    const [rel, tag] = splitLine(listPath, l);
    const where = `${listPath}:${l.n}`;
    const isMulti = tag.includes(',');
    if (multi !== undefined && multi !== isMulti) throw datasetError(`${where}: mixes single-label and multi-label lines; use one form in a list`);
    multi = isMulti;
    if (isAbsolute(rel) || rel.split(/[\\/]/).includes('..')) throw datasetError(`${where}: the path '${rel}' must be relative to the list's folder, without '..'`);
    const path = join(root, rel);
    if (!(await isFile(path))) throw datasetError(`${where}: image '${rel}' is missing (looked for ${path})`);
    if (isMulti) {
      const bits = tag.split(',');
      if (!bits.every((b) => b === '0' || b === '1')) throw datasetError(`${where}: expected a comma-separated 0/1 vector, found '${tag}'`);
      if (names && bits.length !== names.length) throw datasetError(`${where}: ${bits.length} labels in '${tag}' but ${names.length} in ${labelsPath}`);
      if (samples.length > 0 && samples[0]!.targets!.length !== bits.length) throw datasetError(`${where}: ${bits.length} labels but line ${samples[0]!.where.split(':').pop()} has ${samples[0]!.targets!.length}`);
      const targets = Uint8Array.from(bits.map(Number));
      samples.push({ path, rel, label: targets.indexOf(1), targets, where });
    } else {
      if (!/^\d+$/.test(tag)) throw datasetError(`${where}: expected a class id (0, 1, …), found '${tag}'`);
      const id = Number(tag);
      if (names && id >= names.length) throw datasetError(`${where}: class id ${id} is not in ${labelsPath} (${names.length} labels, ids 0..${names.length - 1}); add the label or fix the id`);
      maxId = Math.max(maxId, id);
      samples.push({ path, rel, label: id, where });
    }
  }
  if (samples.length === 0) throw datasetError(`${listPath}: no images listed; write one 'relative/path.jpg <class id>' per line`);
  names ??= Array.from({ length: multi ? samples[0]!.targets!.length : maxId + 1 }, (_, i) => String(i));
  return { root, source: listPath, labels: names, multiLabel: multi === true, samples };
}

function isImageName(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot > 0 && IMAGE_EXTENSIONS.includes(name.slice(dot).toLowerCase());
}

/**
 * A folder's entries; a folder that is not there, is not a folder or cannot be read is refused naming it,
 * `what` saying what was expected there.
 */
async function folderEntries(dir: string, what: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : `cannot be read (${(err as Error).message})`;
    throw new PplcnetError('E_DATASET', `${dir}: ${why}; give ${what}`, { cause: err });
  }
}

/** The images under a folder, recursively, sorted; hidden entries skipped. */
async function imagesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await folderEntries(dir, 'a readable folder of images');
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await imagesUnder(p)));
    else if ((e.isFile() || e.isSymbolicLink()) && isImageName(e.name) && (await isFile(p))) out.push(p);
  }
  return out;
}

/** A folder with one sub-folder per class. Each class must hold at least one image. */
export async function readFolderDataset(folder: string): Promise<Dataset> {
  const entries = (await folderEntries(folder, 'a folder of class folders (one sub-folder of images per class)')).filter((e) => e.isDirectory() && !e.name.startsWith('.'));
  const classes = entries.map((e) => e.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (classes.length === 0) throw datasetError(`${folder}: no class folders; put each class's images in a sub-folder named after the class`);
  const samples: Sample[] = [];
  for (const [id, name] of classes.entries()) {
    const dir = join(folder, name);
    const images = await imagesUnder(dir);
    if (images.length === 0) throw datasetError(`${dir}: class '${name}' holds no images (${IMAGE_EXTENSIONS.join(' ')}); add images or remove the folder`);
    for (const path of images) samples.push({ path, rel: relative(folder, path).split(sep).join('/'), label: id, where: dir });
  }
  return { root: folder, source: folder, labels: classes, multiLabel: false, samples };
}

/**
 * Open what the user gave: a list file, a split folder (one holding `train_list.txt`: its train and val lists)
 * or a folder of class folders (all of it in `train`, to be split by the caller).
 */
export async function openDataset(path: string): Promise<SplitDataset & { kind: 'list' | 'split' | 'folder' }> {
  const s = await stat(path).catch(() => undefined);
  if (!s) throw datasetError(`${path}: no such file or folder; give a folder of class folders, a split folder or a list file`);
  if (s.isFile()) return { kind: 'list', train: await readListDataset(path) };
  if (!s.isDirectory()) throw datasetError(`${path}: neither a folder nor a regular file`);
  const trainList = join(path, LIST_NAMES.train);
  if (await isFile(trainList)) {
    const labelsPath = join(path, LIST_NAMES.labels);
    const labels = (await isFile(labelsPath)) ? await readLabelsTxt(labelsPath) : undefined;
    const train = await readListDataset(trainList, labels);
    const valList = join(path, LIST_NAMES.val);
    const val = (await isFile(valList)) ? await readListDataset(valList, train.labels) : undefined;
    return { kind: 'split', train, ...(val ? { val } : {}) };
  }
  return { kind: 'folder', train: await readFolderDataset(path) };
}

/**
 * Open a dataset to evaluate on: a list file, a folder of class folders, or a split folder (its
 * `test_list.txt`, else its `val_list.txt`).
 */
export async function openEvalDataset(path: string): Promise<Dataset> {
  const s = await stat(path).catch(() => undefined);
  if (s?.isDirectory()) {
    for (const name of [LIST_NAMES.test, LIST_NAMES.val]) {
      const list = join(path, name);
      if (await isFile(list)) return readListDataset(list);
    }
    if (await isFile(join(path, LIST_NAMES.train))) throw datasetError(`${path}: a split folder without ${LIST_NAMES.test} or ${LIST_NAMES.val}; name the list to evaluate on`);
  }
  const d = await openDataset(path);
  return d.train;
}

/** Refuse what cannot be trained: fewer than two classes, or a class without a training image. */
export function checkTrainable(d: Dataset): void {
  if (d.labels.length < 2) throw datasetError(`${d.source}: only one class ('${d.labels[0]}'); a classifier needs at least two`);
  const counts = classCounts(d);
  const empty = counts.findIndex((c) => c === 0);
  if (empty >= 0) {
    throw datasetError(`${d.source}: class '${d.labels[empty]}' (id ${empty}) has no ${d.multiLabel ? 'positive ' : ''}images${d.multiLabel ? '' : ' here'}; add images of it or remove it from ${LIST_NAMES.labels}`);
  }
}

/** Images per class (multi-label: positives per label). */
export function classCounts(d: Dataset): number[] {
  const counts = new Array<number>(d.labels.length).fill(0);
  for (const s of d.samples) {
    if (s.targets) s.targets.forEach((t, i) => (counts[i]! += t));
    else counts[s.label]!++;
  }
  return counts;
}

/** A subset of a dataset's samples, keeping its labels. */
export function subset(d: Dataset, samples: readonly Sample[], source: string): Dataset {
  return { ...d, source, samples };
}
