/**
 * What `queue add`, `worker` and `queue results` check, against a real redis-server: a job of 100,000 images
 * keeps every row; one file listed under several paths is enqueued once; a job whose file list holds
 * non-paths gets one error row per bad entry and classifies the rest; `queue results` writes only rows whose
 * value parses and names its key (a value with a newline inside stays one bad entry); a misspelt model, a
 * missing folder or a missing option is refused at `add`; a worker that ends with a failed job exits 1.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { ImageQueue } from '../../../src/queue/index.js';
import { queueKeys } from '../../../src/queue/keys.js';
import { runCli } from '../../helpers.js';
import { needRedis } from '../../services.js';
import { MODEL, type Row, assertRows, queueStatus, queueSuite } from './harness.js';

describe('pplcnet queue: checks at add, jobs of any size, rows checked on export', () => {
  const suite = queueSuite('pplcnet-queue-checks-', ['--lock-ms', '5000', '--until-empty']);
  const { worker } = suite;
  const good = (): string[] => suite.images.all.filter((f) => !suite.images.bad.includes(f));

  test('a job of 100,000 images (empty files): all 100,000 error rows are stored and exported', async (t) => {
    if (!needRedis(t)) return;
    const dir = join(suite.root, 'big');
    await mkdir(dir);
    const files = Array.from({ length: 100_000 }, (_, i) => join(dir, `e${String(i).padStart(6, '0')}.png`));
    for (let i = 0; i < files.length; i += 1000) await Promise.all(files.slice(i, i + 1000).map((f) => writeFile(f, '')));
    const q = await ImageQueue.open({ redis: suite.redis.url, queue: 'big' });
    try {
      const added = await q.add(files, { model: MODEL, jobSize: 100_000 });
      assert.equal(added.jobs, 1);
      assert.equal(added.addedImages, 100_000);
      const w = worker('big', '--workers', '0'); // errors only: no preprocessing thread needed
      assert.equal(await w.exit(600_000), 0, w.stderr);
      assert.match(w.stderr, /took 100000 images/);
      assert.match(w.stderr, /stored 100000 rows \(100000 unreadable\)/);
      const seen = new Set<string>();
      const report = await q.exportResults((line) => {
        const row = JSON.parse(line) as Row;
        assert.equal(row.error?.code, 'E_IMAGE');
        assert.ok(row.error.message.includes(row.file), row.error.message);
        seen.add(row.file);
      });
      assert.deepEqual({ rows: report.rows, errors: report.errors, bad: report.bad }, { rows: 100_000, errors: 100_000, bad: 0 });
      assert.equal(seen.size, 100_000);
      for (const f of files) assert.ok(seen.has(f), f);
      const s = await q.status();
      assert.equal(s.done, 100_000);
      assert.equal(s.errors, 100_000);
    } finally {
      await q.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('one file under five paths (., .., a link, the same path twice) is enqueued, classified and stored once', async (t) => {
    if (!needRedis(t)) return;
    const first = good()[0]!;
    const dir = join(suite.root, 'images');
    const link = join(suite.root, 'link.png');
    await symlink(first, link);
    const name = first.slice(dir.length + 1);
    const paths = [first, `${dir}/./${name}`, `${dir}/../images/${name}`, link, first, good()[1]!];
    const list = join(suite.root, 'dups.txt');
    await writeFile(list, `${paths.join('\n')}\n`);
    const r = await runCli(['queue', 'add', '--queue', 'dups', '-m', MODEL, '--list', list], { env: suite.env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^queued 2 images in 1 job on 'dups'\nleft out 4 duplicate paths: the same file as one listed before \(e\.g\. .*images\/\.\/line_\d+\.png is .*images\/line_\d+\.png\)\n$/);
    const json = await runCli(['queue', 'add', '--queue', 'dups2', '-m', MODEL, '--list', list, '--json'], { env: suite.env });
    const report = JSON.parse(json.stdout);
    assert.equal(report.images, 2);
    assert.equal(report.duplicates, 4);
    assert.deepEqual(
      report.duplicateExamples.map((d: { path: string }) => d.path),
      paths.slice(1, 5),
    );
    for (const d of report.duplicateExamples) assert.equal(d.sameAs, first);
    const w = worker('dups');
    assert.equal(await w.exit(120_000), 0, w.stderr);
    assert.match(w.stderr, /took 2 images/);
    assert.match(w.stderr, /stored 2 rows in/);
    const s = await queueStatus(suite.redis.url, 'dups');
    assert.equal(s.done, 2);
    assert.equal(s.stored, 2);
    const out = await runCli(['queue', 'results', '--queue', 'dups'], { env: suite.env });
    assertRows(out.stdout.trim().split('\n'), suite.images, suite.reference, [first, good()[1]!]);
  });

  test('non-path entries in a job made by other software: one error row each, the images classified', async (t) => {
    if (!needRedis(t)) return;
    const [a, b] = good();
    const client = new Redis(suite.redis.url, { maxRetriesPerRequest: null });
    const bull = new Queue('odd', { connection: client });
    try {
      await bull.add('classify', { files: [a, 42, null, { path: b }, b, ''], model: MODEL } as never, { jobId: 'odd1', removeOnComplete: true });
    } finally {
      await bull.close();
      client.disconnect();
    }
    const w = worker('odd');
    assert.equal(await w.exit(120_000), 0, w.stderr);
    assert.match(w.stderr, /job odd1: stored 6 rows \(4 unreadable\)/);
    const out = await runCli(['queue', 'results', '--queue', 'odd'], { env: suite.env });
    assert.equal(out.code, 0, out.stderr);
    const rows = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as Row);
    const byFile = new Map(rows.map((r) => [r.file, r]));
    assert.equal(rows.length, 6);
    assertRows(rows.filter((r) => !r.file.startsWith('job ')).map((r) => JSON.stringify(r)), suite.images, suite.reference, [a!, b!]);
    for (const [i, what] of [[1, '42 of type number'], [2, 'null'], [3, `{"path":${JSON.stringify(b)}} of type object`], [5, '"" of type string']] as const) {
      const row = byFile.get(`job odd1 entry ${i}`);
      assert.equal(row?.error?.code, 'E_FORMAT', `entry ${i}`);
      assert.equal(row.error.message, `job odd1 entry ${i} is ${what}, not an image path; add images with pplcnet queue add (each entry of a job's files is an absolute path)`);
    }
  });

  test('results: every value is parsed and must name its key; bad entries are reported, not written, not deleted', async (t) => {
    if (!needRedis(t)) return;
    // five good rows, as a worker stores them
    const five = good().slice(0, 5);
    const add = await runCli(['queue', 'add', '--queue', 'hash', '-m', MODEL, ...five], { env: suite.env });
    assert.equal(add.code, 0, add.stderr);
    const w = worker('hash');
    assert.equal(await w.exit(120_000), 0, w.stderr);
    const keys = queueKeys('hash');
    const client = new Redis(suite.redis.url);
    const goodValue = await client.hget(keys.results, five[0]!);
    const injected: Record<string, string> = {
      // a newline inside a value: written raw, it would be a second line (a sixth "row")
      [five[1]!]: `${goodValue!.replace(five[0]!, five[1]!)}\n{"file":"/etc/passwd","error":{"code":"E_IMAGE","message":"x"}}`,
      '/x/not-json.png': 'not json',
      '/x/other.png': JSON.stringify({ file: '/x/somewhere-else.png', error: { code: 'E_IMAGE', message: 'x' } }),
      '/x/array.png': '[1,2]',
      '/x/no-topk.png': JSON.stringify({ file: '/x/no-topk.png', model: 'm' }),
    };
    for (const [k, v] of Object.entries(injected)) await client.hset(keys.results, k, v);
    // a value that is valid JSON but not in its canonical form is written re-serialized
    await client.hset(keys.results, five[2]!, JSON.stringify(JSON.parse((await client.hget(keys.results, five[2]!))!), null, 2));
    try {
      const out = join(suite.root, 'hash.jsonl');
      const r = await runCli(['queue', 'results', '--queue', 'hash', '-o', out, '--delete'], { env: suite.env });
      assert.equal(r.code, 1, 'bad entries make the export fail');
      const lines = (await readFile(out, 'utf8')).split('\n');
      assert.equal(lines.pop(), '', 'the file ends with a newline');
      assert.equal(lines.length, 4, 'four good rows, four lines');
      assert.match(r.stderr, /wrote 4 row\(s\) to .*hash\.jsonl; removed 4 from Redis/);
      assert.match(r.stderr, /error: 5 entries of the results hash are not a row a worker writes: not written, not removed:/);
      assert.match(r.stderr, new RegExp(`"${five[1]!.replace(/[.]/g, '\\.')}" is not JSON`));
      assert.match(r.stderr, /"\/x\/not-json\.png" is not JSON/);
      assert.match(r.stderr, /"\/x\/other\.png" names file "\/x\/somewhere-else\.png", not its key/);
      assert.match(r.stderr, /"\/x\/array\.png" is an array, not a row object/);
      assert.match(r.stderr, /"\/x\/no-topk\.png" has no topk list/);
      assertRows(lines, suite.images, suite.reference, [five[0]!, ...five.slice(2)]);
      assert.equal(await client.hlen(keys.results), 5, 'the bad entries stay for a look');
    } finally {
      client.disconnect();
    }
  });

  test('add refuses a misspelt model (with the nearest names), a missing folder, and a missing --redis or --model', async (t) => {
    if (!needRedis(t)) return;
    const one = good()[0]!;
    const misspelt = await runCli(['queue', 'add', '--queue', 'chk', '-m', 'textlin', one], { env: suite.env });
    assert.equal(misspelt.code, 1);
    assert.match(misspelt.stderr, /model 'textlin' is neither a file nor a zoo model; did you mean textline \(PP-LCNet_x0_25_textline_ori\)\?/);
    const short = await runCli(['queue', 'add', '--queue', 'chk', '-m', 'PP-LCNet_x0_25_textline', one], { env: suite.env });
    assert.equal(short.code, 1);
    assert.match(short.stderr, /did you mean PP-LCNet_x0_25_textline_ori\?/);
    const noFile = await runCli(['queue', 'add', '--queue', 'chk', '-m', join(suite.root, 'nope.onnx'), one], { env: suite.env });
    assert.equal(noFile.code, 1);
    assert.match(noFile.stderr, /model .*nope\.onnx: no such file or folder/);
    const image = await runCli(['queue', 'add', '--queue', 'chk', '-m', one, one], { env: suite.env });
    assert.equal(image.code, 1);
    assert.match(image.stderr, /is a PNG image, not a model/);
    const folder = await runCli(['queue', 'add', '--queue', 'chk', '-m', MODEL, '/no/such/folder', one], { env: suite.env });
    assert.equal(folder.code, 1);
    assert.match(folder.stderr, /no such file or folder: \/no\/such\/folder; give images that exist here \(or --no-check when only the workers see them\)/);
    const noRedis = await runCli(['queue', 'add', '--queue', 'chk', '-m', MODEL, one], { env: { ...suite.env, PPLCNET_REDIS: '' } });
    assert.equal(noRedis.code, 2);
    assert.match(noRedis.stderr, /no Redis given: pass --redis/);
    const noWorkerRedis = await runCli(['worker', '--queue', 'chk'], { env: { ...suite.env, PPLCNET_REDIS: '' } });
    assert.equal(noWorkerRedis.code, 2);
    const noModel = await runCli(['queue', 'add', '--queue', 'chk', one], { env: { ...suite.env, PPLCNET_MODEL: '' } });
    assert.equal(noModel.code, 2);
    assert.match(noModel.stderr, /no model given: pass --model/);
    const s = await queueStatus(suite.redis.url, 'chk');
    assert.equal(s.images, 0, 'nothing was enqueued');
  });

  test('one image: "took 1 image", "stored 1 row", "after 1 job"; a failed job makes --until-empty exit 1', async (t) => {
    if (!needRedis(t)) return;
    const add = await runCli(['queue', 'add', '--queue', 'one', '-m', MODEL, good()[0]!], { env: suite.env });
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stdout, "queued 1 image in 1 job on 'one'\n");
    const w = worker('one');
    assert.equal(await w.exit(120_000), 0, w.stderr);
    assert.match(w.stderr, /: took 1 image \(model /);
    assert.match(w.stderr, /: stored 1 row in [\d.]+ s/);
    assert.match(w.stderr, /worker stopped after 1 job\n/);

    // a model file there at add, gone when the worker loads it
    const model = join(suite.root, 'gone.onnx');
    await writeFile(model, Buffer.from([8, 7, 18, 0]));
    const addGone = await runCli(['queue', 'add', '--queue', 'gone', '-m', model, '--attempts', '1', good()[0]!], { env: suite.env });
    assert.equal(addGone.code, 0, addGone.stderr);
    await rm(model);
    const g = worker('gone');
    assert.equal(await g.exit(120_000), 1, g.stderr);
    assert.match(g.stderr, /failed \(attempt 1 of 1\): cannot load model/);
    assert.match(g.stderr, /worker stopped after 0 jobs; 1 job failed \(pplcnet queue status shows why, pplcnet queue retry puts them back\)/);
  });
});
