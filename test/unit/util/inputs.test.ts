import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { expandImageInputs, expandInputs } from '../../../src/util/inputs.js';
import { tempDir } from '../../helpers.js';

/** mkfifo(1): a FIFO that blocks whoever opens it for reading until a writer comes. */
function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path]);
  assert.equal(r.status, 0, `mkfifo ${path}: ${r.stderr}`);
}

describe('input expansion', () => {
  const tmp = tempDir('inputs', { before, after });
  const rel = (files: readonly string[]): string[] => files.map((f) => f.slice(tmp.path.length + 1));
  before(async () => {
    await mkdir(join(tmp.path, 'a', 'b'), { recursive: true });
    for (const f of ['x.png', 'y.JPG', 'notes.txt', 'a/z.webp', 'a/b/w.png', 'a/b/v.jpg']) await writeFile(join(tmp.path, f), '');
  });

  test('a folder gives its images recursively, sorted; other files are skipped', async () => {
    const r = await expandInputs([tmp.path]);
    assert.deepEqual(rel(r), ['a/b/v.jpg', 'a/b/w.png', 'a/z.webp', 'x.png', 'y.JPG']);
  });

  test('globs: * within a segment, ** across segments, braces and classes; missing files pass through to fail per file', async () => {
    assert.deepEqual(rel(await expandInputs([`${tmp.path}/*.png`])), ['x.png']);
    assert.deepEqual(rel(await expandInputs([`${tmp.path}/**/*.png`])), ['a/b/w.png', 'x.png']);
    assert.deepEqual(rel(await expandInputs([`${tmp.path}/**/*.{png,jpg}`])), ['a/b/v.jpg', 'a/b/w.png', 'x.png']);
    assert.deepEqual(rel(await expandInputs([`${tmp.path}/a/b/[uvw].*`])), ['a/b/v.jpg', 'a/b/w.png']);
    assert.deepEqual(rel(await expandInputs([`${tmp.path}/a/b/[!w].*`])), ['a/b/v.jpg']);
    assert.deepEqual(await expandInputs(['missing.jpg']), ['missing.jpg']);
    // an existing name is taken literally even when it looks like a pattern
    await writeFile(join(tmp.path, '[1].png'), '');
    assert.deepEqual(rel(await expandInputs([join(tmp.path, '[1].png')])), ['[1].png']);
  });
});

describe('input expansion: links, FIFOs, loops', () => {
  const tmp = tempDir('inputs-links', { before, after });
  before(async () => {
    const p = (f: string): string => join(tmp.path, f);
    await mkdir(p('scans/sub'), { recursive: true });
    await mkdir(p('elsewhere'), { recursive: true });
    for (const f of ['scans/a.png', 'scans/sub/b.png', 'elsewhere/c.png', 'elsewhere/d.jpg']) await writeFile(p(f), '');
    await symlink('../elsewhere/c.png', p('scans/linked.png'));
    await symlink('../elsewhere', p('scans/other'));
    await symlink('..', p('scans/sub/up')); // a loop: scans/sub/up/sub/up/...
    await symlink('nowhere.png', p('scans/broken.png'));
    await symlink('self.png', p('scans/self.png')); // a link to itself
    mkfifo(p('scans/pipe.png'));
    mkfifo(p('scans/pipe.txt')); // not an image name: ignored without a word
  });

  test('links to files and folders are followed, each image once; FIFOs, broken links and loops are reported, not opened', async () => {
    const dir = join(tmp.path, 'scans');
    const { files, skipped } = await expandImageInputs([dir]);
    assert.deepEqual(
      files.map((f) => f.slice(dir.length + 1)),
      ['a.png', 'linked.png', 'other/d.jpg', 'sub/b.png'],
    );
    const why = Object.fromEntries(skipped.map((s) => [s.path.slice(dir.length + 1), s.reason]));
    assert.deepEqual(Object.keys(why).sort(), ['broken.png', 'other/c.png', 'pipe.png', 'self.png', 'sub/up']);
    assert.match(why['pipe.png']!, /a FIFO \(named pipe\), not a regular file; not read/);
    assert.match(why['broken.png']!, /broken symbolic link/);
    assert.match(why['self.png']!, /symbolic link loop/);
    assert.match(why['sub/up']!, /symbolic link loop \(to .*scans, a folder that contains it\)/);
    assert.match(why['other/c.png']!, /the same file as .*linked\.png; listed once/);
  });

  test('a FIFO or a broken link named explicitly is reported and the inputs after it still come', async () => {
    const p = (f: string): string => join(tmp.path, 'scans', f);
    const r = await expandImageInputs([p('a.png'), p('pipe.png'), p('broken.png'), p('linked.png')]);
    assert.deepEqual(r.files, [p('a.png'), p('linked.png')]);
    assert.deepEqual(r.skipped.map((s) => s.path), [p('pipe.png'), p('broken.png')]);
    const g = await expandImageInputs([`${tmp.path}/scans/*.png`]);
    assert.deepEqual(g.files, [p('a.png'), p('linked.png')]);
    assert.deepEqual(g.skipped.map((s) => s.path), [p('broken.png'), p('pipe.png'), p('self.png')]);
  });
});
