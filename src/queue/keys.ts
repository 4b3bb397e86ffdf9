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

/**
 * Stores one job's rows and counts the job once: HSET each image's row (a retry overwrites, never adds),
 * then, only the first time this job id is stored, add its images to `done`/`errors` and a rate sample.
 * KEYS: results, stored, meta, rate. ARGV: job id, images, errors, now (ms), then field/value pairs.
 */
export const STORE_RESULTS_LUA = `
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[3], 'done', ARGV[2])
  redis.call('HINCRBY', KEYS[3], 'errors', ARGV[3])
  redis.call('LPUSH', KEYS[4], ARGV[4] .. ':' .. ARGV[2])
  redis.call('LTRIM', KEYS[4], 0, 999)
  return 1
end
return 0
`;
