import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PplcnetError } from '../../../src/errors.js';
import { resolveModel } from '../../../src/models/resolve.js';
import { listCache, pruneCache, removeFromCache } from '../../../src/zoo/inventory.js';
import { FIXTURES } from '../../fixtures/index.js';
import { tempDir } from '../../helpers.js';

const DAY = 86_400_000;

describe('the cache inventory: ls, rm, prune', () => {
  const dir = tempDir('inventory', { before, after });
  const opts = () => ({ cacheDir: join(dir.path, 'cache'), build: { inputSize: [64, 64] as [number, number] } });
  let weights: Uint8Array;
  before(async () => {
    weights = new Uint8Array(await readFile(join(FIXTURES.pdparams, 'x0_25.pdparams')));
  });

  test('lists converted models with their source, zoo folders and leftovers; prune removes orphans and leftovers only', async () => {
    const cacheDir = opts().cacheDir;
    const keep = join(dir.path, 'keep.pdparams');
    const gone = join(dir.path, 'gone.pdparams');
    await writeFile(keep, weights);
    await writeFile(gone, weights);
    const a = await resolveModel(keep, { ...opts(), weights: { act: 'hardswish' } });
    const b = await resolveModel(gone, { ...opts(), weights: { act: 'relu' } }); // another key: the options differ
    assert.notEqual(a.path, b.path);
    await mkdir(join(cacheDir, 'models', 'half'), { recursive: true });
    await writeFile(join(cacheDir, 'models', 'half', 'half.pdparams.partial'), new Uint8Array(100));
    await mkdir(join(cacheDir, 'models', 'empty', 'onnx'), { recursive: true });
    await writeFile(join(cacheDir, 'onnx', `x.onnx.tmp.999999999.abcd`), 'x');
    await rm(gone);

    const items = await listCache({ cacheDir });
    const byKind = (k: string) => items.filter((i) => i.kind === k).map((i) => i.id).sort();
    assert.deepEqual(byKind('converted'), [a, b].map((r) => r.path!.replace(/^.*\//, '').slice(0, 12)).sort());
    assert.deepEqual(byKind('zoo'), ['half']);
    assert.deepEqual(byKind('leftover'), ['models/empty', 'models/half/half.pdparams.partial', 'onnx/x.onnx.tmp.999999999.abcd']);
    const orphan = items.find((i) => i.path === b.path)!;
    assert.match(orphan.stale ?? '', /gone\.pdparams no longer exists/);
    assert.equal(items.find((i) => i.path === a.path)!.stale, undefined);
    assert.ok(orphan.bytes > b.bytes.length, 'the size counts the model, its digest and its record');

    const dry = await pruneCache({ cacheDir, dryRun: true });
    assert.deepEqual(dry.map((i) => i.reason).sort(), ['a temp file of a process that is gone', 'an empty folder', 'an unfinished download', orphan.stale].sort());
    assert.ok(existsSync(b.path!), 'a dry run removes nothing');
    const pruned = await pruneCache({ cacheDir });
    assert.equal(pruned.length, 4);
    assert.ok(!existsSync(b.path!) && !existsSync(`${b.path!}.sha256`) && !existsSync(`${b.path!}.json`));
    assert.ok(existsSync(a.path!), 'a model whose source exists is kept');
    assert.deepEqual(await readdir(cacheDir).then((f) => f.sort()), ['onnx'], 'the emptied zoo folders are gone');
  });

  test('a changed source makes its conversion stale; --older-than removes models not used for that long; use refreshes', async () => {
    const cacheDir = join(dir.path, 'cache2');
    const src = join(dir.path, 'w.pdparams');
    await writeFile(src, weights);
    const r = await resolveModel(src, { ...opts(), cacheDir });
    const record = `${r.path!}.json`;
    const old = new Date(Date.now() - 40 * DAY);
    await utimes(record, old, old);
    assert.deepEqual((await pruneCache({ cacheDir, olderThanMs: 50 * DAY, dryRun: true })).length, 0);
    const aged = await pruneCache({ cacheDir, olderThanMs: 30 * DAY, dryRun: true });
    assert.deepEqual(aged.map((i) => i.reason.replace(/[\d.]+ days/, 'N days')), ['not used for N days']);
    assert.ok(Number(/([\d.]+) days/.exec(aged[0]!.reason)![1]) >= 40);
    // a use marks it used
    assert.equal((await resolveModel(src, { ...opts(), cacheDir })).origin, 'cache');
    assert.deepEqual(await pruneCache({ cacheDir, olderThanMs: 30 * DAY, dryRun: true }), []);
    // the source rewritten (another size): stale
    await writeFile(src, weights.subarray(0, 1000));
    const [stale] = await pruneCache({ cacheDir, dryRun: true });
    assert.match(stale!.reason, /w\.pdparams has changed since \(\d+ → 1000 bytes\)/);
  });

  test('rm takes a key prefix, a source path or a zoo name; anything else is an error naming cache ls', async () => {
    const cacheDir = join(dir.path, 'cache3');
    const src = join(dir.path, 'r.pdparams');
    await writeFile(src, weights);
    const r1 = await resolveModel(src, { ...opts(), cacheDir });
    const r2 = await resolveModel(src, { ...opts(), cacheDir, weights: { act: 'relu' } });
    const key = r1.path!.replace(/^.*\//, '').slice(0, 10);
    const removed = await removeFromCache(key, { cacheDir });
    assert.deepEqual(removed.map((i) => i.path), [r1.path]);
    assert.ok(!existsSync(r1.path!) && existsSync(r2.path!));
    const bySource = await removeFromCache(src, { cacheDir });
    assert.deepEqual(bySource.map((i) => i.path), [r2.path]);
    await mkdir(join(cacheDir, 'models', 'PPLCNet_x1_0'), { recursive: true });
    await writeFile(join(cacheDir, 'models', 'PPLCNet_x1_0', 'source.json'), '{}');
    assert.deepEqual((await removeFromCache('pp-lcnet_x1_0', { cacheDir })).map((i) => i.id), ['PPLCNet_x1_0']);
    assert.ok(!existsSync(join(cacheDir, 'models', 'PPLCNet_x1_0')));
    await assert.rejects(removeFromCache('../../etc', { cacheDir }), (e: unknown) => e instanceof PplcnetError && e.code === 'E_MODEL' && /nothing in the cache .* matches it; 'pplcnet cache ls'/.test(e.message));
  });
});
