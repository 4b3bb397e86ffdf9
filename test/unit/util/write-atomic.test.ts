import assert from 'node:assert/strict';
import { readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkOutputPath, writeFileAtomic } from '../../../src/util/fs.js';
import { tempDir } from '../../helpers.js';

describe('writeFileAtomic overwrite: false', () => {
  const dir = tempDir('write', { before, after });

  test('an absent file is written; an existing file or link is refused naming --force, and stays as it was', async () => {
    const p = join(dir.path, 'a.onnx');
    await writeFileAtomic(p, 'one', { overwrite: false });
    assert.equal(await readFile(p, 'utf8'), 'one');
    await assert.rejects(writeFileAtomic(p, 'two', { overwrite: false }), { code: 'E_IO', message: `${p}: already exists; refusing to replace it (pass --force to replace it, or choose another name with -o)` });
    await assert.rejects(checkOutputPath(p, { overwrite: false }), { code: 'E_IO' });
    assert.equal(await readFile(p, 'utf8'), 'one');
    const link = join(dir.path, 'link.onnx');
    await writeFile(join(dir.path, 'target'), 'target');
    await symlink(join(dir.path, 'target'), link);
    await assert.rejects(writeFileAtomic(link, 'x', { overwrite: false }), { message: /is a symbolic link; refusing to replace it \(pass --force/ });
    // --force replaces the file, and the link itself (never its target)
    await writeFileAtomic(p, 'two', { overwrite: false, force: true });
    assert.equal(await readFile(p, 'utf8'), 'two');
    await writeFileAtomic(link, 'x', { overwrite: false, force: true });
    assert.equal(await readFile(join(dir.path, 'target'), 'utf8'), 'target');
    assert.equal(await readFile(link, 'utf8'), 'x');
    // the default still replaces a regular file; no temporary file is left behind
    await writeFileAtomic(p, 'three');
    assert.equal(await readFile(p, 'utf8'), 'three');
    assert.deepEqual((await readdir(dir.path)).sort(), ['a.onnx', 'link.onnx', 'target']);
  });
});
