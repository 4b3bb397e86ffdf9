import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClassifier } from '../../../src/classifier.js';
import { PplcnetError } from '../../../src/errors.js';
import { type ProgressEvent, download } from '../../../src/zoo/download.js';
import { mirrorUrl } from '../../../src/zoo/mirror.js';
import { cacheState, pullModel } from '../../../src/zoo/pull.js';
import { pruneCache } from '../../../src/zoo/inventory.js';
import { ZOO, type ZooEntry, loadZoo } from '../../../src/zoo/registry.js';
import { extractTar } from '../../../src/util/tar.js';
import { makeTar } from '../../archives.js';
import { FIXTURES } from '../../fixtures/index.js';
import { type TestServer, refusingUrl, startServer } from '../../server.js';
import { createHash } from 'node:crypto';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The text-line model's files under `dir` in an archive, some replaced. */
async function archiveEntries(model: string, dir: string, replace: Record<string, string> = {}): Promise<{ name: string; data: Uint8Array }[]> {
  return Promise.all(['inference.json', 'inference.pdiparams', 'inference.yml'].map(async (f) => ({ name: `${dir}${f}`, data: replace[f] !== undefined ? new TextEncoder().encode(replace[f]) : new Uint8Array(await readFile(join(model, f))) })));
}
const archiveWith = async (model: string, dir: string, replace: Record<string, string>): Promise<Uint8Array> => makeTar(await archiveEntries(model, dir, replace));

/** "Billion laughs": 9 levels of 9 aliases each, which would expand to 9^9 items. */
function aliasBomb(): string {
  const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${new Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(', ')}]`);
  return `${levels.join('\n')}\n`;
}

describe('zoo pulls from a local server', () => {
  let server: TestServer;
  let cache = '';
  let weights: Uint8Array;
  let archive: Uint8Array;
  const entry = (over: Partial<ZooEntry>): ZooEntry => ({
    name: 'tiny',
    aliases: [],
    description: 'test',
    format: 'pdparams',
    urls: [`${server.url}/w/tiny.pdparams`],
    architecture: {},
    inputSize: [64, 64],
    metrics: {},
    license: 'test',
    ...over,
  });

  before(async () => {
    weights = new Uint8Array(await readFile(join(FIXTURES.pdparams, 'x0_25.pdparams')));
    const model = FIXTURES.textlineModel;
    archive = makeTar([
      { name: 'PP-LCNet_x0_25_textline_ori_infer/', type: '5' },
      ...(await Promise.all(['inference.json', 'inference.pdiparams', 'inference.yml'].map(async (f) => ({ name: `PP-LCNet_x0_25_textline_ori_infer/${f}`, data: new Uint8Array(await readFile(join(model, f))) })))),
    ]);
    server = await startServer({
      '/w/tiny.pdparams': { body: weights },
      '/w/cut.pdparams': { body: weights, cutAfter: 50_000 },
      '/w/slow.pdparams': { body: weights, slowMs: 20 },
      '/a/tl_infer.tar': { body: archive },
      '/a/bomb_infer.tar': { body: await archiveWith(model, 'm/', { 'inference.yml': aliasBomb() }) },
      '/a/bad_program_infer.tar': { body: await archiveWith(model, 'm/', { 'inference.json': (await readFile(join(model, 'inference.json'), 'utf8')).replace('"N":"strides"', '"N":"strides_gone"') }) },
      '/a/two_infer.tar': { body: makeTar([...(await archiveEntries(model, 'a/')), ...(await archiveEntries(model, 'b/'))]) },
      '/a/evil.tar': { body: makeTar([{ name: 'm/inference.json', data: new Uint8Array([1]) }, { name: '../../escaped.txt', data: new Uint8Array([1]) }]) },
    });
  });
  const made: string[] = [];
  after(async () => {
    await server.close();
    await Promise.all(made.map((d) => rm(d, { recursive: true, force: true })));
  });
  const fresh = async () => {
    cache = await mkdtemp(join(tmpdir(), 'pplcnet-zoo-'));
    made.push(cache);
    return cache;
  };

  test('a full pull: progress events in order, loaded never decreases, ends at 100%; then cached', async () => {
    await fresh();
    const events: ProgressEvent[] = [];
    const e = entry({ sha256: sha(weights) });
    const r = await pullModel(e, { cacheDir: cache, onProgress: (ev) => events.push(ev), offline: false });
    assert.equal(r.fromCache, false);
    assert.deepEqual(await readFile(r.source), Buffer.from(weights));
    const statuses = events.map((x) => x.status);
    assert.deepEqual([statuses[0], statuses[1], statuses.at(-2), statuses.at(-1)], ['initiate', 'download', 'done', 'ready']);
    const loads = events.flatMap((x) => (x.status === 'progress' ? [x.loaded] : []));
    assert.ok(loads.every((v, i) => i === 0 || v >= loads[i - 1]!));
    assert.equal(loads.at(-1), weights.length);
    const record = JSON.parse(await readFile(join(r.dir, 'source.json'), 'utf8'));
    const { at, ...verified } = record.verified;
    assert.deepEqual({ ...record, verified }, { url: e.urls[0], sha256: sha(weights), bytes: weights.length, verified: { sha256: 'registry', parsed: 'pickle' } });
    assert.ok(Math.abs(Date.parse(at) - Date.now()) < 60_000, at);
    const before = server.requests.length;
    const again = await pullModel(e, { cacheDir: cache });
    assert.equal(again.fromCache, true);
    assert.equal(server.requests.length, before, 'a cached model makes no request');
  });

  test('a transfer cut mid-body resumes with Range and the file is complete', async () => {
    await fresh();
    const r = await pullModel(entry({ urls: [`${server.url}/w/cut.pdparams`] }), { cacheDir: cache });
    assert.equal(sha(new Uint8Array(await readFile(r.source))), sha(weights));
    assert.equal(r.sha256, sha(weights), 'the digest of what was fetched is recorded');
    const reqs = server.requests.filter((q) => q.path === '/w/cut.pdparams');
    assert.deepEqual(reqs.map((q) => q.range), [undefined, 'bytes=50000-']);
  });

  test('a checksum mismatch leaves nothing in the cache', async () => {
    await fresh();
    const e = entry({ sha256: '0'.repeat(64) });
    await assert.rejects(pullModel(e, { cacheDir: cache }), (err: unknown) => err instanceof PplcnetError && err.code === 'E_CHECKSUM' && /does not match the expected 0000/.test(err.message));
    assert.deepEqual(await readdir(cache), [], 'the folders made for the pull are removed');
  });

  test('404 and connection refused: clear messages naming the URL', async () => {
    await fresh();
    await assert.rejects(pullModel(entry({ urls: [`${server.url}/nothing.pdparams`] }), { cacheDir: cache }), /\/nothing\.pdparams: HTTP 404 not found/);
    await assert.rejects(download(`${await refusingUrl()}/x`, join(cache, 'x')), /127\.0\.0\.1:\d+\/x: cannot reach 127\.0\.0\.1:\d+ \(connection refused\)/);
  });

  test('two concurrent pulls of one model: one download, both get the whole file', async () => {
    await fresh();
    const e = entry({ urls: [`${server.url}/w/slow.pdparams`] });
    const [a, b] = await Promise.all([pullModel(e, { cacheDir: cache }), pullModel(e, { cacheDir: cache })]);
    assert.equal(a.source, b.source);
    assert.equal(sha(new Uint8Array(await readFile(a.source))), sha(weights));
    assert.equal(server.requests.filter((q) => q.path === '/w/slow.pdparams').length, 1);
    assert.ok(!existsSync(join(a.dir, '.lock')));
  });

  test('offline mode never touches the network and says what is missing and how to get it', async () => {
    await fresh();
    const before = server.requests.length;
    await assert.rejects(pullModel(entry({}), { cacheDir: cache, offline: true }), (err: unknown) => err instanceof PplcnetError && err.code === 'E_OFFLINE' && /tiny is not in the cache .*'pplcnet pull tiny'/.test(err.message));
    assert.equal(server.requests.length, before);
  });

  test('mirrors replace the source host, keeping the path', async () => {
    assert.equal(mirrorUrl('https://host.example/a/b/c.tar', 'http://127.0.0.1:9/m'), 'http://127.0.0.1:9/m/a/b/c.tar');
    await fresh();
    const r = await pullModel(entry({ urls: ['https://models.example.invalid/w/tiny.pdparams'] }), { cacheDir: cache, mirror: server.url });
    assert.equal(sha(new Uint8Array(await readFile(r.source))), sha(weights));
  });

  test('an inference-model archive is unpacked into model/ and converts', async () => {
    await fresh();
    const e = entry({ name: 'tl', format: 'inference', urls: [`${server.url}/a/tl_infer.tar`] });
    const r = await pullModel(e, { cacheDir: cache });
    assert.deepEqual((await readdir(r.source)).sort(), ['inference.json', 'inference.pdiparams', 'inference.yml']);
    assert.deepEqual((await readdir(r.dir)).sort(), ['model', 'source.json']);
  });

  for (const [path, pattern] of [
    ['/a/bomb_infer.tar', /m\/inference\.yml: Excessive alias count/],
    ['/a/bad_program_infer.tar', /attribute 'strides' is missing/],
    ['/a/two_infer.tar', /holds 2 inference models \(a\/inference\.json; b\/inference\.json\)/],
  ] as const) {
    test(`an archive that downloads but does not convert (${path}) is not recorded: moved aside as .rejected, not "pulled", pruned`, async () => {
      await fresh();
      const e = entry({ name: 'bad', format: 'inference', urls: [`${server.url}${path}`] });
      const refused = (err: unknown): boolean => err instanceof PplcnetError && pattern.test(err.message) && /was not recorded as pulled and the download was moved aside to .*bad_infer\.tar\.rejected/.test(err.message);
      await assert.rejects(pullModel(e, { cacheDir: cache }), refused);
      const dir = join(cache, 'models', 'bad');
      assert.deepEqual(await readdir(dir), ['bad_infer.tar.rejected'], 'no model/, no source.json');
      assert.equal((await cacheState(e, cache)).state, 'remote');
      // a second pull downloads again (nothing recorded stands in its way) and is refused the same way
      const before = server.requests.filter((r) => r.path === path).length;
      await assert.rejects(pullModel(e, { cacheDir: cache }), refused);
      assert.equal(server.requests.filter((r) => r.path === path).length, before + 1);
      const pruned = await pruneCache({ cacheDir: cache });
      assert.deepEqual(pruned.map((i) => [i.path.slice(cache.length + 1), i.reason]), [[join('models', 'bad', 'bad_infer.tar.rejected'), 'a file moved aside after failing its check']]);
      assert.ok(!existsSync(dir));
    });
  }

  test('a malicious archive path is refused and nothing escapes', async () => {
    await fresh();
    const e = entry({ name: 'evil', format: 'inference', urls: [`${server.url}/a/evil.tar`] });
    await assert.rejects(pullModel(e, { cacheDir: cache }), /refusing the path "\.\.\/\.\.\/escaped\.txt", which leaves the target folder/);
    assert.ok(!existsSync(join(cache, 'escaped.txt')) && !existsSync(join(cache, 'models', 'escaped.txt')));
    assert.deepEqual(await readdir(cache), [], 'the folders made for the pull are removed');
    const dest = join(cache, 'x');
    await assert.rejects(extractTar(makeTar([{ name: '/etc/passwd', data: new Uint8Array(1) }]), dest, 't.tar'), /absolute path/);
    await assert.rejects(extractTar(makeTar([{ name: 'link', type: '2', linkname: '/etc' }]), dest, 't.tar'), /links and devices are not extracted/);
  });

  test('predict by zoo name end to end: pulled, converted once beside it, classified', async () => {
    await fresh();
    const registry = join(cache, 'registry.json');
    await writeFile(registry, JSON.stringify([{ name: 'tl-remote', format: 'inference', urls: [`${server.url}/a/tl_infer.tar`], labels: ['up', 'down'] }]));
    const env = process.env.PPLCNET_REGISTRY;
    process.env.PPLCNET_REGISTRY = registry;
    try {
      assert.ok(loadZoo().some((z) => z.name === 'tl-remote'));
      assert.equal(loadZoo().length, ZOO.length + 1);
      const clf = await createClassifier({ model: 'tl-remote', cacheDir: cache, ep: 'cpu' });
      const r = await clf.classify(join(FIXTURES.textlines, '02_down.png'));
      await clf.close();
      assert.equal(r.topk[0]!.label, '180_degree', "the archive's inference.yml labels win over the record's");
      const onnx = await readdir(join(cache, 'models', 'tl-remote', 'onnx'));
      assert.deepEqual(onnx.map((f) => f.replace(/^[0-9a-f]{64}/, 'KEY')).sort(), ['KEY.onnx', 'KEY.onnx.json', 'KEY.onnx.sha256']);
      const record = JSON.parse(await readFile(join(cache, 'models', 'tl-remote', 'onnx', onnx.find((f) => f.endsWith('.json'))!), 'utf8'));
      assert.deepEqual([record.kind, record.name, record.sources], ['zoo', 'tl-remote', [{ source: 'zoo:tl-remote' }]]);
    } finally {
      if (env === undefined) delete process.env.PPLCNET_REGISTRY;
      else process.env.PPLCNET_REGISTRY = env;
    }
  });
});

describe('the registry', () => {
  test('every record is complete; names and aliases are unique', () => {
    const seen = new Set<string>();
    for (const e of ZOO) {
      for (const n of [e.name, ...e.aliases].map((x) => x.toLowerCase())) {
        assert.ok(!seen.has(n), `duplicate name ${n}`);
        seen.add(n);
      }
      assert.ok(e.format === 'packaged' ? e.packaged && e.urls.length === 0 : e.urls.length > 0 && e.urls.every((u) => u.startsWith('https://')), e.name);
      if (e.format === 'pdparams') assert.ok(e.inputSize && e.preprocess && e.labels, e.name);
    }
    assert.equal(ZOO.filter((e) => /^PPLCNet_x\d_\d+$/.test(e.name)).length, 8);
    assert.equal(ZOO.filter((e) => e.name.endsWith('_ssld')).length, 3);
  });
});
