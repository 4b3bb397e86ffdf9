/**
 * Faults a queue of images must survive, with real processes and a real redis-server: a worker killed with
 * SIGKILL mid-job, a worker stopped with SIGTERM, and Redis restarted under a running worker.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { ImageQueue } from '../../../src/queue/index.js';
import { queueKeys } from '../../../src/queue/keys.js';
import { needRedis } from '../../services.js';
import { assertRows, queueSuite } from './harness.js';

describe('pplcnet worker: SIGKILL, SIGTERM, Redis restarts', () => {
  const suite = queueSuite('pplcnet-queue-faults-', ['--lock-ms', '1000']);
  const { worker, status } = suite;
  const add = async (queue: string, jobSize: number): Promise<void> => {
    await suite.add(queue, '--job-size', String(jobSize));
  };
  const results = async (queue: string): Promise<string[]> => (await suite.results(queue)).lines;

  test('SIGKILL mid-job: the lock expires, another worker takes the job, every image ends with exactly one row', async (t) => {
    if (!needRedis(t)) return;
    await add('kill', 50);
    // batch size 1 keeps the job in hand long enough to be killed in the middle of it
    const a = worker('kill', '--batch-size', '1');
    const [, job] = await a.waitFor(/job (\S+): took 50 images/, 60_000);
    a.kill('SIGKILL');
    assert.equal(await a.exit(10_000), null, 'killed');
    const client = new Redis(suite.redis.url);
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
    assertRows(await results('kill'), suite.images, suite.reference);
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
    const q = await ImageQueue.open({ redis: suite.redis.url, queue: 'term' });
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
    const client = new Redis(suite.redis.url);
    await client.save();
    client.disconnect();
    await suite.redis.stop();
    await sleep(800);
    await suite.redis.start();
    assert.equal(await w.exit(120_000), 0, w.stderr);
    assert.match(w.stderr, /lost the connection to Redis at redis:\/\/127\.0\.0\.1:\d+( \(\w+\))?; retrying in [\d.]+ s \(attempt 1\)/);
    assert.match(w.stderr, /connected to Redis at redis:\/\/127\.0\.0\.1:\d+ again/);
    const afterReconnect = w.stderr.slice(w.stderr.indexOf('again'));
    assert.match(afterReconnect, /stored 10 rows/, 'jobs were stored after the restart');
    assertRows(await results('restart'), suite.images, suite.reference);
    const s = await status('restart');
    assert.equal(s.done, 200);
    assert.equal(s.waiting + s.active + s.failed, 0);
  });
});
