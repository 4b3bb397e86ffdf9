/** Admission against the queue limit, and the per-request time limit. @internal */
import { setMaxListeners } from 'node:events';
import { ServeError } from './errors.js';

/** Counts images accepted and not yet answered, against the queue limit. @internal */
export class Admission {
  depth = 0;
  constructor(
    readonly limit: number,
    private readonly onChange: (depth: number) => void = () => {},
  ) {}
  take(n: number): void {
    if (this.depth + n > this.limit) {
      throw new ServeError('E_QUEUE_FULL', `the server is busy: ${this.depth} images queued, the limit is ${this.limit} (--max-queue); retry later`, { 'retry-after': '1' });
    }
    this.depth += n;
    this.onChange(this.depth);
  }
  give(n: number): void {
    this.depth -= n;
    this.onChange(this.depth);
  }
}

/** Run `work` with a time limit: on expiry the signal aborts (dropping queued items) and the answer is 504. */
export async function withTimeout<T>(ms: number, work: (signal: AbortSignal) => Promise<T>, onSettled: () => void): Promise<T> {
  const controller = new AbortController();
  // every image of the request listens to this one signal (a 64-file upload is not a leak)
  setMaxListeners(0, controller.signal);
  const p = work(controller.signal);
  p.then(onSettled, onSettled);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new ServeError('E_TIMEOUT', `the request took longer than ${ms} ms (--timeout-ms)`);
      controller.abort(err);
      reject(err);
    }, ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

