import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURES } from '../fixtures/index.js';
import { makeTar } from '../archives.js';
import { runCli } from '../helpers.js';
import { type TestServer, UNRESOLVABLE_HOST, refusingUrl, startServer } from '../server.js';

describe('pplcnet pull / zoo / predict by zoo name (CLI)', () => {
  let server: TestServer;
  let home = '';
  let env: NodeJS.ProcessEnv = {};
  before(async () => {
    const weights = new Uint8Array(await readFile(join(FIXTURES.pdparams, 'x0_25.pdparams')));
    server = await startServer({ '/dygraph/tiny_pretrained.pdparams': { body: weights }, '/dygraph/stalled.pdparams': { body: weights, stallAfter: 10 } });
    home = await mkdtemp(join(tmpdir(), 'pplcnet-zoo-cli-'));
    const registry = join(home, 'registry.json');
    await writeFile(
      registry,
      JSON.stringify([
        {
          name: 'tiny-x0_25',
          format: 'pdparams',
          urls: [`https://${UNRESOLVABLE_HOST}/dygraph/tiny_pretrained.pdparams`],
          inputSize: [64, 64],
          preprocess: { resize: { mode: 'exact', width: 64, height: 64 }, interpolation: 'linear', channelOrder: 'rgb', scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
          labels: ['a', 'b', 'c', 'd'],
          description: 'a tiny test model',
          sizeBytes: 12_345,
        },
        { name: 'stalled', format: 'pdparams', urls: ['https://models.example.invalid/dygraph/stalled.pdparams'] },
      ]),
    );
    env = { PPLCNET_HOME: join(home, 'cache'), PPLCNET_REGISTRY: registry, PPLCNET_MIRROR: server.url };
  });
  after(async () => {
    await server.close();
    await rm(home, { recursive: true, force: true });
  });

  test('zoo list shows built-in and registry models with their state', async () => {
    const r = await runCli(['zoo', 'list'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^name\s+state\s+format\s+size\s+params\s+FLOPs\s+top-1\s+description$/m);
    assert.match(r.stdout, /^PPLCNet_x1_0\s+remote\s+pdparams\s+3M\s+161M\s+71\.32\s+PP-LCNet x1\.0 ImageNet-1k classifier$/m);
    assert.match(r.stdout, /^state: shipped = ships with pplcnet .*; pulled = downloaded into the cache; remote = downloaded on first use/m);
    assert.match(r.stdout, /^size: in the cache, download and converted ONNX \(pulled\); the download, where its publisher gives it \(remote; blank when unknown\)/m);
    assert.match(r.stdout, /'pplcnet cache ls' lists everything in it/);
    assert.match(r.stdout, /^PP-LCNet_x0_25_textline_ori\s+shipped\s+shipped\s/m);
    assert.match(r.stdout, /^tiny-x0_25\s+remote\s+pdparams\s+12 kB\s+a tiny test model$/m, 'the size a registry record gives');
    const j = JSON.parse((await runCli(['zoo', 'list', '--json'], { env })).stdout);
    assert.ok(j.find((e: { name: string }) => e.name === 'PPLCNet_x2_5_ssld').metrics.top1 === 80.82);
  });

  test('offline before pulling: exit 1, says how to get it, no request made', async () => {
    const r = await runCli(['predict', '-m', 'tiny-x0_25', '--offline', 'models/examples/textline_upright.png'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /tiny-x0_25 is not in the cache .* offline mode forbids downloading/);
    assert.equal(server.requests.length, 0);
  });

  test('predict by zoo name pulls through the mirror, converts, classifies; then works offline', async () => {
    const r = await runCli(['predict', '-m', 'tiny-x0_25', '--json', '--ep', 'cpu', 'models/examples/textline_upright.png'], { env });
    assert.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout);
    assert.equal(o.model, 'tiny-x0_25');
    assert.ok(['a', 'b', 'c', 'd'].includes(o.topk[0].label));
    assert.equal(server.requests.length, 1);
    const off = await runCli(['predict', '-m', 'tiny-x0_25', '--offline', '--ep', 'cpu', 'models/examples/textline_upright.png'], { env });
    assert.equal(off.code, 0, off.stderr);
    assert.equal(server.requests.length, 1);
  });

  test('zoo info of the shipped model: where its files are, and its conversion counted once converted', async () => {
    const fresh = { ...env, PPLCNET_HOME: join(home, 'shipped-cache') };
    const info = async (): Promise<Record<string, any>> => JSON.parse((await runCli(['zoo', 'info', 'textline', '--json'], { env: fresh })).stdout);
    const first = await info();
    assert.deepEqual([first.state, first.format, first.cachedBytes, first.converted], ['packaged', 'packaged', 0, []]);
    assert.ok(existsSync(join(first.packaged, 'inference.json')), `packaged is the folder of the shipped files: ${first.packaged}`);
    assert.match((await runCli(['zoo', 'info', 'textline'], { env: fresh })).stdout, /^cache +not converted yet \(0 B\)$/m);
    const predict = await runCli(['predict', '-m', 'textline', join(FIXTURES.preprocess, 'bitmap_123x97.bmp')], { env: fresh });
    assert.equal(predict.code, 0, predict.stderr);
    const converted = await info();
    assert.equal(converted.state, 'packaged');
    assert.equal(converted.converted.length, 1, JSON.stringify(converted.converted));
    const onnx: string = converted.converted[0];
    assert.equal(dirname(onnx), join(home, 'shipped-cache', 'onnx'));
    const sizes = await Promise.all([onnx, `${onnx}.sha256`, `${onnx}.json`].map(async (f) => (await stat(f)).size));
    assert.ok(sizes[0]! > 100_000, 'the converted ONNX');
    assert.equal(converted.cachedBytes, sizes[0]! + sizes[1]! + sizes[2]!, 'the ONNX, its digest and its record');
    const listed = JSON.parse((await runCli(['zoo', 'list', '--json'], { env: fresh })).stdout).find((e: { name: string }) => e.name === converted.name);
    assert.equal(listed.cachedBytes, converted.cachedBytes);
    const text = (await runCli(['zoo', 'info', 'textline'], { env: fresh })).stdout;
    assert.match(text, new RegExp(`^files +${first.packaged}$`, 'm'));
    assert.ok(text.includes(`: ${onnx}`), text);
  });

  test('zoo info, path, pull (already there), rm', async () => {
    const info = JSON.parse((await runCli(['zoo', 'info', 'tiny-x0_25', '--json'], { env })).stdout);
    assert.equal(info.state, 'pulled');
    const listed = JSON.parse((await runCli(['zoo', 'list', '--json'], { env })).stdout).find((e: { name: string }) => e.name === 'tiny-x0_25');
    assert.equal(listed.sizeBytes, info.cachedBytes, 'once pulled, the size is what the model takes in the cache');
    assert.ok(info.cachedBytes > info.source.bytes, 'the download and its converted ONNX');
    assert.match((await runCli(['zoo', 'list'], { env })).stdout, new RegExp(`^tiny-x0_25\\s+pulled\\s+pdparams\\s+${(info.cachedBytes / 1e3).toFixed(0)} kB\\s+a tiny test model$`, 'm'));
    assert.ok(info.cachedBytes > 0);
    assert.match(info.source.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual([info.source.verified.sha256, info.source.verified.parsed], ['recorded-on-first-pull', 'pickle']);
    assert.equal((await runCli(['zoo', 'path'], { env })).stdout.trim(), join(home, 'cache'));
    const pull = await runCli(['pull', 'tiny-x0_25'], { env });
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stdout, /tiny-x0_25: .*models\/tiny-x0_25\/onnx\/[0-9a-f]{64}\.onnx/);
    assert.equal((await runCli(['zoo', 'rm', 'tiny-x0_25'], { env })).stdout.trim(), 'tiny-x0_25: removed');
    assert.equal(JSON.parse((await runCli(['zoo', 'info', 'tiny-x0_25', '--json'], { env })).stdout).state, 'remote');
    const none = await runCli(['zoo', 'info', 'nope'], { env });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /'nope' is not a zoo model/);
    // the readable view: one line per field, the record's values on one line each
    const text = await runCli(['zoo', 'info', 'PPLCNet_x1_0'], { env });
    assert.equal(text.code, 0, text.stderr);
    const record = JSON.parse((await runCli(['zoo', 'info', 'PPLCNet_x1_0', '--json'], { env })).stdout);
    const field = (name: string): string => new RegExp(`^${name} +(.*)$`, 'm').exec(text.stdout)?.[1] ?? '';
    assert.equal(field('name'), record.name);
    assert.equal(field('aliases'), record.aliases.join(', '));
    assert.equal(field('download'), record.urls[0]);
    assert.equal(field('input'), `${record.inputSize[0]}x${record.inputSize[1]} (height x width)`);
    assert.equal(field('preprocess'), `resize short side to ${record.preprocess.resize.size}, crop 224x224 (linear), rgb, mean 0.485, 0.456, 0.406, std 0.229, 0.224, 0.225`);
    assert.match(field('published'), new RegExp(`^params ${record.metrics.paramsM}M, FLOPs ${record.metrics.flopsM}M, top-1 ${record.metrics.top1}%`));
    assert.match(field('state'), /^remote: downloaded on first use/);
    assert.ok(!text.stdout.includes('{') && !text.stdout.includes('"'), text.stdout);
    assert.ok(text.stdout.split('\n').length < 20, 'no value spread over lines');
    assert.match((await runCli(['zoo', 'info', 'textline'], { env })).stdout, /^state +shipped: ships with pplcnet/m);
    // a misspelt name: the nearest names, not the whole zoo
    const near = await runCli(['zoo', 'info', 'PPLCNet_x1_O'], { env });
    assert.equal(near.code, 1);
    assert.match(near.stderr, /'PPLCNet_x1_O' is not a zoo model; did you mean one of PPLCNet_x1_0, PPLCNet_x1_5\? \('pplcnet zoo list' shows all \d+\)/);
  });

  test("zoo rm of a path ('../../victim', '..') is a usage error and removes nothing", async () => {
    const victim = join(home, 'victim');
    await mkdir(victim, { recursive: true });
    await writeFile(join(victim, 'precious.txt'), 'keep me');
    for (const name of ['../victim', '..']) {
      const r = await runCli(['zoo', 'rm', name], { env });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /Expected a plain model name .* but received "\.\./);
    }
    assert.equal(await readFile(join(victim, 'precious.txt'), 'utf8'), 'keep me');
    assert.ok(existsSync(join(home, 'cache')));
  });

  test('pull --timeout: a stalled server fails with the host named; a bad value is a usage error', async () => {
    const r = await runCli(['pull', '--timeout', '0.4', 'stalled'], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /no data from 127\.0\.0\.1:\d+ for 0\.4 s/);
    const bad = await runCli(['pull', '--timeout', 'soon', 'stalled'], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--timeout.*positive number of seconds/);
  });

  test('an unresolvable host: says it is unreachable and names --mirror, --offline and where to put the file; leaves nothing', async () => {
    const cache = join(home, 'dns');
    const r = await runCli(['pull', '--cache-dir', cache, 'tiny-x0_25'], { env: { ...env, PPLCNET_MIRROR: '' } });
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.stderr.includes(`tiny-x0_25: cannot reach ${UNRESOLVABLE_HOST} (host not found`), r.stderr);
    assert.match(r.stderr, /--mirror http:\/\/host:port/);
    assert.match(r.stderr, /--offline/);
    assert.ok(r.stderr.includes(`put it at ${join(cache, 'models', 'tiny-x0_25', 'tiny-x0_25.pdparams')}`), r.stderr);
    assert.ok(!existsSync(cache), 'a failed pull leaves no folder behind');
  });

  test('a mirror that refuses the connection is named as the mirror; nothing is left in the cache', async () => {
    const cache = join(home, 'refused');
    await mkdir(join(cache, 'models'), { recursive: true });
    const r = await runCli(['pull', '--cache-dir', cache, '--mirror', await refusingUrl(), 'tiny-x0_25'], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /cannot reach the mirror 127\.0\.0\.1:\d+ \(connection refused\)/);
    assert.deepEqual(await readdir(join(cache, 'models')), [], 'the model folder made for the pull is removed');
  });

  test('--mirror without a scheme: exit 2 naming the flag and the expected form; nothing requested', async () => {
    const before = server.requests.length;
    const r = await runCli(['pull', '--mirror', '127.0.0.1:8765', 'tiny-x0_25'], { env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--mirror .*expected an http or https URL .*--mirror http:\/\/host:port.*did you mean http:\/\/127\.0\.0\.1:8765\?/);
    const predict = await runCli(['predict', '-m', 'textline', '--mirror', 'localhost:8765', 'models/examples/textline_upright.png'], { env });
    assert.equal(predict.code, 2, 'refused even for a model that needs no download');
    assert.match(predict.stderr, /--mirror .*expected an http or https URL/);
    const envBad = await runCli(['pull', 'tiny-x0_25'], { env: { ...env, PPLCNET_MIRROR: 'localhost:8765' } });
    assert.equal(envBad.code, 2, envBad.stderr);
    assert.match(envBad.stderr, /PPLCNET_MIRROR: expected an http or https URL/);
    assert.equal(server.requests.length, before);
  });

  test('pull A B C tries every name, reports each, exits 1 when any failed', async () => {
    const cache = join(home, 'multi');
    const r = await runCli(['pull', '--cache-dir', cache, 'nope', 'tiny-x0_25', 'stalled', '--timeout', '0.3'], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^tiny-x0_25: .*\.onnx/m);
    assert.match(r.stderr, /error: 'nope' is not a zoo model/);
    assert.match(r.stderr, /error: stalled: .*no data from 127\.0\.0\.1:\d+ for 0\.3 s/);
    assert.match(r.stderr, /pulled 1 of 3; failed: nope, stalled/);
  });

  test('a file put in the cache by hand is checked and used, offline; a bad one is moved aside', async () => {
    const cache = join(home, 'manual');
    const folder = join(cache, 'models', 'tiny-x0_25');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'tiny-x0_25.pdparams'), await readFile(join(FIXTURES.pdparams, 'x0_25.pdparams')));
    const before = server.requests.length;
    const r = await runCli(['pull', '--offline', '--cache-dir', cache, 'tiny-x0_25'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(server.requests.length, before, 'no request');
    const info = JSON.parse((await runCli(['zoo', 'info', '--json', '--cache-dir', cache, 'tiny-x0_25'], { env })).stdout);
    assert.equal(info.state, 'pulled');
    assert.equal(info.source.placedByHand, true);
    const bad = join(home, 'manual-bad');
    await mkdir(join(bad, 'models', 'tiny-x0_25'), { recursive: true });
    await writeFile(join(bad, 'models', 'tiny-x0_25', 'tiny-x0_25.pdparams'), 'not a pickle');
    const r2 = await runCli(['pull', '--offline', '--cache-dir', bad, 'tiny-x0_25'], { env });
    assert.equal(r2.code, 1, r2.stderr);
    assert.match(r2.stderr, /placed in the cache by hand, was refused: it does not read as expected .*moved aside to .*tiny-x0_25\.pdparams\.rejected/);
    assert.deepEqual(await readdir(join(bad, 'models', 'tiny-x0_25')), ['tiny-x0_25.pdparams.rejected']);
  });
});

describe('pplcnet cache and .tar archives (CLI)', () => {
  let home = '';
  let env: NodeJS.ProcessEnv = {};
  let tar = '';
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'pplcnet-cache-cli-'));
    env = { PPLCNET_HOME: join(home, 'cache') };
    tar = join(home, 'PP-LCNet_x0_25_textline_ori_infer.tar');
    const files = await Promise.all(['inference.json', 'inference.pdiparams', 'inference.yml'].map(async (f) => ({ name: `PP-LCNet_x0_25_textline_ori_infer/${f}`, data: new Uint8Array(await readFile(join(FIXTURES.textlineModel, f))) })));
    await writeFile(tar, makeTar([{ name: 'PP-LCNet_x0_25_textline_ori_infer/', type: '5' }, ...files]));
  });
  after(async () => {
    await rm(home, { recursive: true, force: true });
  });

  test('predict --model and convert take a downloaded *_infer.tar', async () => {
    const p = await runCli(['predict', '-m', tar, '--json', '--ep', 'cpu', join(FIXTURES.textlines, '02_down.png')], { env });
    assert.equal(p.code, 0, p.stderr);
    assert.equal(JSON.parse(p.stdout).topk[0].label, '180_degree');
    const out = join(home, 'tl.onnx');
    const c = await runCli(['convert', tar, '-o', out, '--json'], { env });
    assert.equal(c.code, 0, c.stderr);
    const folder = join(home, 'folder.onnx');
    assert.equal((await runCli(['convert', FIXTURES.textlineModel, '-o', folder], { env })).code, 0);
    assert.deepEqual(await readFile(out), await readFile(folder), 'the archive converts to the same ONNX as its folder');
  });

  test('cache ls shows the converted archive with its source; rm by source path; prune --dry-run lists, prune removes', async () => {
    const src = join(home, 'mine.pdparams');
    await writeFile(src, await readFile(join(FIXTURES.pdparams, 'x0_25.pdparams')));
    assert.equal((await runCli(['predict', '-m', src, '--ep', 'cpu', 'models/examples/textline_upright.png'], { env })).code, 0);
    const ls = await runCli(['cache', 'ls'], { env });
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /^kind\s+id\s+size\s+last use\s+source$/m);
    assert.ok(ls.stdout.split('\n').some((l) => /^converted\s+[0-9a-f]{12}\s+\d+ kB\s+just now\s+/.test(l) && l.endsWith(tar)), ls.stdout);
    assert.ok(ls.stdout.split('\n').some((l) => /^converted\s+[0-9a-f]{12}\s+/.test(l) && l.endsWith(src)), ls.stdout);
    assert.match(ls.stdout, /^\d+ items, .*'pplcnet cache rm <id\|source path>'/m);
    const json = JSON.parse((await runCli(['cache', 'ls', '--json'], { env })).stdout) as { kind: string; id: string; record?: { sources: { source: string }[] } }[];
    const mine = json.find((i) => i.record?.sources.some((s) => s.source === src))!;
    await rm(src);
    const dry = await runCli(['cache', 'prune', '--dry-run'], { env });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, new RegExp(`^would remove converted ${mine.id} \\(\\d+ kB\\): .*mine\\.pdparams no longer exists$`, 'm'));
    assert.match(dry.stdout, /^would free \d+ kB in 1 item$/m);
    assert.equal((await runCli(['cache', 'prune'], { env })).code, 0);
    assert.ok(!JSON.parse((await runCli(['cache', 'ls', '--json'], { env })).stdout).some((i: { id: string }) => i.id === mine.id));
    const rmTar = await runCli(['cache', 'rm', tar], { env });
    assert.equal(rmTar.code, 0, rmTar.stderr);
    assert.match(rmTar.stdout, /^removed converted [0-9a-f]{12} \(\d+ kB\): .*\.onnx$/m);
    const none = await runCli(['cache', 'rm', 'deadbeef00', 'textline'], { env });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /deadbeef00: nothing in the cache .* 'pplcnet cache ls'/);
    assert.match(none.stderr, /textline: nothing in the cache/, 'every target is tried');
    const bad = await runCli(['cache', 'prune', '--older-than', 'soon'], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /duration such as 30d/);
  });
});
