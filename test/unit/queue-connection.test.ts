/** Redis URLs for the image queue: parsing, passwords kept out of what is printed, job ids, the img/s window. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PplcnetError } from '../../src/index.js';
import { parseRedisUrl, redactRedisUrl } from '../../src/queue/index.js';
import { jobId } from '../../src/queue/keys.js';
import { recentRate } from '../../src/queue/producer.js';

test('parseRedisUrl: host, port, db, user, password, TLS; the display form hides the password', () => {
  assert.deepEqual(parseRedisUrl('redis://127.0.0.1:6380/2'), { host: '127.0.0.1', port: 6380, db: 2, tls: false, display: 'redis://127.0.0.1:6380/2' });
  const t = parseRedisUrl('rediss://app:p%40ss%3Aword@redis.example:6390');
  assert.equal(t.tls, true);
  assert.equal(t.username, 'app');
  assert.equal(t.password, 'p@ss:word');
  assert.equal(t.port, 6390);
  assert.equal(t.display, 'rediss://app:***@redis.example:6390');
  assert.equal(parseRedisUrl('redis://:secret@[::1]').host, '::1');
  assert.equal(parseRedisUrl('redis://:secret@[::1]').port, 6379);
  assert.equal(redactRedisUrl('redis://:hunter2@h:1/0'), 'redis://:***@h:1/0');
  assert.equal(redactRedisUrl('redis://u:hunter2@h:1'), 'redis://u:***@h:1');
  assert.equal(redactRedisUrl('not a url //u:hunter2@h'), 'not a url //u:***@h');
});

test('parseRedisUrl: missing, malformed, wrong scheme or database: E_NETWORK naming the URL without its password', () => {
  for (const [url, re] of [
    [undefined, /no Redis given: pass --redis/],
    ['', /no Redis given/],
    ['127.0.0.1:6379', /not a Redis URL: "127\.0\.0\.1:6379"/],
    ['http://u:topsecret@h', /has scheme 'http:'; expected redis:\/\/ or rediss:\/\//],
    ['redis://:topsecret@h/x', /the database must be a number such as \/0, found '\/x'/],
  ] as const) {
    assert.throws(
      () => parseRedisUrl(url),
      (e: unknown) => e instanceof PplcnetError && e.code === 'E_NETWORK' && re.test(e.message) && !e.message.includes('topsecret'),
      String(url),
    );
  }
});

test('jobId: the same files, model and top-k give the same id; anything else, or --again, another', () => {
  const a = jobId({ files: ['/a.png', '/b.png'], model: 'm' });
  assert.match(a, /^j[0-9a-f]{24}$/);
  assert.equal(jobId({ files: ['/a.png', '/b.png'], model: 'm' }), a);
  assert.notEqual(jobId({ files: ['/b.png', '/a.png'], model: 'm' }), a);
  assert.notEqual(jobId({ files: ['/a.png', '/b.png'], model: 'n' }), a);
  assert.notEqual(jobId({ files: ['/a.png', '/b.png'], model: 'm', topk: 2 }), a);
  assert.notEqual(jobId({ files: ['/a.png/', 'b.png'], model: 'm' }), a, 'file boundaries count');
  assert.equal(jobId({ files: ['/a.png', '/b.png'], model: 'm' }, 'x1'), `${a}-x1`);
});

test('recentRate: images per second over the last minute of stored jobs', () => {
  const now = 1_000_000;
  // newest first: 64 images every 0.5 s
  const samples = [0, 1, 2, 3, 4].map((k) => `${now - k * 500}:64`);
  assert.equal(recentRate(samples, now), 128);
  assert.equal(recentRate([`${now}:64`], now), undefined, 'one sample is no rate');
  assert.equal(recentRate([`${now - 61_000}:64`, `${now - 62_000}:64`], now), undefined, 'older than a minute');
  assert.equal(recentRate([`${now}:10`, `${now - 1000}:10`, `${now - 90_000}:1000`], now), 10);
});
