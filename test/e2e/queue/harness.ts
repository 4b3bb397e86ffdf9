/**
 * What the queue tests share: the per-file set-up (`queueSuite`: Redis, images, the reference, workers),
 * generated images (a few unreadable), the local `predict --json` reference,
 * long-running CLI children (workers) with bounded waits, and reading a queue's rows back.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import sharp from 'sharp';
import { ImageQueue } from '../../../src/queue/index.js';
import { type CliRun, ROOT, runCli, seededBytes } from '../../helpers.js';
import { type RedisServer, redisServerPath, startRedis } from '../../services.js';

export const MODEL = 'PP-LCNet_x0_25_textline_ori';

export interface ImageSet {
  /** The folder `queue add` is given (holds the good images and three unreadable files). */
  readonly dir: string;
  /** A `--list` file naming one more image that does not exist. */
  readonly list: string;
  /** Every input, absolute: good and bad. */
  readonly all: readonly string[];
  readonly bad: readonly string[];
}

/** `good` small PNGs (text-line-like stripes with seeded noise) plus 4 unreadable inputs. */
export async function makeImages(root: string, good = 196): Promise<ImageSet> {
  const dir = join(root, 'images');
  await mkdir(dir, { recursive: true });
  const all: string[] = [];
  for (let i = 0; i < good; i++) {
    const w = 120 + ((i * 29) % 100);
    const h = 32 + ((i * 13) % 40);
    const px = seededBytes(w * h, i + 1);
    const upside = i % 2 === 1;
    for (let y = 0; y < h; y++) {
      // a dark "text" band in the upper or lower half, as a rotated line would have it
      const inBand = upside ? y > h * 0.55 && y < h * 0.8 : y > h * 0.2 && y < h * 0.45;
      for (let x = 0; x < w; x++) {
        const o = y * w + x;
        px[o] = inBand && (x >> 2) % 3 !== 0 ? px[o]! & 0x3f : 0xc0 | (px[o]! & 0x3f);
      }
    }
    const f = join(dir, `line_${String(i).padStart(3, '0')}.png`);
    await writeFile(f, await sharp(px, { raw: { width: w, height: h, channels: 1 } }).png().toBuffer());
    all.push(f);
  }
  const text = join(dir, 'bad_text.png');
  await writeFile(text, 'this is not an image\n');
  const empty = join(dir, 'bad_empty.jpg');
  await writeFile(empty, '');
  const truncated = join(dir, 'bad_truncated.png');
  await writeFile(truncated, (await readFile(all[0]!)).subarray(0, 60));
  const missing = join(root, 'gone', 'bad_missing.png');
  const list = join(root, 'list.txt');
  await writeFile(list, `${missing}\n`);
  all.push(text, empty, truncated, missing);
  return { dir, list, all: all.sort(), bad: [text, empty, truncated, missing].sort() };
}

export interface Row {
  file: string;
  model?: string;
  topk?: { classId: number; label: string; score: number }[];
  error?: { code: string; message: string };
}

/** `predict --json` over the folder on this machine: file → row. */
export async function localPredict(dir: string, env: NodeJS.ProcessEnv): Promise<Map<string, Row>> {
  const r = await runCli(['predict', '-m', MODEL, '--json', '--ep', 'cpu', '--threads', '1', dir], { env });
  assert.equal(r.code, 1, `predict exits 1 for the unreadable files: ${r.stderr}`);
  // predict --json also writes a row for each unreadable file; the reference holds the classified ones
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Row).filter((row) => !row.error);
  return new Map(rows.map((row) => [row.file, row]));
}

/** Each image exactly once; good rows equal the local predict's scores within 1e-6; error rows only for the bad files. */
export function assertRows(lines: readonly string[], images: ImageSet, reference: Map<string, Row>, expected: readonly string[] = images.all): void {
  const rows = lines.map((l) => JSON.parse(l) as Row);
  const files = rows.map((r) => r.file).sort();
  assert.equal(new Set(files).size, files.length, 'no image has two rows');
  assert.deepEqual(files, [...expected].sort(), 'every image has a row');
  for (const row of rows) {
    if (images.bad.includes(row.file)) {
      assert.ok(row.error, `${row.file} is an error row`);
      assert.match(row.error.code, /^E_(IMAGE|IO)$/);
      assert.ok(row.error.message.includes(row.file), `the message names the file: ${row.error.message}`);
      continue;
    }
    assert.equal(row.error, undefined, `${row.file}: ${JSON.stringify(row.error)}`);
    const ref = reference.get(row.file);
    assert.ok(ref?.topk, `predict classified ${row.file}`);
    assert.equal(row.model, ref.model);
    assert.equal(row.topk!.length, ref.topk.length);
    row.topk!.forEach((t, k) => {
      assert.equal(t.classId, ref.topk![k]!.classId, row.file);
      assert.equal(t.label, ref.topk![k]!.label);
      assert.ok(Math.abs(t.score - ref.topk![k]!.score) <= 1e-6, `${row.file}: ${t.score} vs ${ref.topk![k]!.score}`);
    });
  }
}

/** A long-running CLI child (a worker): its stderr so far, bounded waits for lines and for its exit. */
export class Child {
  readonly process: ChildProcess;
  stderr = '';
  stdout = '';
  readonly exited: Promise<number | null>;
  private waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];

  constructor(args: readonly string[], env: NodeJS.ProcessEnv) {
    this.process = spawn(process.execPath, [`${ROOT}bin/pplcnet.js`, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.process.stdout!.on('data', (d) => (this.stdout += d));
    this.process.stderr!.on('data', (d) => {
      this.stderr += d;
      this.waiters = this.waiters.filter((w) => {
        const m = this.stderr.match(w.re);
        if (m) w.resolve(m);
        return !m;
      });
    });
    this.exited = new Promise((resolve) => this.process.on('exit', (code) => resolve(code)));
  }

  /** Resolve with the first match of `re` in stderr; fail after `ms`. */
  waitFor(re: RegExp, ms: number): Promise<RegExpMatchArray> {
    const m = this.stderr.match(re);
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${re} on stderr within ${ms} ms; stderr so far:\n${this.stderr}`)), ms);
      timer.unref();
      this.waiters.push({
        re,
        resolve: (x) => {
          clearTimeout(timer);
          resolve(x);
        },
      });
      void this.exited.then(() => setTimeout(() => reject(new Error(`exited without ${re}; stderr:\n${this.stderr}`)), 50));
    });
  }

  /** The exit code; fail (and kill the child) after `ms`. */
  async exit(ms: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.kill();
        reject(new Error(`did not exit within ${ms} ms; stderr:\n${this.stderr}`));
      }, ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill(signal);
  }
}

/** What a queue test file starts: a private redis-server, a folder with the images, and the local reference. */
export interface QueueFixture {
  readonly redis: RedisServer;
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
  readonly images: ImageSet;
  readonly reference: Map<string, Row>;
}

export async function startQueueFixture(prefix: string): Promise<QueueFixture> {
  const redis = await startRedis();
  const root = await mkdtemp(join(tmpdir(), prefix));
  const env = { PPLCNET_HOME: join(root, 'home'), PPLCNET_REDIS: redis.url };
  const images = await makeImages(root);
  return { redis, root, env, images, reference: await localPredict(images.dir, env) };
}

/** Kill the workers a file started (waiting at most 5 s each), stop Redis, remove the folder. */
export async function stopQueueFixture(children: readonly Child[], fixture: Partial<QueueFixture>): Promise<void> {
  for (const c of children) c.kill();
  await Promise.all(children.map((c) => c.exit(5000).catch(() => {})));
  await fixture.redis?.close();
  if (fixture.root) await rm(fixture.root, { recursive: true, force: true });
}

/** A queue test file's set-up, made by `queueSuite`: its fixture once `before` has run, and its workers. */
export interface QueueSuite extends QueueFixture {
  /** `pplcnet worker` on `queue` (CPU, one thread, one preprocessing worker, the file's flags, then `extra`). */
  worker(queue: string, ...extra: string[]): Child;
  /** Keeps a child started otherwise, to be killed with the workers at the end. */
  track(child: Child): Child;
  /** `queue add` of the image folder and the list (with the missing file) to `queue`; fails unless it exits 0. */
  add(queue: string, ...extra: string[]): Promise<CliRun>;
  /** The figures `queue status --json` prints, read in-process. */
  status(queue: string): Promise<Record<string, any>>;
  /** `queue results` of `queue` to a file in the fixture's folder: its lines, and what the command said. */
  results(queue: string, ...extra: string[]): Promise<{ lines: string[]; stderr: string }>;
}

/**
 * Registers the file's `before` (start the fixture, when this machine has redis-server: otherwise each test
 * fails under CI=true or skips, through needRedis(t)) and `after` (kill the workers, stop Redis, remove the
 * folder) hooks. `workerFlags` go on every worker's command line.
 */
export function queueSuite(prefix: string, workerFlags: readonly string[]): QueueSuite {
  let fixture: QueueFixture | undefined;
  const children: Child[] = [];
  before(async () => {
    if (redisServerPath()) fixture = await startQueueFixture(prefix);
  });
  after(() => stopQueueFixture(children, fixture ?? {}));
  const started = (): QueueFixture => {
    if (!fixture) throw new Error('the queue fixture is not started (no redis-server here)');
    return fixture;
  };
  const track = (child: Child): Child => {
    children.push(child);
    return child;
  };
  return {
    get redis() {
      return started().redis;
    },
    get root() {
      return started().root;
    },
    get env() {
      return started().env;
    },
    get images() {
      return started().images;
    },
    get reference() {
      return started().reference;
    },
    worker: (queue, ...extra) => track(new Child(['worker', '--queue', queue, '--ep', 'cpu', '--threads', '1', '--workers', '1', ...workerFlags, ...extra], started().env)),
    track,
    async add(queue, ...extra) {
      const { images, env } = started();
      const r = await runCli(['queue', 'add', '--queue', queue, '-m', MODEL, images.dir, '--list', images.list, ...extra], { env });
      assert.equal(r.code, 0, r.stderr);
      return r;
    },
    status: (queue) => queueStatus(started().redis.url, queue),
    async results(queue, ...extra) {
      const out = join(started().root, `${queue}-results.jsonl`);
      const r = await runCli(['queue', 'results', '--queue', queue, '-o', out, ...extra], { env: started().env });
      assert.equal(r.code, 0, r.stderr);
      return { lines: (await readFile(out, 'utf8')).split('\n').filter((l) => l), stderr: r.stderr };
    },
  };
}

/** The figures `queue status --json` prints, read in-process. */
export async function queueStatus(redisUrl: string, queue: string): Promise<Record<string, any>> {
  const q = await ImageQueue.open({ redis: redisUrl, queue });
  try {
    return JSON.parse(JSON.stringify(await q.status()));
  } finally {
    await q.close();
  }
}
