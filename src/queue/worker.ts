/**
 * The worker side of the image queue: a BullMQ Worker whose processor classifies a job's images with
 * `createClassifier(...).classifyStream(...)` (each model loaded once per process) and stores one row per
 * image (or per bad entry of its file list) in the queue's results hash, in one transaction per job.
 */
import { hostname } from 'node:os';
import type { Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { type Classifier, type ClassifierOptions, PplcnetError, createClassifier, describe, errorRow, invalidOption, resultRow } from '../index.js';
import { type RedisTarget, connectRedis, parseRedisUrl, redactSecret, whenReady } from './connection.js';
import { COUNT_STORED_JOB_LUA, DEFAULT_PREFIX, type ImageJobData, type QueueKeys, ROWS_PER_COMMAND, checkQueueName, plural, queueKeys } from './keys.js';
import type { QueueTargetOptions } from './producer.js';

export interface ImageWorkerOptions extends QueueTargetOptions, Omit<ClassifierOptions, 'model' | 'topk' | 'onProgress' | 'notice'> {
  /** Jobs this process works on at once. [1] */
  concurrency?: number;
  /** Images per inference batch. [8] */
  batchSize?: number;
  /**
   * How long a job's lock lasts without renewal (renewed every half of it while the job runs); after a
   * worker dies, its job goes to another worker within about twice this. [30000]
   */
  lockMs?: number;
  /** Stop (resolving `done`) once no job is waiting, delayed or active. */
  untilEmpty?: boolean;
  /** First delay before reconnecting to Redis, doubled each attempt up to 30 s. [1000] */
  retryBaseMs?: number;
  /** Progress and connection messages (never holding the Redis password). */
  log?: (message: string) => void;
  /** Notices from model loading (the execution provider chosen, …). */
  notice?: (message: string) => void;
}

export interface ImageWorker {
  readonly target: RedisTarget;
  /** Resolves when the worker has stopped (after `close()`, or when the queue is empty with `untilEmpty`). */
  readonly done: Promise<void>;
  /** Jobs stored by this worker so far. */
  readonly jobsDone: number;
  /** Jobs that failed their last attempt in this worker (kept as failed until `queue retry`). */
  readonly jobsFailed: number;
  /** Finish the jobs in hand, then stop and release models and connections. */
  close(): Promise<void>;
}

function integer(name: string, v: number | undefined, dflt: number, min: number): number {
  const n = v ?? dflt;
  if (!Number.isInteger(n) || n < min) throw invalidOption(name, `an integer of at least ${min}`, n);
  return n;
}

/** A job's rows, keyed as the results hash keys them (an image's path), and how many are error rows. */
export interface JobRows {
  /** Entries of the job's file list (each has a row; an entry listed twice has one). */
  readonly images: number;
  readonly rows: Map<string, string>;
  readonly errors: number;
}

/** The key of the error row for a file-list entry that is not a path (a job made by other software). */
export function badEntryKey(jobId: string, index: number): string {
  return `job ${jobId} entry ${index}`;
}

/**
 * Classify a job's images; an entry of its file list that is not a non-empty string gets an error row of
 * its own (keyed `job <id> entry <i>`) and the other images are classified as usual.
 */
async function classifyJob(job: Job<ImageJobData>, classifier: Classifier, batchSize: number): Promise<JobRows> {
  const rows = new Map<string, string>();
  let errors = 0;
  const files: string[] = [];
  (job.data.files as readonly unknown[]).forEach((f, index) => {
    if (typeof f === 'string' && f !== '') {
      files.push(f);
      return;
    }
    const key = badEntryKey(String(job.id), index);
    const message = `${key} is ${describe(f)}, not an image path; add images with pplcnet queue add (each entry of a job's files is an absolute path)`;
    rows.set(key, JSON.stringify(errorRow(key, new PplcnetError('E_FORMAT', message))));
    errors++;
  });
  let i = 0;
  for await (const batch of classifier.classifyStream(files, { batchSize })) {
    for (const r of batch) {
      const file = files[i++]!;
      if (r instanceof Error) errors++;
      rows.set(file, JSON.stringify(r instanceof Error ? errorRow(file, r) : resultRow(r, classifier.name)));
    }
  }
  return { images: job.data.files.length, rows, errors };
}

/**
 * Store a job's rows and count the job once, in one MULTI transaction: HSETs of at most ROWS_PER_COMMAND
 * rows each (a job of any size), then the script that counts the job the first time its id is stored.
 * @internal
 */
export async function storeRows(redis: Redis, keys: QueueKeys, id: string, { images, rows, errors }: JobRows): Promise<void> {
  const multi = redis.multi();
  let chunk: string[] = [];
  for (const [file, row] of rows) {
    chunk.push(file, row);
    if (chunk.length === 2 * ROWS_PER_COMMAND) {
      multi.hset(keys.results, ...chunk);
      chunk = [];
    }
  }
  if (chunk.length) multi.hset(keys.results, ...chunk);
  multi.eval(COUNT_STORED_JOB_LUA, 3, keys.stored, keys.meta, keys.rate, id, images, errors, Date.now());
  const replies = await multi.exec();
  const failed = replies?.find(([err]) => err);
  if (!replies) throw new PplcnetError('E_NETWORK', `job ${id}: the transaction storing its rows was discarded`);
  if (failed) throw failed[0]!;
}

/**
 * The worker's log: the Redis password redacted, and a line said again within 2 s said once (the worker's two
 * connections report the same outage).
 */
function workerLog(target: RedisTarget, sink: ((message: string) => void) | undefined): (message: string) => void {
  let lastLine = '';
  let lastAt = 0;
  return (m) => {
    const line = redactSecret(m, target);
    if (line === lastLine && Date.now() - lastAt < 2000) return;
    lastLine = line;
    lastAt = Date.now();
    sink?.(line);
  };
}

/** A connection to Redis that answered within 10 s (else it is closed and the error says what to check). */
async function connectWorker(target: RedisTarget, log: (message: string) => void, retryBaseMs: number | undefined): Promise<Redis> {
  const redis: Redis = await connectRedis(target, { role: 'worker', log, ...(retryBaseMs ? { retryBaseMs } : {}) });
  redis.on('error', () => {});
  const ready = whenReady(redis, target);
  const firstContact = new Promise<void>((_, reject) => setTimeout(() => reject(new PplcnetError('E_NETWORK', `cannot reach Redis at ${target.display} within 10 s: is redis-server running there, and are --redis's host, port and password right?`)), 10_000).unref());
  try {
    await Promise.race([ready, firstContact]);
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  return redis;
}

/** The classifiers of a worker: each model (with its top-k) loaded once per process, at its first job. */
interface ModelCache {
  classifierFor(data: ImageJobData): Promise<Classifier>;
  close(): Promise<void>;
}

function modelCache(options: ImageWorkerOptions): ModelCache {
  const { redis: _r, queue: _q, prefix: _p, concurrency: _c, batchSize: _b, lockMs: _l, untilEmpty: _u, retryBaseMs: _rb, log: _log, notice, ...classifierOptions } = options;
  const models = new Map<string, Promise<Classifier>>();
  return {
    classifierFor(data) {
      const key = `${data.model}\0${data.topk ?? ''}`;
      let p = models.get(key);
      if (!p) {
        p = createClassifier({ ...classifierOptions, model: data.model, ...(data.topk ? { topk: data.topk } : {}), ...(notice ? { notice } : {}) });
        models.set(key, p);
        // a model that failed to load is tried again by the job's next attempt
        p.catch(() => models.delete(key));
      }
      return p;
    },
    async close() {
      for (const p of models.values()) await p.then((c) => c.close()).catch(() => {});
      models.clear();
    },
  };
}

/** What a worker has done so far. */
interface WorkerCounts {
  jobsDone: number;
  jobsFailed: number;
}

/** What the worker's processor needs: where rows go, the models, the batch size, the log and the counts. */
interface JobContext {
  readonly redis: Redis;
  readonly keys: QueueKeys;
  readonly models: ModelCache;
  readonly batchSize: number;
  readonly log: (message: string) => void;
  readonly counts: WorkerCounts;
}

/** One job: check its data, load its model, classify its images and store the rows. */
async function processJob(job: Job<ImageJobData>, c: JobContext): Promise<{ images: number; errors: number }> {
  const data = job.data;
  if (!data || !Array.isArray(data.files) || typeof data.model !== 'string') {
    throw new PplcnetError('E_FORMAT', `job ${job.id} is not an image job (expected {files, model})`);
  }
  const t0 = performance.now();
  let classifier: Classifier;
  try {
    classifier = await c.models.classifierFor(data);
  } catch (err) {
    throw new PplcnetError('E_MODEL', `cannot load model ${JSON.stringify(data.model)}: ${(err as Error).message}`, { cause: err });
  }
  c.log(`job ${job.id}: took ${plural(data.files.length, 'image')} (model ${classifier.name}, attempt ${job.attemptsStarted})`);
  const rows = await classifyJob(job, classifier, c.batchSize);
  await storeRows(c.redis, c.keys, String(job.id), rows);
  c.counts.jobsDone++;
  const took = ((performance.now() - t0) / 1000).toFixed(2);
  c.log(`job ${job.id}: stored ${plural(rows.rows.size, 'row')}${rows.errors ? ` (${rows.errors} unreadable)` : ''} in ${took} s`);
  return { images: rows.images, errors: rows.errors };
}

/** Says the worker's errors and failed jobs in the log, and counts the jobs that failed their last attempt. */
function logWorkerEvents(worker: Worker<ImageJobData>, log: (message: string) => void, counts: WorkerCounts): void {
  worker.on('error', (err) => {
    const message = (err as Error).message;
    if (/missing lock|renew lock|lock.*(lost|expired)/i.test(message)) log(`${message} (the job's lock expired: whichever worker holds the job now completes it; its rows are overwritten, not doubled)`);
    else log(`queue: ${message}`);
  });
  worker.on('failed', (job, err) => {
    if (!job) return;
    const max = job.opts.attempts ?? 1;
    const final = job.attemptsMade >= max;
    if (final) counts.jobsFailed++;
    log(`job ${job.id}: failed (attempt ${job.attemptsMade} of ${max}): ${err.message}${final ? '; kept as failed (`pplcnet queue retry` puts it back)' : '; will be retried'}`);
  });
}

/** The watch that closes an `untilEmpty` worker once no job is waiting, delayed or active. */
interface EmptyWatch {
  /** Stops the polling. */
  stop(): void;
  /** Closes the connection the counts were read on. */
  close(): Promise<void>;
}

/**
 * Reads the queue's job counts every min(lockMs, 2 s), and at once whenever a job ends or the queue runs
 * dry; calls `close` when they are all 0.
 */
function watchUntilEmpty(worker: Worker<ImageJobData>, newCounter: () => Queue, lockMs: number, closing: () => boolean, close: () => void): EmptyWatch {
  let poll: NodeJS.Timeout | undefined;
  let counter: Queue | undefined;
  let checking = false;
  const check = async (): Promise<void> => {
    if (checking || closing()) return;
    checking = true;
    try {
      counter ??= newCounter();
      const counts = await counter.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      if (Object.values(counts).every((n) => n === 0)) close();
    } catch {
      // Redis unreachable: keep waiting; the connection retries by itself
    } finally {
      checking = false;
    }
  };
  const tick = (): void => {
    poll = setTimeout(() => void check().then(() => closing() || tick()), Math.min(lockMs, 2000));
  };
  tick();
  worker.on('drained', () => void check());
  worker.on('completed', () => void check());
  worker.on('failed', () => void check());
  return {
    stop: () => clearTimeout(poll),
    close: async () => {
      await counter?.close().catch(() => {});
    },
  };
}

/** Start a worker on `options.queue`; it runs until `close()` (or until the queue is empty with `untilEmpty`). */
export async function startImageWorker(options: ImageWorkerOptions): Promise<ImageWorker> {
  const target = parseRedisUrl(options.redis);
  const queue = checkQueueName(options.queue);
  const concurrency = integer('concurrency', options.concurrency, 1, 1);
  const batchSize = integer('batchSize', options.batchSize, 8, 1);
  const lockMs = integer('lockMs', options.lockMs, 30_000, 200);
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const log = workerLog(target, options.log);
  const { Queue: QueueClass, Worker: WorkerClass } = await import('bullmq');
  const redis = await connectWorker(target, log, options.retryBaseMs);
  const models = modelCache(options);
  const counts: WorkerCounts = { jobsDone: 0, jobsFailed: 0 };
  const context: JobContext = { redis, keys: queueKeys(queue, prefix), models, batchSize, log, counts };
  const worker = new WorkerClass<ImageJobData>(queue, (job) => processJob(job, context), {
    connection: redis,
    prefix,
    concurrency,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    maxStalledCount: 5,
    removeOnComplete: { count: 0 },
    name: `pplcnet@${hostname()}:${process.pid}`,
    autorun: false,
  });
  logWorkerEvents(worker, log, counts);

  let watch: EmptyWatch | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closing ??= (async () => {
      watch?.stop();
      await worker.close();
      await watch?.close();
      await models.close();
      await redis.quit().catch(() => redis.disconnect());
    })());
  const running = worker.run().catch((err: unknown) => log(`worker stopped: ${(err as Error).message}`));
  if (options.untilEmpty) {
    const newCounter = (): Queue => new QueueClass(queue, { connection: redis, prefix }).on('error', () => {});
    watch = watchUntilEmpty(worker, newCounter, lockMs, () => closing !== undefined, () => void close());
  }
  const done = (async () => {
    await running;
    await close();
    watch?.stop();
  })();
  return {
    target,
    done,
    get jobsDone() {
      return counts.jobsDone;
    },
    get jobsFailed() {
      return counts.jobsFailed;
    },
    async close() {
      watch?.stop();
      await close();
      await done;
    },
  };
}
