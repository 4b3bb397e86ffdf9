/**
 * Datasets and splits: class folders, PaddleX lists and multi-label lists read as written; every bad dataset
 * (an empty class, a label not in labels.txt, a missing file, one class only, a malformed line, a list that is
 * too large or not a regular file) fails with an E_DATASET error naming the file and line; `split` is
 * stratified (⌊n·val⌋ and ⌊n·test⌋ of each class, counted independently here), deterministic for a seed,
 * different for another seed, written in PaddleX's format, and all-or-nothing.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MAX_LIST_BYTES, PplcnetError, openDataset, openEvalDataset, readFolderDataset, readListDataset, splitDataset, splitFolder } from '../../../src/index.js';
import { FIXTURES } from '../../fixtures/index.js';
import { tempDir } from '../../helpers.js';

const PNG = join(FIXTURES.textlines, '00_up.png');

/** A folder of class folders with `counts[i]` images in class `names[i]`. */
async function classFolders(root: string, names: readonly string[], counts: readonly number[]): Promise<void> {
  for (const [i, name] of names.entries()) {
    await mkdir(join(root, name), { recursive: true });
    for (let j = 0; j < counts[i]!; j++) await copyFile(PNG, join(root, name, `${String(j).padStart(3, '0')}.png`));
  }
}

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof PplcnetError, String(err));
    assert.equal(err.code, 'E_DATASET');
    assert.match(err.message, pattern);
    return true;
  });
}

describe('datasets', () => {
  const tmp = tempDir('dataset', { before, after });

  test('a folder of class folders: classes in name order, images sorted, paths relative with /', async () => {
    const root = join(tmp.path, 'folder');
    await classFolders(root, ['tiger', 'panda'], [2, 3]);
    await writeFile(join(root, 'panda', 'notes.txt'), 'not an image');
    const d = await readFolderDataset(root);
    assert.deepEqual(d.labels, ['panda', 'tiger']);
    assert.deepEqual(d.samples.map((s) => `${s.rel} ${s.label}`), ['panda/000.png 0', 'panda/001.png 0', 'panda/002.png 0', 'tiger/000.png 1', 'tiger/001.png 1']);
  });

  test('PaddleX lists with labels.txt, paths with spaces; multi-label lists', async () => {
    const root = join(tmp.path, 'lists');
    await mkdir(join(root, 'a b'), { recursive: true });
    await copyFile(PNG, join(root, 'a b', 'x 1.png'));
    await copyFile(PNG, join(root, 'y.png'));
    await writeFile(join(root, 'labels.txt'), 'cat\ndog\n');
    await writeFile(join(root, 'l.txt'), '\uFEFFa b/x 1.png 1\r\n\ny.png 0\n');
    const d = await readListDataset(join(root, 'l.txt'));
    assert.deepEqual(d.labels, ['cat', 'dog']);
    assert.deepEqual(d.samples.map((s) => [s.rel, s.label, s.where.endsWith('l.txt:1') || s.where.endsWith('l.txt:3')]), [['a b/x 1.png', 1, true], ['y.png', 0, true]]);
    await writeFile(join(root, 'm.txt'), 'y.png 0,1\na b/x 1.png 1,1\n');
    const m = await readListDataset(join(root, 'm.txt'));
    assert.equal(m.multiLabel, true);
    assert.deepEqual(m.samples.map((s) => Array.from(s.targets!)), [[0, 1], [1, 1]]);
  });

  test('bad datasets: each error names the file and line and says what to do', async () => {
    const root = join(tmp.path, 'bad');
    await classFolders(root, ['a'], [2]);
    await mkdir(join(root, 'empty'));
    await rejects(readFolderDataset(root), /empty: class 'empty' holds no images/);
    // a folder that is not there, or a file where the folder should be: named, with what to give
    await rejects(readFolderDataset(join(tmp.path, 'absent')), /absent: no such folder; give a folder of class folders \(one sub-folder of images per class\)$/);
    await rejects(splitFolder(join(tmp.path, 'absent')), /absent: no such folder; give a folder of class folders/);
    await writeFile(join(tmp.path, 'plain.txt'), 'not a folder');
    await rejects(readFolderDataset(join(tmp.path, 'plain.txt')), /plain\.txt: not a folder; give a folder of class folders/);
    const one = join(tmp.path, 'one');
    await classFolders(one, ['only'], [3]);
    await rejects(splitFolder(one), /only one class \('only'\); a classifier needs at least two/);
    const lists = join(tmp.path, 'lists2');
    await classFolders(lists, ['a', 'b'], [1, 1]);
    await writeFile(join(lists, 'labels.txt'), 'a\nb\n');
    const list = async (name: string, text: string): Promise<string> => {
      await writeFile(join(lists, name), text);
      return join(lists, name);
    };
    await rejects(readListDataset(await list('l1.txt', 'a/000.png 0\nb/000.png 2\n')), /l1\.txt:2: class id 2 is not in .*labels\.txt \(2 labels, ids 0\.\.1\)/);
    await rejects(readListDataset(await list('l2.txt', 'a/000.png 0\n\nb/nope.png 1\n')), /l2\.txt:3: image 'b\/nope\.png' is missing/);
    await rejects(readListDataset(await list('l3.txt', 'a/000.png zero\n')), /l3\.txt:1: expected a class id/);
    await rejects(readListDataset(await list('l4.txt', 'justonefield\n')), /l4\.txt:1: expected 'relative\/path\.jpg <class id>'/);
    await rejects(readListDataset(await list('l5.txt', '../a/000.png 0\n')), /l5\.txt:1: the path '\.\.\/a\/000\.png' must be relative/);
    await rejects(readListDataset(await list('l6.txt', 'a/000.png 0,1\nb/000.png 1\n')), /l6\.txt:2: mixes single-label and multi-label/);
    await rejects(readListDataset(await list('l7.txt', 'a/000.png 0,1,1\n')), /l7\.txt:1: 3 labels in '0,1,1' but 2 in/);
    // an empty class in a training list: labels.txt names a class with no image
    await writeFile(join(lists, 'labels.txt'), 'a\nb\nc\n');
    await writeFile(join(lists, 'train_list.txt'), 'a/000.png 0\nb/000.png 1\n');
    const { trainClassifier } = await import('../../../src/index.js');
    await rejects(trainClassifier({ model: 'unused-never-opened', data: lists }), /train_list\.txt: class 'c' \(id 2\) has no images/);
    await writeFile(join(lists, 'labels.txt'), 'a\nb\na\n');
    await rejects(openDataset(lists), /labels\.txt:3: label 'a' appears again \(first on line 1\)/);
  });

  test('list files are read bounded: regular files only, at most MAX_LIST_BYTES', async () => {
    const big = join(tmp.path, 'big.txt');
    await writeFile(big, '');
    await truncate(big, MAX_LIST_BYTES + 1);
    await rejects(readListDataset(big), /big\.txt: 67108865 bytes .*more than the 67108864 bytes .* pplcnet reads of a dataset list; not read\. Split the dataset/);
    const dir = join(tmp.path, 'dir_list.txt');
    await mkdir(dir);
    await rejects(readListDataset(dir), /dir_list\.txt: is a folder, not a regular file/);
    await rejects(openDataset(join(tmp.path, 'nothing')), /no such file or folder/);
  });

  test('split: stratified, deterministic, seeded, PaddleX format, written together', async () => {
    const root = join(tmp.path, 'split');
    const counts = [10, 7, 23];
    await classFolders(root, ['c0', 'c1', 'c2'], counts);
    const r = await splitFolder(root, { val: 0.2, test: 0.1, seed: 3 });
    const read = async (n: string): Promise<string[]> => (await readFile(join(root, n), 'utf8')).split('\n').filter(Boolean);
    const [train, val, testList, labels] = await Promise.all(['train_list.txt', 'val_list.txt', 'test_list.txt', 'labels.txt'].map(read));
    assert.deepEqual(labels, ['c0', 'c1', 'c2']);
    for (const [c, n] of counts.entries()) {
      const of = (lines: string[]): number => lines.filter((l) => l.endsWith(` ${c}`)).length;
      const nVal = Math.floor(n * 0.2);
      const nTest = Math.floor(n * 0.1);
      assert.deepEqual([of(train!), of(val!), of(testList!)], [n - nVal - nTest, nVal, nTest], `class ${c}`);
      assert.deepEqual(r.perClass[c], [n - nVal - nTest, nVal, nTest]);
    }
    // every image once, each line 'cN/NNN.png N' with the folder's class id
    const all = [...train!, ...val!, ...testList!];
    assert.equal(new Set(all).size, 40);
    for (const l of all) assert.match(l, /^c(\d)\/\d{3}\.png \1$/);
    // the same seed: the same lists; another seed: another order
    const d = await readFolderDataset(root);
    const again = splitDataset(d, { val: 0.2, test: 0.1, seed: 3 });
    assert.deepEqual(again.val.samples.map((s) => s.rel), val!.map((l) => l.split(' ')[0]));
    const other = splitDataset(d, { val: 0.2, test: 0.1, seed: 4 });
    assert.notDeepEqual(other.val.samples.map((s) => s.rel), val!.map((l) => l.split(' ')[0]));
    // a split folder is then read as one: train and val lists
    const opened = await openDataset(root);
    assert.equal(opened.kind, 'split');
    assert.deepEqual([opened.train.samples.length, opened.val?.samples.length], [train!.length, val!.length]);
    assert.equal((await openEvalDataset(root)).source, join(root, 'test_list.txt'));
    // training never reads the test list: a broken one does not matter to it, and is eval's error
    const saved = await readFile(join(root, 'test_list.txt'));
    await writeFile(join(root, 'test_list.txt'), 'garbage\n');
    assert.equal((await openDataset(root)).train.samples.length, train!.length);
    await rejects(openEvalDataset(root), /test_list\.txt:1: expected 'relative\/path\.jpg <class id>'/);
    await writeFile(join(root, 'test_list.txt'), saved);
    assert.throws(() => splitDataset(d, { val: 0.6, test: 0.4 }), RangeError);
  });

  test('split writes nothing when one of its files cannot be written', async () => {
    const root = join(tmp.path, 'split-fail');
    await classFolders(root, ['a', 'b'], [4, 4]);
    await mkdir(join(root, 'test_list.txt'));
    await assert.rejects(splitFolder(root), /test_list\.txt/);
    const left = (await readdir(root)).sort();
    assert.deepEqual(left, ['a', 'b', 'test_list.txt'], 'no list and no temporary file left behind');
  });
});
