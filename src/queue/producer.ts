/**
 * The producer side of the image queue: add images as jobs, report progress, export results, retry
 * failed jobs. Jobs are BullMQ jobs; results live in a Redis hash per queue keyed by image path.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, realpath, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { PplcnetError, checkModelArgument, invalidOption } from '../index.js';
import { type RedisTarget, connectRedis, parseRedisUrl, redactSecret, whenReady } from './connection.js';
import { type BadRow, checkStoredRow } from './rows.js';
import { DEFAULT_PREFIX, type ImageJobData, type QueueKeys, checkQueueName, jobId, queueKeys } from './keys.js';

export interface QueueTargetOptions {
  /** `redis://[:password@]host[:port][/db]` or `rediss://…` (TLS). */
  redis: string;
  /** The queue's name. */
  queue: string;
  /** Key prefix. [`bull`, BullMQ's] */
  prefix?: string;
}

export interface AddOptions {
  /** The model every worker loads for these images (a zoo name, or a path every worker can read). */
  model: string;
  topk?: number;
  /** Images per job. [64] */
  jobSize?: number;
  /** Enqueue even the jobs that were added before (new job ids). */
  again?: boolean;
  /** Attempts per job when the model cannot be loaded. [3] */
  attempts?: number;
  /** First retry delay, doubled each attempt. [5000] */
  backoffMs?: number;
  /**
   * Check that the model is a zoo name or a path holding a model before anything is enqueued (turn it off
   * when the workers see files this machine does not). [true]
   */
  checkModel?: boolean;
}

/** A path left out of a job because it is the same file as one listed before it. */
export interface DuplicateInput {
  /** As it was given. */
  readonly path: string;
  /** The path that was kept (the first one listed, absolute). */
  readonly sameAs: string;
}

export interface AddReport {
  readonly images: number;
  readonly jobs: number;
  /** Jobs (and their images) enqueued by this call; the rest had been added before. */
  readonly addedJobs: number;
  readonly addedImages: number;
  /** Paths left out as the same file as one listed before (`/a.png`, `/a/./a.png`, a link to it). */
  readonly duplicates: number;
  /** The first few of them. */
  readonly duplicateExamples: readonly DuplicateInput[];
  /** Paths that do not exist on this machine (enqueued all the same: each gets an error row, or the worker sees them). */
  readonly missing: number;
}

/**
 * Each file once, by its real path (symbolic links and `.`/`..` resolved), in the order given; a path that
 * does not exist here is kept by its absolute form.
 */
export async function dedupeByRealPath(files: readonly string[]): Promise<{ files: string[]; duplicates: DuplicateInput[]; missing: number }> {
  const absolute = files.map((f) => resolve(f));
  const reals = new Array<string | undefined>(absolute.length);
  for (let i = 0; i < absolute.length; i += 256) {
    const part = absolute.slice(i, i + 256);
    const got = await Promise.all(part.map((f) => realpath(f).catch(() => undefined)));
    got.forEach((r, k) => (reals[i + k] = r));
  }
  const kept = new Map<string, string>();
  const out: string[] = [];
  const duplicates: DuplicateInput[] = [];
  let missing = 0;
  absolute.forEach((path, i) => {
    const real = reals[i];
    if (real === undefined) missing++;
    const key = real ?? path;
    const first = kept.get(key);
    if (first !== undefined) duplicates.push({ path: files[i]!, sameAs: first });
    else {
      kept.set(key, path);
      out.push(path);
    }
  });
  return { files: out, duplicates, missing };
}

export interface QueueStatus {
  readonly queue: string;
  /** The Redis URL without its password. */
  readonly redis: string;
  /** Images ever added (per job added). */
  readonly images: number;
  readonly waiting: number;
  readonly active: number;
  /** Images whose rows are stored (each job counted once), of which `errors` are error rows. */
  readonly done: number;
  readonly errors: number;
  /** Images in failed jobs. */
  readonly failed: number;
  /** Rows held in Redis now (until `queue results --delete`). */
  readonly stored: number;
  readonly jobs: { readonly waiting: number; readonly active: number; readonly delayed: number; readonly failed: number };
  /** Over the last minute of stored jobs; undefined when nothing was stored in the last minute. */
  readonly imagesPerSecond: number | undefined;
  readonly etaSeconds: number | undefined;
  /** Distinct reasons of failed jobs (at most 5). */
  readonly failedReasons: readonly string[];
  /** Connected worker processes, when the server lets us list clients. */
  readonly workers: number | undefined;
}

export interface ExportReport {
  readonly rows: number;
  readonly errors: number;
  readonly deleted: number;
  /** Hash entries that are not rows a worker writes: not written, not deleted (the first few in `badRows`). */
  readonly bad: number;
  readonly badRows: readonly BadRow[];
}

function positive(name: string, v: number | undefined, dflt: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < 1) throw invalidOption(name, 'a positive integer', n);
  return n;
}

/** Images per second over the stored-job samples (`<ms>:<n>`, newest first) of the last minute. */
export function recentRate(samples: readonly string[], now: number, windowMs = 60_000): number | undefined {
  const recent = samples
    .map((s) => s.split(':').map(Number) as [number, number])
    .filter(([t, n]) => Number.isFinite(t) && Number.isFinite(n) && t >= now - windowMs);
  if (recent.length < 2) return undefined;
  const newest = recent[0]![0];
  const oldest = recent[recent.length - 1]![0];
  if (newest <= oldest) return undefined;
  const images = recent.slice(0, -1).reduce((s, [, n]) => s + n, 0);
  return (images * 1000) / (newest - oldest);
}

/** A queue of images on Redis, for the commands that feed it and read it. */
export class ImageQueue {
  readonly target: RedisTarget;
  readonly name: string;
  readonly keys: QueueKeys;
  private readonly redis: Redis;
  private readonly bull: Queue;

  private constructor(target: RedisTarget, name: string, prefix: string, redis: Redis, QueueClass: typeof Queue) {
    this.target = target;
    this.name = name;
    this.keys = queueKeys(name, prefix);
    this.redis = redis;
    this.bull = new QueueClass(name, { connection: redis, prefix });
    this.bull.on('error', () => {});
  }

  /** Connect (failing fast with E_NETWORK when Redis cannot be reached). */
  static async open(options: QueueTargetOptions): Promise<ImageQueue> {
    const target = parseRedisUrl(options.redis);
    const name = checkQueueName(options.queue);
    const { Queue } = await import('bullmq');
    const redis = await connectRedis(target, { role: 'command' });
    try {
      await whenReady(redis, target);
    } catch (err) {
      redis.disconnect();
      throw err;
    }
    return new ImageQueue(target, name, options.prefix ?? DEFAULT_PREFIX, redis, Queue);
  }

  private wrap(err: unknown): never {
    if (err instanceof PplcnetError || err instanceof TypeError || err instanceof RangeError) throw err;
    throw new PplcnetError('E_NETWORK', `Redis at ${this.target.display}: ${redactSecret((err as Error).message, this.target)}`, { cause: err });
  }

  /**
   * Enqueue images (paths every worker can read; made absolute here, each file once by its real path) in jobs
   * of `jobSize`, after checking the model (unless `checkModel: false`). Jobs whose id (files + model + top-k)
   * was added before are skipped unless `again`.
   */
  async add(files: readonly string[], options: AddOptions): Promise<AddReport> {
    if (!options || typeof options.model !== 'string' || options.model === '') throw invalidOption('model', 'a zoo name or a model path', options?.model, 'type');
    const jobSize = positive('jobSize', options.jobSize, 64);
    const attempts = positive('attempts', options.attempts, 3);
    const backoffMs = options.backoffMs ?? 5000;
    if (!Number.isInteger(backoffMs) || backoffMs < 0) throw invalidOption('backoffMs', 'a non-negative integer', backoffMs);
    if (options.topk !== undefined) positive('topk', options.topk, 1);
    if (!Array.isArray(files) || files.some((f) => typeof f !== 'string' || f === '')) {
      throw invalidOption('files', 'an array of image paths (non-empty strings)', Array.isArray(files) ? files.find((f) => typeof f !== 'string' || f === '') : files, 'type');
    }
    if (options.checkModel !== false) await checkModelArgument(options.model);
    const { files: absolute, duplicates, missing } = await dedupeByRealPath(files);
    const again = options.again ? `${Date.now().toString(36)}${randomBytes(3).toString('hex')}` : undefined;
    const jobs: { id: string; data: ImageJobData }[] = [];
    for (let i = 0; i < absolute.length; i += jobSize) {
      const data: ImageJobData = { files: absolute.slice(i, i + jobSize), model: options.model, ...(options.topk ? { topk: options.topk } : {}) };
      jobs.push({ id: jobId(data, again), data });
    }
    let addedJobs = 0;
    let addedImages = 0;
    try {
      for (let c = 0; c < jobs.length; c += 500) {
        const chunk = jobs.slice(c, c + 500);
        const known = (await this.redis.smismember(this.keys.added, ...chunk.map((j) => j.id))) as number[];
        const fresh = chunk.filter((_, k) => known[k] !== 1);
        if (fresh.length === 0) continue;
        await this.bull.addBulk(
          fresh.map((j) => ({
            name: 'classify',
            data: j.data,
            opts: { jobId: j.id, attempts, backoff: { type: 'exponential', delay: backoffMs }, removeOnComplete: true, removeOnFail: false },
          })),
        );
        // count each job once, even when two `queue add` runs race
        const multi = this.redis.multi();
        for (const j of fresh) multi.sadd(this.keys.added, j.id);
        const replies = (await multi.exec()) ?? [];
        let images = 0;
        fresh.forEach((j, k) => {
          if (replies[k]?.[1] === 1) {
            addedJobs++;
            images += j.data.files.length;
          }
        });
        addedImages += images;
        if (images > 0) await this.redis.hincrby(this.keys.meta, 'images', images);
      }
    } catch (err) {
      this.wrap(err);
    }
    return { images: absolute.length, jobs: jobs.length, addedJobs, addedImages, duplicates: duplicates.length, duplicateExamples: duplicates.slice(0, 5), missing };
  }

  async status(now = Date.now()): Promise<QueueStatus> {
    try {
      const [counts, meta, stored, samples] = await Promise.all([
        this.bull.getJobCounts('waiting', 'active', 'delayed', 'failed', 'prioritized', 'waiting-children'),
        this.redis.hgetall(this.keys.meta),
        this.redis.hlen(this.keys.results),
        this.redis.lrange(this.keys.rate, 0, -1),
      ]);
      const sizeOf = (jobs: { data?: ImageJobData }[]): number => jobs.reduce((s, j) => s + (j?.data?.files?.length ?? 0), 0);
      const active = sizeOf(await this.bull.getJobs(['active'], 0, 999));
      const failedJobs = await this.bull.getJobs(['failed'], 0, 9999);
      let failed = sizeOf(failedJobs);
      if ((counts.failed ?? 0) > failedJobs.length && failedJobs.length > 0) failed = Math.round((failed / failedJobs.length) * counts.failed!);
      const failedReasons = [...new Set(failedJobs.map((j) => redactSecret(j.failedReason ?? '', this.target)).filter((r) => r))].slice(0, 5);
      const images = Number(meta.images ?? 0);
      const done = Number(meta.done ?? 0);
      const waiting = Math.max(0, images - done - active - failed);
      const imagesPerSecond = recentRate(samples, now);
      let workers: number | undefined;
      try {
        // one entry per connection; a worker process has two (commands, blocking), both with its name
        const clients = await this.bull.getWorkers();
        workers = clients.some((c) => /does not support/.test(String(c.name))) ? undefined : new Set(clients.map((c) => c.name)).size;
      } catch {
        workers = undefined;
      }
      return {
        queue: this.name,
        redis: this.target.display,
        images,
        waiting,
        active,
        done,
        errors: Number(meta.errors ?? 0),
        failed,
        stored,
        jobs: {
          waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
          active: counts.active ?? 0,
          delayed: counts.delayed ?? 0,
          failed: counts.failed ?? 0,
        },
        imagesPerSecond,
        etaSeconds: imagesPerSecond && waiting + active > 0 ? (waiting + active) / imagesPerSecond : undefined,
        failedReasons,
        workers,
      };
    } catch (err) {
      this.wrap(err);
    }
  }

  /**
   * Every stored row once, as one line of JSON text, to `write` (in no particular order). Each value is parsed
   * and must be a row whose `file` is its key; it is written re-serialized, and any other entry is counted in
   * `bad` instead. With `deleteRows`, the rows written are removed from Redis afterwards (only after
   * `afterWrite` resolved, e.g. the file's rename); bad entries stay.
   */
  async exportResults(write: (line: string) => void | Promise<void>, options: { deleteRows?: boolean; afterWrite?: () => Promise<void> } = {}): Promise<ExportReport> {
    const seen = new Set<string>();
    const written: string[] = [];
    const badRows: BadRow[] = [];
    let bad = 0;
    let rows = 0;
    let errors = 0;
    let deleted = 0;
    try {
      let cursor = '0';
      do {
        const [next, flat] = await this.redis.hscan(this.keys.results, cursor, 'COUNT', 1000);
        cursor = next;
        for (let i = 0; i < flat.length; i += 2) {
          const file = flat[i]!;
          if (seen.has(file)) continue; // HSCAN may return an entry twice when the hash grows meanwhile
          seen.add(file);
          const checked = checkStoredRow(file, flat[i + 1]!);
          if ('problem' in checked) {
            if (bad++ < 10) badRows.push({ key: file, problem: checked.problem });
            continue;
          }
          if (checked.error) errors++;
          rows++;
          written.push(file);
          await write(checked.line);
        }
      } while (cursor !== '0');
      await options.afterWrite?.();
      if (options.deleteRows) {
        let batch: string[] = [];
        for (const file of written) {
          batch.push(file);
          if (batch.length === 1000) {
            deleted += await this.redis.hdel(this.keys.results, ...batch);
            batch = [];
          }
        }
        if (batch.length) deleted += await this.redis.hdel(this.keys.results, ...batch);
      }
    } catch (err) {
      this.wrap(err);
    }
    return { rows, errors, deleted, bad, badRows };
  }

  /** Export to a file atomically: written to a temporary file beside it, renamed when complete. */
  async exportResultsToFile(path: string, options: { deleteRows?: boolean } = {}): Promise<ExportReport> {
    await mkdir(dirname(resolve(path)), { recursive: true });
    const tmp = `${path}.tmp.${process.pid}.${randomBytes(4).toString('hex')}`;
    const out = createWriteStream(tmp, { flags: 'wx' });
    const failed = new Promise<never>((_, reject) => out.once('error', reject));
    failed.catch(() => {});
    const write = async (line: string): Promise<void> => {
      if (!out.write(`${line}\n`)) await Promise.race([new Promise<void>((r) => out.once('drain', () => r())), failed]);
    };
    try {
      return await this.exportResults(write, {
        ...options,
        afterWrite: async () => {
          await Promise.race([new Promise<void>((r, j) => out.end((err?: Error | null) => (err ? j(err) : r()))), failed]);
          await rename(tmp, path);
        },
      });
    } catch (err) {
      out.destroy();
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /** Move every failed job back to waiting; returns how many there were. */
  async retry(): Promise<{ jobs: number; images: number }> {
    try {
      const failedJobs = await this.bull.getJobs(['failed'], 0, -1);
      const images = failedJobs.reduce((s, j) => s + ((j?.data as ImageJobData | undefined)?.files?.length ?? 0), 0);
      await this.bull.retryJobs({ state: 'failed', count: 1000 });
      return { jobs: failedJobs.length, images };
    } catch (err) {
      this.wrap(err);
    }
  }

  async close(): Promise<void> {
    await this.bull.close().catch(() => {});
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
