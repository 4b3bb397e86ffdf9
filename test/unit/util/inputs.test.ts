import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { expandInputs, globToRegExp } from '../../../src/util/inputs.js';
import { tempDir } from '../../helpers.js';

describe('input expansion', () => {
  const tmp = tempDir('inputs', { before, after });
  before(async () => {
    await mkdir(join(tmp.path, 'a', 'b'), { recursive: true });
    for (const f of ['x.png', 'y.JPG', 'notes.txt', 'a/z.webp', 'a/b/w.png']) await writeFile(join(tmp.path, f), '');
  });

  test('a folder gives its images recursively, sorted; other files are skipped', async () => {
    const r = await expandInputs([tmp.path]);
    assert.deepEqual(r.map((f) => f.slice(tmp.path.length + 1)), ['a/b/w.png', 'a/z.webp', 'x.png', 'y.JPG']);
  });

  test('globs: * within a segment, ** across segments; missing files pass through to fail per file', async () => {
    const one = await expandInputs([`${tmp.path}/*.png`]);
    assert.deepEqual(one.map((f) => f.slice(tmp.path.length + 1)), ['x.png']);
    const deep = await expandInputs([`${tmp.path}/**/*.png`]);
    assert.deepEqual(deep.map((f) => f.slice(tmp.path.length + 1)), ['a/b/w.png', 'x.png']);
    assert.deepEqual(await expandInputs(['missing.jpg']), ['missing.jpg']);
    assert.ok(globToRegExp('scans/**/*.png').test('scans/2024/01/p.png'));
    assert.ok(!globToRegExp('scans/*.png').test('scans/2024/p.png'));
  });
});
