/**
 * Dynamic batching: items submitted close together share one run. A batch starts when `maxBatch` items
 * wait, or `maxDelayMs` after the first of them arrived, whichever comes first, and when fewer than
 * `maxRunning` batches run (one by default; one per inference lane in a server): items that arrive meanwhile
 * form the next one. Independent of HTTP and of models, so any queue consumer can reuse it.
 */

export interface BatcherOptions<T, R> {
  /** Most items per run. */
  maxBatch: number;
  /** How long the first waiting item may wait for others before its batch runs. */
  maxDelayMs: number;
  /** Most batches running at once. [1] */
  maxRunning?: number;
  /** Most items waiting (not yet running); `submit` rejects with BatcherFullError beyond. [Infinity] */
  maxQueue?: number;
  /** Run one batch; resolves to one result per item, in order (an Error in place rejects that item). */
  run(items: T[]): Promise<(R | Error)[]>;
  /** Called after each run with its size and duration. */
  onBatch?(size: number, ms: number): void;
}

/** The queue is full. */
export class BatcherFullError extends Error {
  constructor(readonly limit: number) {
    super(`the queue is full (${limit} items waiting)`);
    this.name = 'BatcherFullError';
  }
}

/** The batcher is closed and accepts no more items. */
export class BatcherClosedError extends Error {
  constructor() {
    super('the batcher is closed');
    this.name = 'BatcherClosedError';
  }
}

interface Waiting<T, R> {
  item: T;
  at: number;
  resolve(r: R): void;
  reject(e: Error): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class Batcher<T, R> {
  private readonly waiting: Waiting<T, R>[] = [];
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private idle: (() => void)[] = [];
  private readonly maxQueue: number;
  private readonly maxRunning: number;

  constructor(private readonly options: BatcherOptions<T, R>) {
    const { maxBatch, maxDelayMs } = options;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`Expected a positive integer for 'maxBatch' but received ${maxBatch}`);
    if (!(maxDelayMs >= 0)) throw new RangeError(`Expected a non-negative number for 'maxDelayMs' but received ${maxDelayMs}`);
    this.maxQueue = options.maxQueue ?? Infinity;
    this.maxRunning = options.maxRunning ?? 1;
    if (!Number.isInteger(this.maxRunning) || this.maxRunning < 1) throw new RangeError(`Expected a positive integer for 'maxRunning' but received ${options.maxRunning}`);
  }

  /** Items waiting for a run. */
  get pending(): number {
    return this.waiting.length;
  }

  /** Whether a batch is running now. */
  get busy(): boolean {
    return this.running > 0;
  }

  /** Batches running now. */
  get runningBatches(): number {
    return this.running;
  }

  /**
   * Queue one item; resolves with its result. An aborted `signal` removes the item if its batch has not
   * started yet (rejecting with the signal's reason); once running, the run finishes and the result is dropped.
   */
  submit(item: T, signal?: AbortSignal): Promise<R> {
    if (this.closed) return Promise.reject(new BatcherClosedError());
    if (this.waiting.length >= this.maxQueue) return Promise.reject(new BatcherFullError(this.maxQueue));
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<R>((resolve, reject) => {
      const w: Waiting<T, R> = { item, at: performance.now(), resolve, reject };
      if (signal) {
        w.signal = signal;
        w.onAbort = () => {
          const i = this.waiting.indexOf(w);
          if (i >= 0) {
            this.waiting.splice(i, 1);
            reject(signal.reason as Error);
            this.notifyIdle();
          }
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.waiting.push(w);
      this.schedule();
    });
  }

  /** Start every batch that may start now (a free slot, and a full batch or a first item waited enough); else wait. */
  private schedule(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.running < this.maxRunning && this.waiting.length > 0) {
      const wait = this.waiting[0]!.at + this.options.maxDelayMs - performance.now();
      if (this.waiting.length < this.options.maxBatch && wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.schedule();
        }, wait);
        return;
      }
      void this.runNext();
    }
  }

  private async runNext(): Promise<void> {
    if (this.running >= this.maxRunning || this.waiting.length === 0) return;
    this.running++;
    const batch = this.waiting.splice(0, this.options.maxBatch);
    for (const w of batch) if (w.onAbort) w.signal!.removeEventListener('abort', w.onAbort);
    const t0 = performance.now();
    try {
      const results = await this.options.run(batch.map((w) => w.item));
      batch.forEach((w, i) => {
        const r = results[i];
        if (r instanceof Error) w.reject(r);
        else if (i >= results.length) w.reject(new Error(`the batch run returned ${results.length} results for ${batch.length} items`));
        else w.resolve(r as R);
      });
    } catch (err) {
      for (const w of batch) w.reject(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.options.onBatch?.(batch.length, performance.now() - t0);
      this.running--;
      this.schedule();
      this.notifyIdle();
    }
  }

  private notifyIdle(): void {
    if (this.running > 0 || this.waiting.length > 0) return;
    const idle = this.idle;
    this.idle = [];
    for (const f of idle) f();
  }

  /** Accept no more items; resolves when every queued item has run. */
  close(): Promise<void> {
    this.closed = true;
    if (this.running === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }
}
