/**
 * What the queue checks without Redis: stored rows parsed against their key (`queue results`), paths deduplicated
 * by real path (`queue add`), and the nearest zoo names suggested for a misspelt model.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { editDistance, nearestZooNames } from '../../src/models/check.js';
import { dedupeByRealPath } from '../../src/queue/producer.js';
import { checkStoredRow } from '../../src/queue/rows.js';
import { ZOO } from '../../src/zoo/registry.js';

test('checkStoredRow: result and error rows pass re-serialized; anything else is a problem', () => {
  const result = { file: '/a.png', model: 'm', topk: [{ classId: 1, label: 'x', score: 0.5 }], timings: { decodeMs: 1 } };
  assert.deepEqual(checkStoredRow('/a.png', JSON.stringify(result, null, 2)), { line: JSON.stringify(result), error: false });
  const error = { file: '/b.png', error: { code: 'E_IMAGE', message: '/b.png: no such file' } };
  assert.deepEqual(checkStoredRow('/b.png', JSON.stringify(error)), { line: JSON.stringify(error), error: true });
  // a key holding a newline is fine: JSON escapes it
  assert.deepEqual(checkStoredRow('/c\n.png', JSON.stringify({ ...error, file: '/c\n.png' })), { line: JSON.stringify({ ...error, file: '/c\n.png' }), error: true });
  const problems: [string, string, RegExp][] = [
    ['/a.png', `${JSON.stringify(result)}\n${JSON.stringify(error)}`, /^is not JSON \(/],
    ['/a.png', 'undefined', /^is not JSON/],
    ['/a.png', JSON.stringify({ ...result, file: '/other.png' }), /^names file "\/other\.png", not its key$/],
    ['/a.png', '[1]', /^is an array, not a row object$/],
    ['/a.png', 'null', /^is null, not a row object$/],
    ['/a.png', '"text"', /^is a string, not a row object$/],
    ['/a.png', JSON.stringify({ file: '/a.png', error: 'bad' }), /^has an error that is not \{code, message\} strings$/],
    ['/a.png', JSON.stringify({ file: '/a.png', topk: [] }), /^has no model name$/],
    ['/a.png', JSON.stringify({ file: '/a.png', model: 'm', topk: [{ classId: 'x' }] }), /^has no topk list/],
  ];
  for (const [key, value, re] of problems) {
    const r = checkStoredRow(key, value);
    assert.ok('problem' in r, value);
    assert.match(r.problem, re);
  }
});

test('dedupeByRealPath: ., .., a link and a repeat are one file; the first path is kept; missing paths are counted', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pplcnet-dedupe-'));
  try {
    await writeFile(join(dir, 'a.png'), 'x');
    await writeFile(join(dir, 'b.png'), 'y');
    await symlink(join(dir, 'a.png'), join(dir, 'link.png'));
    const given = [`${dir}/./a.png`, join(dir, 'b.png'), `${dir}/../${dir.split('/').pop()}/a.png`, join(dir, 'link.png'), join(dir, 'gone.png'), join(dir, 'gone.png'), join(dir, 'b.png')];
    const r = await dedupeByRealPath(given);
    assert.deepEqual(r.files, [join(dir, 'a.png'), join(dir, 'b.png'), join(dir, 'gone.png')]);
    assert.deepEqual(r.duplicates, [
      { path: given[2], sameAs: join(dir, 'a.png') },
      { path: given[3], sameAs: join(dir, 'a.png') },
      { path: given[5], sameAs: join(dir, 'gone.png') },
      { path: given[6], sameAs: join(dir, 'b.png') },
    ]);
    assert.equal(r.missing, 2);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('editDistance: optimal string alignment, case folded', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('ca', 'abc'), 3); // OSA, not unrestricted Damerau (2)
  assert.equal(editDistance('textlien', 'textline'), 1); // one transposition
  assert.equal(editDistance('TextLine', 'textline'), 0);
  assert.equal(editDistance('', 'abc'), 3);
});

test('nearestZooNames: the nearest names and aliases, a prefix of a name, nothing for what is far from all', () => {
  assert.deepEqual(nearestZooNames('textlin', ZOO), ['textline (PP-LCNet_x0_25_textline_ori)']);
  assert.deepEqual(nearestZooNames('PP-LCNet_x0_25_textline', ZOO), ['PP-LCNet_x0_25_textline_ori']);
  assert.deepEqual(nearestZooNames('pp-lcnet_x0_25_textline_or', ZOO), ['PP-LCNet_x0_25_textline_ori']);
  assert.deepEqual(nearestZooNames('something-else-entirely', ZOO), []);
});
