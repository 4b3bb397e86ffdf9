/**
 * The checks that keep the cache and downloads honest: plain names and paths inside the cache, downloads
 * proven before they are recorded, recorded files and converted models checked when used, deadlines, and
 * malformed archives refused by name. Each test reproduces the misbehaviour against a local server.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PplcnetError } from '../../../src/errors.js';
import { cachePath } from '../../../src/zoo/cache.js';
import { download } from '../../../src/zoo/download.js';
import { modelDir, pullModel, removeModel } from '../../../src/zoo/pull.js';
import { type ZooEntry, loadZoo } from '../../../src/zoo/registry.js';
import { resolveModel } from '../../../src/models/resolve.js';
import { extractTar, listTar } from '../../../src/util/tar.js';
import { makeTar } from '../../archives.js';
import { FIXTURES } from '../../fixtures/index.js';
import { type TestServer, startServer } from '../../server.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const code = (c: string, re?: RegExp) => (err: unknown) => err instanceof PplcnetError && err.code === c && (!re || re.test(err.message));
const HTML = new TextEncoder().encode('<!doctype html><html><body>Sign in to continue</body></html>\n');

describe('zoo hardening', () => {
  let server: TestServer;
  let weights: Uint8Array;
  let archive: Uint8Array;
  const roots: string[] = [];
  const fresh = async () => {
    const d = await mkdtemp(join(tmpdir(), 'pplcnet-harden-'));
    roots.push(d);
    return d;
  };
  const entry = (path: string, over: Partial<ZooEntry> = {}): ZooEntry => ({
    name: 'tiny',
    aliases: [],
    description: 'test',
    format: 'pdparams',
    urls: [`${server.url}${path}`],
    architecture: {},
    inputSize: [64, 64],
    metrics: {},
    license: 'test',
    ...over,
  });
  const hits = (path: string) => server.requests.filter((r) => r.path === path);

  before(async () => {
    weights = new Uint8Array(await readFile(join(FIXTURES.pdparams, 'x0_25.pdparams')));
    const model = FIXTURES.textlineModel;
    archive = makeTar(await Promise.all(['inference.json', 'inference.pdiparams', 'inference.yml'].map(async (f) => ({ name: `m/${f}`, data: new Uint8Array(await readFile(join(model, f))) }))));
    server = await startServer({
      '/ok.pdparams': { body: weights },
      '/html.pdparams': { body: HTML, contentType: 'text/html; charset=utf-8' },
      '/short.pdparams': { body: weights.subarray(0, 100_000), noLength: true },
      '/garbage_infer.tar': { body: HTML, noLength: true },
      '/badrange.pdparams': { body: weights, wrongRangeStart: true },
      '/trickle.pdparams': { body: weights, trickleMs: 20 },
      '/stall.pdparams': { body: weights, stallAfter: 100 },
      '/silent.pdparams': { body: weights, stallHeaders: true },
      '/tl_infer.tar': { body: archive },
      '/to-file': { body: weights, redirect: 'file:///etc/passwd' },
      '/loop-a': { body: weights, redirect: '/loop-b' },
      '/loop-b': { body: weights, redirect: '/loop-a' },
      '/moved': { body: weights, redirect: '/ok.pdparams' },
    });
  });
  after(async () => {
    await server.close();
    await Promise.all(roots.map((d) => rm(d, { recursive: true, force: true })));
  });

  describe('names and paths stay inside the cache', () => {
    test("zoo rm of '../../victim' or '..' removes nothing outside the cache", async () => {
      const root = await fresh();
      const cache = join(root, 'cache');
      await mkdir(join(cache, 'models', 'kept'), { recursive: true });
      await mkdir(join(root, 'victim'));
      await writeFile(join(root, 'victim', 'precious.txt'), 'keep me');
      for (const name of ['../../victim', '..', '../..', 'a/../../..', '.', '', 'x/y', 'x\\y']) {
        await assert.rejects(removeModel(name, { cacheDir: cache }), RangeError, name);
      }
      assert.equal(await readFile(join(root, 'victim', 'precious.txt'), 'utf8'), 'keep me');
      assert.ok(existsSync(join(cache, 'models', 'kept')));
      assert.equal(await removeModel('kept', { cacheDir: cache }), true);
    });

    test("a registry record named '../../x' is refused when the registry loads", async () => {
      const root = await fresh();
      const registry = join(root, 'registry.json');
      for (const bad of [{ name: '../../x' }, { name: 'ok', aliases: ['../y'] }, { name: 'ok', urls: ['file:///etc/passwd'] }, { name: 'ok', sha256: 'abc' }]) {
        await writeFile(registry, JSON.stringify([{ format: 'pdparams', urls: ['https://h.invalid/x.pdparams'], ...bad }]));
        assert.throws(() => loadZoo({ PPLCNET_REGISTRY: registry }), code('E_FORMAT', /record 0/), JSON.stringify(bad));
      }
    });

    test('a record object with a path for a name writes nothing (library call)', async () => {
      const root = await fresh();
      const cache = join(root, 'cache');
      await assert.rejects(pullModel(entry('/ok.pdparams', { name: '../../x' }), { cacheDir: cache }), RangeError);
      assert.deepEqual(await readdir(root), []);
      assert.equal(hits('/ok.pdparams').length, 0);
    });

    test('a model folder that is a symbolic link out of the cache is refused', async () => {
      const root = await fresh();
      const cache = join(root, 'cache');
      await mkdir(join(cache, 'models'), { recursive: true });
      await mkdir(join(root, 'outside'));
      await symlink(join(root, 'outside'), join(cache, 'models', 'linked'));
      assert.throws(() => modelDir(cache, 'linked'), code('E_UNSAFE_PATH', /outside the cache/));
      assert.throws(() => cachePath(cache, 'models', '..', '..', 'x'), code('E_UNSAFE_PATH'));
      assert.equal(cachePath(cache, 'models', 'ok'), join(cache, 'models', 'ok'));
    });
  });

  describe('downloads are proven before they are recorded', () => {
    test('an HTML page served with 200 is refused and nothing is recorded', async () => {
      const cache = await fresh();
      await assert.rejects(pullModel(entry('/html.pdparams'), { cacheDir: cache }), code('E_NETWORK', /web page \(content-type text\/html/));
      assert.deepEqual(await readdir(cache), [], 'nothing recorded, and the folders made for the pull are removed');
    });

    test('a short body with no length is refused because it does not unpickle', async () => {
      const cache = await fresh();
      await assert.rejects(pullModel(entry('/short.pdparams'), { cacheDir: cache }), (err: unknown) => err instanceof PplcnetError && /does not read as expected/.test(err.message));
      assert.deepEqual(await readdir(cache), [], 'nothing recorded, and the folders made for the pull are removed');
    });

    test('an inference archive that is not a tar is refused before anything is unpacked or recorded', async () => {
      const cache = await fresh();
      const e = entry('/garbage_infer.tar', { name: 'garbage', format: 'inference' });
      await assert.rejects(pullModel(e, { cacheDir: cache }), code('E_FORMAT', /does not read as expected.*not a tar archive/));
      assert.deepEqual(await readdir(cache), [], 'nothing unpacked or recorded, and the folders made for the pull are removed');
    });

    test('a 206 whose Content-Range starts elsewhere is not appended: the download starts over', async () => {
      const cache = await fresh();
      const dir = join(cache, 'models', 'tiny');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'tiny.pdparams.partial'), weights.subarray(0, 1000));
      const r = await pullModel(entry('/badrange.pdparams'), { cacheDir: cache });
      assert.equal(sha(new Uint8Array(await readFile(r.source))), sha(weights));
      assert.deepEqual(hits('/badrange.pdparams').map((q) => q.range), ['bytes=1000-', undefined]);
    });

    test('source.json records what was verified and how', async () => {
      const cache = await fresh();
      const r = await pullModel(entry('/ok.pdparams'), { cacheDir: cache });
      const record = JSON.parse(await readFile(join(r.dir, 'source.json'), 'utf8'));
      assert.equal(record.sha256, sha(weights));
      assert.equal(record.verified.sha256, 'recorded-on-first-pull');
      assert.equal(record.verified.parsed, 'pickle');
      const t = await pullModel(entry('/tl_infer.tar', { name: 'tl', format: 'inference', sha256: sha(archive) }), { cacheDir: cache });
      const tr = JSON.parse(await readFile(join(t.dir, 'source.json'), 'utf8'));
      assert.deepEqual([tr.verified.sha256, tr.verified.parsed, tr.bytes], ['registry', 'tar', archive.length]);
      assert.deepEqual(Object.keys(tr.files).sort(), ['inference.json', 'inference.pdiparams', 'inference.yml']);
    });

    test('a recorded file that no longer matches its sha256 is moved aside and downloaded again, with a notice', async () => {
      const cache = await fresh();
      const e = entry('/ok.pdparams');
      const first = await pullModel(e, { cacheDir: cache });
      const altered = new Uint8Array(weights);
      altered[altered.length - 100]! ^= 0xff;
      await writeFile(first.source, altered);
      const notices: string[] = [];
      const before = hits('/ok.pdparams').length;
      const again = await pullModel(e, { cacheDir: cache, notice: (m) => notices.push(m) });
      assert.equal(again.fromCache, false);
      assert.equal(sha(new Uint8Array(await readFile(again.source))), sha(weights));
      assert.equal(hits('/ok.pdparams').length, before + 1);
      assert.equal(notices.length, 1);
      assert.match(notices[0]!, /tiny\.pdparams: sha256 [0-9a-f]{64} does not match the recorded [0-9a-f]{64}; moved aside to .*tiny\.pdparams\.rejected, downloading it again/);
      assert.deepEqual(await readFile(`${first.source}.rejected`), Buffer.from(altered));
    });

    test('an unpacked inference model file that was altered is fetched again', async () => {
      const cache = await fresh();
      const e = entry('/tl_infer.tar', { name: 'tl', format: 'inference' });
      const first = await pullModel(e, { cacheDir: cache });
      await writeFile(join(first.source, 'inference.yml'), 'altered: true\n');
      const notices: string[] = [];
      const again = await pullModel(e, { cacheDir: cache, notice: (m) => notices.push(m) });
      assert.equal(again.fromCache, false);
      assert.match(notices[0] ?? '', /inference\.yml has sha256 [0-9a-f]+, recorded [0-9a-f]+/);
      assert.notEqual(await readFile(join(again.source, 'inference.yml'), 'utf8'), 'altered: true\n');
    });

    test('an HTML page recorded as complete by an earlier version is detected and downloaded again', async () => {
      const cache = await fresh();
      const dir = join(cache, 'models', 'tiny');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'tiny.pdparams'), HTML);
      await writeFile(join(dir, 'source.json'), JSON.stringify({ url: 'x', sha256: sha(HTML), bytes: HTML.length, verified: false }));
      const notices: string[] = [];
      const r = await pullModel(entry('/ok.pdparams'), { cacheDir: cache, notice: (m) => notices.push(m) });
      assert.equal(r.fromCache, false);
      assert.equal(sha(new Uint8Array(await readFile(r.source))), sha(weights));
      assert.match(notices[0] ?? '', /does not read as a \.pdparams file/);
      // a sound file from an earlier version is parsed once and its record upgraded
      await writeFile(join(dir, 'source.json'), JSON.stringify({ url: 'x', sha256: sha(weights), bytes: weights.length, verified: false }));
      const kept = await pullModel(entry('/ok.pdparams'), { cacheDir: cache });
      assert.equal(kept.fromCache, true);
      assert.equal(JSON.parse(await readFile(join(dir, 'source.json'), 'utf8')).verified.parsed, 'pickle');
    });
  });

  describe('deadlines', () => {
    test('a server that stops sending fails after the idle deadline, naming the host', async () => {
      const cache = await fresh();
      const t0 = Date.now();
      await assert.rejects(pullModel(entry('/stall.pdparams'), { cacheDir: cache, timeoutMs: 300 }), code('E_TIMEOUT', /no data from 127\.0\.0\.1:\d+ for 0\.3 s \(after 300 bytes\)/));
      assert.ok(Date.now() - t0 < 5000, `${Date.now() - t0} ms`);
      assert.deepEqual(hits('/stall.pdparams').map((q) => q.range), [undefined, 'bytes=100-', 'bytes=200-'], 'each attempt that made progress resumes');
    });

    test('a server that never answers fails after the idle deadline, without retrying', async () => {
      const t0 = Date.now();
      await assert.rejects(download(`${server.url}/silent.pdparams`, join(await fresh(), 'f'), { timeoutMs: 300 }), code('E_TIMEOUT', /no data from .* for 0\.3 s \(after 0 bytes\)/));
      assert.ok(Date.now() - t0 < 3000);
      assert.equal(hits('/silent.pdparams').length, 1);
    });

    test('a trickle of bytes fails the minimum-rate check with an honest message', async () => {
      const t0 = Date.now();
      await assert.rejects(
        pullModel(entry('/trickle.pdparams'), { cacheDir: await fresh(), timeoutMs: 400, minBytesPerSecond: 1000 }),
        code('E_TIMEOUT', /the transfer ran below 1 kB\/s for 0\.\d s \(\d+ bytes\)/),
      );
      assert.ok(Date.now() - t0 < 3000, `${Date.now() - t0} ms`);
      assert.equal(hits('/trickle.pdparams').length, 1);
    });
  });

  describe('redirects', () => {
    test('followed within http(s); file:// and loops are refused', async () => {
      const dir = await fresh();
      const got = await download(`${server.url}/moved`, join(dir, 'a'));
      assert.equal(got.sha256, sha(weights));
      await assert.rejects(download(`${server.url}/to-file`, join(dir, 'b')), code('E_NETWORK', /refusing a redirect to file:\/\/\/etc\/passwd/));
      await assert.rejects(download(`${server.url}/loop-a`, join(dir, 'c')), code('E_NETWORK', /redirect loop/));
      assert.deepEqual((await readdir(dir)).sort(), ['a']);
    });

    test('an https source redirected to plain http is refused (a throwaway certificate, trusted in a child process)', async (t) => {
      const dir = await fresh();
      const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { encoding: 'utf8' });
      if (made.error || made.status !== 0) {
        t.skip(`openssl is needed to make a test certificate (apt-get install openssl): ${made.error?.message ?? made.stderr}`);
        return;
      }
      const tls = https.createServer({ key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) }, (req, res) => {
        if (req.url === '/down') res.writeHead(302, { location: `${server.url}/ok.pdparams` }).end();
        else res.writeHead(200, { 'content-length': weights.length }).end(Buffer.from(weights));
      });
      await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
      const base = `https://127.0.0.1:${(tls.address() as AddressInfo).port}`;
      try {
        const module = new URL('../../../src/zoo/download.js', import.meta.url).href;
        const script = `const { download } = await import(${JSON.stringify(module)}); const [url, dest] = process.argv.slice(1); try { const r = await download(url, dest); console.log(JSON.stringify({ sha256: r.sha256 })); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
        const run = (url: string, dest: string) =>
          new Promise<Record<string, string>>((resolve, reject) => {
            execFile(process.execPath, ['--input-type=module', '-e', script, url, dest], { env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') }, timeout: 20_000 }, (err, stdout) =>
              err ? reject(err) : resolve(JSON.parse(stdout)),
            );
          });
        assert.deepEqual(await run(`${base}/file`, join(dir, 'ok')), { sha256: sha(weights) }, 'the certificate is trusted: plain https works');
        const down = await run(`${base}/down`, join(dir, 'down'));
        assert.equal(down.code, 'E_NETWORK');
        assert.match(down.message!, /refusing a redirect from https to plain http \(http:\/\/127\.0\.0\.1:\d+\/ok\.pdparams\)/);
        assert.ok(!existsSync(join(dir, 'down')));
      } finally {
        tls.closeAllConnections();
        await new Promise((r) => tls.close(r));
      }
    });
  });

  describe('the conversion cache', () => {
    test('an altered or truncated cached ONNX is rebuilt from the source, with a notice', async () => {
      const cache = await fresh();
      const src = join(FIXTURES.pdparams, 'x0_25.pdparams');
      const opts = { cacheDir: cache, build: { inputSize: [64, 64] as [number, number] } };
      const first = await resolveModel(src, opts);
      assert.equal(first.origin, 'converted');
      const hit = await resolveModel(src, opts);
      assert.equal(hit.origin, 'cache');
      const onnx = first.path!;
      assert.equal((await readFile(`${onnx}.sha256`, 'utf8')).split('\n')[0], sha(first.bytes));
      // altered weights: same size, one float changed near the end (where the classifier's weights are)
      const altered = new Uint8Array(first.bytes);
      altered[altered.length - 64]! ^= 0x40;
      for (const bad of [altered, first.bytes.subarray(0, 1000)]) {
        await writeFile(onnx, bad);
        const notices: string[] = [];
        const r = await resolveModel(src, { ...opts, notice: (m) => notices.push(m) });
        assert.equal(r.origin, 'converted');
        assert.equal(sha(r.bytes), sha(first.bytes));
        assert.equal(sha(new Uint8Array(await readFile(onnx))), sha(first.bytes));
        assert.equal(notices.length, 1);
        assert.match(notices[0]!, /the cached model does not match its recorded sha256 .*; converting again from the source/);
      }
      // a stamp old enough to be trusted skips the hash while the file is untouched, and any write still shows
      const [digest, stampLine] = (await readFile(`${onnx}.sha256`, 'utf8')).split('\n');
      const settled = { ...JSON.parse(stampLine!), at: Date.now() + 10_000 };
      await writeFile(`${onnx}.sha256`, `${digest}\n${JSON.stringify(settled)}\n`);
      assert.equal((await resolveModel(src, opts)).origin, 'cache');
      await writeFile(onnx, altered);
      const seen: string[] = [];
      assert.equal((await resolveModel(src, { ...opts, notice: (m) => seen.push(m) })).origin, 'converted');
      assert.match(seen[0] ?? '', /does not match its recorded sha256/);
      // a cached model without its digest (written before digests were kept) is rebuilt too
      await rm(`${onnx}.sha256`);
      const notices: string[] = [];
      assert.equal((await resolveModel(src, { ...opts, notice: (m) => notices.push(m) })).origin, 'converted');
      assert.match(notices[0] ?? '', /no recorded sha256/);
    });
  });

  describe('archives', () => {
    test('a folder then a file of the same name is a typed error naming the archive and the entry', async () => {
      const dest = join(await fresh(), 'x');
      const tar = makeTar([{ name: 'm/', type: '5' }, { name: 'm', data: new Uint8Array([1, 2]) }]);
      await assert.rejects(extractTar(tar, dest, 'bad.tar'), code('E_FORMAT', /^bad\.tar: entry "m" is a file where the archive already made a folder of that name/));
      await assert.rejects(listTar(tar, 'bad.tar'), code('E_FORMAT', /entry "m" is a file/));
      const under = makeTar([{ name: 'f', data: new Uint8Array([1]) }, { name: 'f/g', data: new Uint8Array([1]) }]);
      await assert.rejects(extractTar(under, join(await fresh(), 'y'), 'under.tar'), code('E_FORMAT', /^under\.tar: entry "f\/g" lies under "f"/));
    });
  });
});
