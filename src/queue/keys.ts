/** Names shared by the producer and the worker: Redis keys next to BullMQ's, job ids, job data. */
import { createHash } from 'node:crypto';
import { PplcnetError } from '../index.js';

/** BullMQ's default key prefix; every key of queue `q` starts with `bull:q:`. */
export const DEFAULT_PREFIX = 'bull';

/** What one job carries: the images (absolute paths) and how to classify them. */
export interface ImageJobData {
  readonly files: readonly string[];
  readonly model: string;
  readonly topk?: number;
}

export interface QueueKeys {
  /** Hash: image path → JSON result row (`predict --json`'s) or error row. */
  readonly results: string;
  /** Set: ids of jobs ever added (so adding the same inputs again enqueues nothing). */
  readonly added: string;
  /** Set: ids of jobs whose results were stored (so a retried job is counted once). */
  readonly stored: string;
  /** Hash: counters `images` (added), `done`, `errors`, `jobs`. */
  readonly meta: string;
  /** List: `<ms>:<images>` per stored job, newest first, the last 1000 (for img/s). */
  readonly rate: string;
}

export function checkQueueName(name: string): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9._-]{1,100}$/.test(name)) {
    throw new PplcnetError('E_NETWORK', `queue name ${JSON.stringify(name)} is not allowed: use 1 to 100 letters, digits, '.', '_' or '-'`);
  }
  return name;
}

export function queueKeys(queue: string, prefix = DEFAULT_PREFIX): QueueKeys {
  const base = `${prefix}:${checkQueueName(queue)}:pplcnet`;
  return { results: `${base}:results`, added: `${base}:added`, stored: `${base}:stored`, meta: `${base}:meta`, rate: `${base}:rate` };
}

/** The job id for a job's content: the same files, model and top-k give the same id. */
export function jobId(data: ImageJobData, again?: string): string {
  const h = createHash('sha256');
  h.update(`${data.model}\0${data.topk ?? ''}\0`);
  for (const f of data.files) h.update(`${f}\0`);
  return `j${h.digest('hex').slice(0, 24)}${again ? `-${again}` : ''}`;
}

/** Rows per HSET when a job's rows are stored (a job may hold any number of images). */
export const ROWS_PER_COMMAND = 1000;

/**
 * Counts a stored job once: only the first time this job id is stored, add its images to `done`/`errors`
 * and a rate sample. The rows themselves are written by HSET commands of at most {@link ROWS_PER_COMMAND}
 * rows in the same MULTI transaction (a retry overwrites them, never adds).
 * KEYS: stored, meta, rate. ARGV: job id, images, errors, now (ms).
 */
export const COUNT_STORED_JOB_LUA = `
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[2], 'done', ARGV[2])
  redis.call('HINCRBY', KEYS[2], 'errors', ARGV[3])
  redis.call('LPUSH', KEYS[3], ARGV[4] .. ':' .. ARGV[2])
  redis.call('LTRIM', KEYS[3], 0, 999)
  return 1
end
return 0
`;

/** What a plural word needs: `1 image`, `2 images`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
