/** Which command lines run in the child process with the large-folder malloc settings. */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LARGE_FOLDER_IMAGES, TUNED_MALLOC, TUNED_MARK, tunedNote, wantsTunedMalloc } from '../../../src/cli/respawn.js';
import { tempDir } from '../../helpers.js';

describe('wantsTunedMalloc', () => {
  const tmp = tempDir('respawn', { before, after });
  const dirs = { big: '', small: '', halfA: '', halfB: '' };
  before(async () => {
    const make = async (name: string, files: number, subdirs = 0): Promise<string> => {
      const d = join(tmp.path, name);
      await mkdir(d);
      await Promise.all(Array.from({ length: files }, (_, i) => writeFile(join(d, `${i}.jpg`), '')));
      for (let i = 0; i < subdirs; i++) await mkdir(join(d, `sub${i}`));
      return d;
    };
    dirs.big = await make('big', LARGE_FOLDER_IMAGES);
    dirs.small = await make('small', LARGE_FOLDER_IMAGES - 1, 3); // folders inside do not count
    dirs.halfA = await make('halfA', LARGE_FOLDER_IMAGES / 2);
    dirs.halfB = await make('halfB', LARGE_FOLDER_IMAGES / 2);
  });

  test(`a predict over ${LARGE_FOLDER_IMAGES} files or more in the folders it names, on Linux`, () => {
    assert.equal(wantsTunedMalloc(['predict', '-m', 'textline', '--json', dirs.big], {}, 'linux'), true);
    assert.equal(wantsTunedMalloc(['predict', dirs.small], {}, 'linux'), false, `${LARGE_FOLDER_IMAGES - 1} files and 3 folders`);
    assert.equal(wantsTunedMalloc(['predict', dirs.halfA, 'x.jpg', dirs.halfB], {}, 'linux'), true, 'the folders add up');
    assert.equal(wantsTunedMalloc(['predict', '-m', dirs.small, dirs.halfA], {}, 'linux'), true, 'an option value that is a folder counts too (a cheap lower bound, at worst a needless child)');
  });

  test('not for other commands, other systems, or when the user chose the malloc settings', () => {
    assert.equal(wantsTunedMalloc(['embed', dirs.big], {}, 'linux'), false);
    assert.equal(wantsTunedMalloc(['predict', dirs.big], {}, 'darwin'), false);
    assert.equal(wantsTunedMalloc(['predict', dirs.big], { PPLCNET_MALLOC: 'default' }, 'linux'), false);
    assert.equal(wantsTunedMalloc(['predict', dirs.big], { MALLOC_TRIM_THRESHOLD_: '0' }, 'linux'), false, 'the child itself, or a user who set one');
    assert.equal(wantsTunedMalloc(['predict', '--json', 'missing-folder', '*.jpg'], {}, 'linux'), false);
  });

  test('the child says so under --verbose', () => {
    assert.equal(tunedNote({}), undefined);
    const note = tunedNote({ [TUNED_MARK]: '1' })!;
    for (const [k, v] of Object.entries(TUNED_MALLOC)) assert.ok(note.includes(`${k}=${v}`), note);
    assert.match(note, /PPLCNET_MALLOC=default/);
  });
});
