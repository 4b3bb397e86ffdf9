/**
 * Faults a queue of images must survive, with real processes and a real redis-server: a worker killed with
 * SIGKILL mid-job, a worker stopped with SIGTERM, and Redis restarted under a running worker.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { ImageQueue } from '../../../src/queue/index.js';
import { queueKeys } from '../../../src/queue/keys.js';
import { runCli } from '../../helpers.js';
import { type RedisServer, needRedis, redisServerPath } from '../../services.js';
import { Child, type ImageSet, MODEL, type Row, assertRows, queueStatus, startQueueFixture, stopQueueFixture } from './harness.js';

describe('pplcnet worker: SIGKILL, SIGTERM, Redis restarts', () => {
  let redis: RedisServer | undefined;
  let root = '';
  let env: NodeJS.ProcessEnv = {};
  let images: ImageSet;
  let reference: Map<string, Row>;
  const children: Child[] = [];

  before(async () => {
    if (!redisServerPath()) return; // each test then fails under CI=true or skips, through needRedis(t)
    ({ redis, root, env, images, reference } = await startQueueFixture('pplcnet-queue-faults-'));
  });
  after(() => stopQueueFixture(children, { redis, root }));

  const worker = (queue: string, ...extra: string[]): Child => {
    const c = new Child(['worker', '--queue', queue, '--ep', 'cpu', '--threads', '1', '--workers', '1', '--lock-ms', '1000', ...extra], env);
    children.push(c);
    return c;
  };
  const add = async (queue: string, jobSize: number): Promise<void> => {
    const r = await runCli(['queue', 'add', '--queue', queue, '-m', MODEL, images.dir, '--list', images.list, '--job-size', String(jobSize)], { env });
    assert.equal(r.code, 0, r.stderr);
  };
  const status = (queue: string): Promise<Record<string, any>> => queueStatus(redis!.url, queue);
  const results = async (queue: string): Promise<string[]> => {
    const out = join(root, `${queue}.jsonl`);
    const r = await runCli(['queue', 'results', '--queue', queue, '-o', out], { env });
    assert.equal(r.code, 0, r.stderr);
    return (await readFile(out, 'utf8')).split('\n').filter((l) => l);
  };

  test('SIGKILL mid-job: the lock expires, another worker takes the job, every image ends with exactly one row', async (t) => {
    if (!needRedis(t)) return;
    await add('kill', 50);
    // batch size 1 keeps the job in hand long enough to be killed in the middle of it
    const a = worker('kill', '--batch-size', '1');
    const [, job] = await a.waitFor(/job (\S+): took 50 images/, 60_000);
    a.kill('SIGKILL');
    assert.equal(await a.exit(10_000), null, 'killed');
    const client = new Redis(redis!.url);
    try {
      const stored = await client.sismember(queueKeys('kill').stored, job!);
      assert.equal(stored, 0, `worker A had not stored job ${job} when it was killed`);
      assert.equal(await client.hlen(queueKeys('kill').results), 0);
    } finally {
      client.disconnect();
    }
    const b = worker('kill', '--until-empty');
    assert.equal(await b.exit(120_000), 0, b.stderr);
    assert.match(b.stderr, new RegExp(`job ${job}: stored 50 rows`), 'the killed job was taken over and completed');
    assertRows(await results('kill'), images, reference);
    const s = await status('kill');
    assert.equal(s.done, 200, 'no image counted twice');
    assert.equal(s.stored, 200);
    assert.equal(s.failed, 0);
  });

  test('SIGTERM: the worker finishes the job in hand, stores it, and exits 0', async (t) => {
    if (!needRedis(t)) return;
    await add('term', 50);
    const w = worker('term', '--batch-size', '2', '--lock-ms', '10000');
    const [, job] = await w.waitFor(/job (\S+): took 50 images/, 60_000);
    const q = await ImageQueue.open({ redis: redis!.url, queue: 'term' });
    const running = await q.status();
    await q.close();
    assert.equal(running.workers, 1, 'one worker process connected');
    assert.equal(running.jobs.active, 1);
    assert.equal(running.active, 50);
    w.kill('SIGTERM');
    assert.equal(await w.exit(60_000), 0, w.stderr);
    assert.match(w.stderr, /SIGTERM: finishing the job in hand, then exiting/);
    assert.match(w.stderr, new RegExp(`job ${job}: stored 50 rows`));
    assert.match(w.stderr, /worker stopped after 1 job\n/);
    const s = await status('term');
    assert.equal(s.done, 50);
    assert.equal(s.waiting, 150);
    assert.equal(s.jobs.waiting, 3);
  });

  test('Redis restarted while a worker runs: the worker says so, reconnects, and the run completes', async (t) => {
    if (!needRedis(t)) return;
    await add('restart', 10);
    const w = worker('restart', '--until-empty', '--batch-size', '2');
    await w.waitFor(/job \S+: stored 10 rows/, 60_000);
    // persist what is there, then restart on the same port and folder (the server reloads dump.rdb)
    const client = new Redis(redis!.url);
    await client.save();
    client.disconnect();
    await redis!.stop();
    await sleep(800);
    await redis!.start();
    assert.equal(await w.exit(120_000), 0, w.stderr);
    assert.match(w.stderr, /lost the connection to Redis at redis:\/\/127\.0\.0\.1:\d+( \(\w+\))?; retrying in [\d.]+ s \(attempt 1\)/);
    assert.match(w.stderr, /connected to Redis at redis:\/\/127\.0\.0\.1:\d+ again/);
    const afterReconnect = w.stderr.slice(w.stderr.indexOf('again'));
    assert.match(afterReconnect, /stored 10 rows/, 'jobs were stored after the restart');
    assertRows(await results('restart'), images, reference);
    const s = await status('restart');
    assert.equal(s.done, 200);
    assert.equal(s.waiting + s.active + s.failed, 0);
  });
});
