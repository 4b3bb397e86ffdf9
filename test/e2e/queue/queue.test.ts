/**
 * `pplcnet queue …` and `pplcnet worker` against a real redis-server: two workers over 200 images, duplicate
 * adds, --again, status figures, results export (atomic, --delete), a model that cannot load (failed jobs,
 * retry), passwords kept out of every output, and clear errors for a bad or unreachable Redis.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { ROOT, runCli } from '../../helpers.js';
import { freePort, needRedis, redisServerPath, startRedis } from '../../services.js';
import { Child, MODEL, assertRows, queueSuite } from './harness.js';

describe('pplcnet queue + worker on Redis', () => {
  const suite = queueSuite('pplcnet-queue-', ['--lock-ms', '1000', '--until-empty']);
  before(() => {
    if (redisServerPath()) assert.equal(suite.reference.size, 196);
  });
  const { worker, status, results } = suite;
  type Added = { images: number; jobs: number; addedJobs: number; addedImages: number; duplicates: number; duplicateExamples: unknown[]; missing: number };
  const add = async (queue: string, ...extra: string[]): Promise<Added> => JSON.parse((await suite.add(queue, '--job-size', '16', '--json', ...extra)).stdout);

  test('200 images (4 unreadable), 2 workers: one row per image, scores equal local predict --json, errors only for the bad files', async (t) => {
    if (!needRedis(t)) return;
    const added = await add('two');
    assert.deepEqual(added, { images: 200, jobs: 13, addedJobs: 13, addedImages: 200, duplicates: 0, duplicateExamples: [], missing: 1 });
    const before = await status('two');
    assert.equal(before.images, 200);
    assert.equal(before.waiting, 200);
    assert.equal(before.done, 0);
    assert.equal(before.jobs.waiting, 13);

    const a = worker('two');
    const b = worker('two');
    assert.equal(await a.exit(120_000), 0, a.stderr);
    assert.equal(await b.exit(120_000), 0, b.stderr);
    const taken = [...`${a.stderr}${b.stderr}`.matchAll(/job (\S+): stored (\d+) rows/g)];
    assert.equal(new Set(taken.map((m) => m[1])).size, 13, 'every job stored');

    const { lines, stderr } = await results('two');
    assert.match(stderr, /wrote 200 row\(s\) \(4 error rows\)/);
    assertRows(lines, suite.images, suite.reference);

    const after = await status('two');
    assert.equal(after.images, 200);
    assert.equal(after.done, 200);
    assert.equal(after.errors, 4);
    assert.equal(after.waiting, 0);
    assert.equal(after.active, 0);
    assert.equal(after.failed, 0);
    assert.equal(after.stored, 200);
    assert.ok(after.imagesPerSecond > 0, 'a rate over the last minute');
    assert.deepEqual(after.jobs, { waiting: 0, active: 0, delayed: 0, failed: 0 });
    const json = await runCli(['queue', 'status', '--queue', 'two', '--json'], { env: suite.env });
    const cli = JSON.parse(json.stdout);
    for (const k of ['queue', 'redis', 'images', 'waiting', 'active', 'done', 'errors', 'failed', 'stored', 'jobs', 'failedReasons', 'workers']) assert.deepEqual(cli[k], after[k], k);
    const text = await runCli(['queue', 'status', '--queue', 'two'], { env: suite.env });
    assert.match(text.stdout, /images {3}200 added: 200 done \(4 unreadable\), 0 active, 0 waiting, 0 failed/);
    assert.match(text.stdout, /rate {5}[\d.]+ img\/s over the last minute/);
  });

  test('adding the same inputs twice enqueues once; --again enqueues anew and the rows are overwritten, not doubled', async (t) => {
    if (!needRedis(t)) return;
    const some = suite.images.all.slice(0, 40); // the 4 unreadable and 36 good images
    const addSome = async (...extra: string[]): Promise<Added> => {
      // --no-check: one of the images does not exist (it gets its error row)
      const r = await runCli(['queue', 'add', '--queue', 'dup', '-m', MODEL, '--job-size', '8', '--no-check', '--json', ...extra, ...some], { env: suite.env });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const none = { duplicates: 0, duplicateExamples: [], missing: 1 };
    assert.deepEqual(await addSome(), { images: 40, jobs: 5, addedJobs: 5, addedImages: 40, ...none });
    assert.deepEqual(await addSome(), { images: 40, jobs: 5, addedJobs: 0, addedImages: 0, ...none });
    const text = await runCli(['queue', 'add', '--queue', 'dup', '-m', MODEL, '--job-size', '8', '--no-check', ...some], { env: suite.env });
    assert.match(text.stdout, /queued 0 images in 0 jobs on 'dup'; 5 jobs \(40 images\) were added before \(--again adds them again\)/);
    assert.equal((await status('dup')).jobs.waiting, 5);

    // --again: the same images in 5 new jobs; one worker does all 10, and each image keeps one row
    assert.deepEqual(await addSome('--again'), { images: 40, jobs: 5, addedJobs: 5, addedImages: 40, ...none });
    const s0 = await status('dup');
    assert.equal(s0.images, 80);
    assert.equal(s0.jobs.waiting, 10);
    assert.equal(await worker('dup').exit(120_000), 0);
    const s = await status('dup');
    assert.equal(s.done, 80, 'both rounds counted');
    assert.equal(s.errors, 8);
    assert.equal(s.stored, 40, 'one row per image in Redis');
    assertRows((await results('dup')).lines, suite.images, suite.reference, some);
  });

  test('results: atomic -o (nothing half-written on failure), --delete removes what was written, standard output', async (t) => {
    if (!needRedis(t)) return;
    // the rows of queue 'two' (first test) or a fresh run
    if ((await status('two')).stored !== 200) {
      await add('two');
      assert.equal(await worker('two').exit(120_000), 0);
    }
    const dir = await mkdtemp(join(suite.root, 'out-'));
    const out = join(dir, 'results.jsonl');
    await writeFile(out, 'previous export\n');
    const down = await runCli(['queue', 'results', '--queue', 'two', '-o', out, '--redis', `redis://127.0.0.1:${await freePort()}`], { env: suite.env });
    assert.equal(down.code, 1);
    assert.equal(await readFile(out, 'utf8'), 'previous export\n', 'a failed export leaves the old file');
    assert.deepEqual(await readdir(dir), ['results.jsonl'], 'and no temporary file');

    const stdout = await runCli(['queue', 'results', '--queue', 'two'], { env: suite.env });
    assert.equal(stdout.code, 0, stdout.stderr);
    assertRows(stdout.stdout.trim().split('\n'), suite.images, suite.reference);

    const r = await runCli(['queue', 'results', '--queue', 'two', '-o', out, '--delete'], { env: suite.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /wrote 200 row\(s\) \(4 error rows\) to .*results\.jsonl; removed 200 from Redis/);
    assertRows((await readFile(out, 'utf8')).trim().split('\n'), suite.images, suite.reference);
    assert.deepEqual(await readdir(dir), ['results.jsonl']);
    const s = await status('two');
    assert.equal(s.stored, 0);
    assert.equal(s.done, 200, 'done counts what was processed, exported or not');
    const empty = await runCli(['queue', 'results', '--queue', 'two'], { env: suite.env });
    assert.equal(empty.stdout, '');
    assert.match(empty.stderr, /wrote 0 row\(s\)/);
  });

  test('a model that cannot load fails the job (retried with backoff, then kept with its reason); retry puts it back', async (t) => {
    if (!needRedis(t)) return;
    const missing = join(suite.root, 'no-such-model.onnx');
    // --no-check: the workers are to find out (the model is checked at add otherwise: see queue-checks.test.ts)
    const r = await runCli(['queue', 'add', '--queue', 'fail', '-m', missing, '--no-check', '--job-size', '5', '--attempts', '2', '--backoff-ms', '100', ...suite.images.all.slice(0, 10)], { env: suite.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /queued 10 images in 2 jobs/);
    const w = worker('fail');
    assert.equal(await w.exit(60_000), 1, `--until-empty exits 1 when a job failed: ${w.stderr}`);
    assert.match(w.stderr, /worker stopped after 0 jobs; 2 jobs failed \(pplcnet queue status shows why, pplcnet queue retry puts them back\)/);
    assert.match(w.stderr, /failed \(attempt 1 of 2\): cannot load model .*no-such-model\.onnx.*; will be retried/);
    assert.match(w.stderr, /failed \(attempt 2 of 2\): .*; kept as failed/);
    const s = await status('fail');
    assert.equal(s.failed, 10);
    assert.equal(s.done, 0);
    assert.equal(s.waiting, 0);
    assert.deepEqual(s.jobs, { waiting: 0, active: 0, delayed: 0, failed: 2 });
    assert.equal(s.failedReasons.length, 1);
    assert.match(s.failedReasons[0], /cannot load model ".*no-such-model\.onnx"/);

    const retry = await runCli(['queue', 'retry', '--queue', 'fail'], { env: suite.env });
    assert.equal(retry.code, 0, retry.stderr);
    assert.match(retry.stdout, /moved 2 failed job\(s\) \(10 images\) back to waiting/);
    const back = await status('fail');
    assert.equal(back.failed, 0);
    assert.equal(back.waiting, 10);
    assert.equal(back.jobs.failed, 0);
    assert.equal(back.jobs.waiting + back.jobs.delayed, 2);
  });

  test('a password and TLS (rediss://) work, and the password never appears in status, logs or errors', async (t) => {
    if (!needRedis(t)) return;
    const locked = await startRedis();
    try {
      const tlsPort = await freePort();
      const tls = join(ROOT, 'test/e2e/queue/tls');
      const admin = new Redis(locked.port, '127.0.0.1');
      for (const [k, v] of [['tls-cert-file', join(tls, 'server.pem')], ['tls-key-file', join(tls, 'server.key')], ['tls-ca-cert-file', join(tls, 'ca.pem')], ['tls-auth-clients', 'no'], ['tls-port', String(tlsPort)]]) {
        await admin.config('SET', k!, v!);
      }
      await admin.config('SET', 'requirepass', 's3cr3t-Pa55');
      admin.disconnect();
      const url = `rediss://:s3cr3t-Pa55@127.0.0.1:${tlsPort}/0`;
      const penv = { ...suite.env, PPLCNET_REDIS: url, NODE_EXTRA_CA_CERTS: join(tls, 'ca.pem') };
      const r = await runCli(['queue', 'add', '--queue', 'pw', '-m', MODEL, '--no-check', ...suite.images.all.slice(0, 6)], { env: penv });
      assert.equal(r.code, 0, r.stderr);
      const w = new Child(['worker', '--queue', 'pw', '--ep', 'cpu', '--threads', '1', '--until-empty', '--lock-ms', '1000'], penv);
      suite.track(w);
      assert.equal(await w.exit(60_000), 0, w.stderr);
      assert.match(w.stderr, new RegExp(`worker on queue 'pw' at rediss://:\\*\\*\\*@127\\.0\\.0\\.1:${tlsPort}/0`));
      const s = await runCli(['queue', 'status', '--queue', 'pw'], { env: penv });
      assert.match(s.stdout, /images {3}6 added: 6 done \(4 unreadable\)/);
      assert.match(s.stdout, /at rediss:\/\/:\*\*\*@127/);
      const untrusted = await runCli(['queue', 'status', '--queue', 'pw'], { env: { ...penv, NODE_EXTRA_CA_CERTS: '' } });
      assert.equal(untrusted.code, 1);
      assert.match(untrusted.stderr, /cannot reach Redis at rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0 \(\w+\): the server's TLS certificate is not trusted: give its CA with NODE_EXTRA_CA_CERTS/);
      const wrong = await runCli(['queue', 'status', '--queue', 'pw', '--redis', `redis://:not-it-0000@127.0.0.1:${locked.port}`], { env: suite.env });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ \((WRONGPASS|NOAUTH)/);
      const none = await runCli(['queue', 'status', '--queue', 'pw', '--redis', `redis://127.0.0.1:${locked.port}`], { env: suite.env });
      assert.equal(none.code, 1);
      for (const text of [r.stdout, r.stderr, w.stderr, s.stdout, s.stderr, untrusted.stderr, wrong.stderr, none.stderr]) {
        assert.ok(!text.includes('s3cr3t'), `no password in: ${text}`);
        assert.ok(!text.includes('not-it-0000'), `no password in: ${text}`);
      }
    } finally {
      await locked.close();
    }
  });

  test('no Redis, an unreachable one, a bad URL or queue name: exit 1 with what to do', async (t) => {
    if (!needRedis(t)) return;
    const none = await runCli(['queue', 'status', '--queue', 'x'], { env: { ...suite.env, PPLCNET_REDIS: '' } });
    assert.equal(none.code, 2, 'a missing required option is a command-line error');
    assert.match(none.stderr, /no Redis given: pass --redis redis:\/\/host:6379 .* or set PPLCNET_REDIS/);
    const t0 = Date.now();
    const down = await runCli(['queue', 'status', '--queue', 'x', '--redis', `redis://127.0.0.1:${await freePort()}`], { env: suite.env });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    assert.ok(Date.now() - t0 < 20_000, 'fails within seconds');
    const bad = await runCli(['queue', 'status', '--queue', 'x', '--redis', 'http://user:pw123@host'], { env: suite.env });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not a Redis URL: "http:\/\/user:\*\*\*@host" has scheme 'http:'/);
    assert.ok(!bad.stderr.includes('pw123'));
    const name = await runCli(['queue', 'status', '--queue', 'a:b'], { env: suite.env });
    assert.equal(name.code, 1);
    assert.match(name.stderr, /queue name "a:b" is not allowed/);
    const noQueue = await runCli(['queue', 'status'], { env: suite.env });
    assert.equal(noQueue.code, 2);
    assert.match(noQueue.stderr, /required option '--queue <name>'/);
    const stdin = await runCli(['queue', 'add', '--queue', 'stdin', '-m', MODEL, '--list', '-', '--json'], { env: suite.env, input: `${suite.images.all[10]}\n\n${suite.images.all[11]}\n` });
    assert.equal(stdin.code, 0, stdin.stderr);
    assert.deepEqual(JSON.parse(stdin.stdout), { images: 2, jobs: 1, addedJobs: 1, addedImages: 2, duplicates: 0, duplicateExamples: [], missing: 0 });
    const noList = await runCli(['queue', 'add', '--queue', 'x', '-m', MODEL, '--list', join(suite.root, 'nope.txt')], { env: suite.env });
    assert.equal(noList.code, 1);
    assert.match(noList.stderr, /cannot read --list .*nope\.txt/);
    const noImages = await runCli(['queue', 'add', '--queue', 'x', '-m', MODEL], { env: suite.env });
    assert.equal(noImages.code, 2);
    assert.match(noImages.stderr, /no images given/);
  });
});
