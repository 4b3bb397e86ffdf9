/**
 * The pool of inference lanes (see lane.ts): batches go to the lane with the fewest outstanding, results
 * come back per batch. Lanes are referenced only while they hold work, like the preprocessing pool.
 */
import type { Worker } from 'node:worker_threads';
import { type ErrorCode, PplcnetError } from '../errors.js';
import type { ImageInput } from '../image/decode.js';
import { refWorkers, spawnWorker, stopWorker } from '../util/threads.js';
import type { LaneData, LaneReply, LaneRequest, LaneRow } from './lane.js';
import type { Classification, PreparedInput } from './types.js';

/** A batch of `n` rows, each the same error. */
const failedRows = (n: number, code: ErrorCode, message: string): PplcnetError[] => Array.from({ length: n }, () => new PplcnetError(code, message));

export class LanePool {
  private readonly lanes: Worker[] = [];
  private readonly outstanding: number[] = [];
  private readonly pending = new Map<number, { size: number; resolve: (rows: (Classification | PplcnetError)[]) => void }>();
  private failed: string | undefined;
  private readyCount = 0;
  private nextId = 0;
  private closing = false;

  constructor(readonly size: number, data: LaneData) {
    for (let i = 0; i < size; i++) {
      const w = spawnWorker(new URL('./lane.js', import.meta.url), data);
      w.on('message', (r: LaneReply) => {
        if ('ready' in r) return void this.readyCount++;
        if ('failed' in r) return this.fail(`the model did not load in an inference lane: ${r.failed}`);
        const p = this.pending.get(r.id);
        if (!p) return;
        this.pending.delete(r.id);
        this.outstanding[i]!--;
        if (this.pending.size === 0) this.setRef(false);
        p.resolve(r.rows.map((row: LaneRow) => ('error' in row ? new PplcnetError(row.error.code as ErrorCode, row.error.message) : row)));
      });
      w.on('error', (err) => this.fail(`an inference lane failed: ${err.message}`));
      w.on('exit', (code) => {
        if (!this.closing) this.fail(`an inference lane exited (code ${code})`);
      });
      w.unref();
      this.lanes.push(w);
      this.outstanding.push(0);
    }
  }

  /** Lanes whose model has loaded (they start on work at once). */
  get ready(): number {
    return this.readyCount;
  }

  /** Why every batch fails (a model that did not load, a thread that died); undefined while the lanes work. */
  get failure(): string | undefined {
    return this.failed;
  }

  /** Every outstanding batch fails with `why`; later ones too. */
  private fail(why: string): void {
    this.failed ??= why;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.resolve(failedRows(p.size, 'E_MODEL', why));
    }
    this.setRef(false);
  }

  private setRef(on: boolean): void {
    // closing: stopWorker holds each thread until it exits; a reply that empties the queue must not let go of
    // it (the process would end while close() still waits for the exit)
    if (!on && this.closing) return;
    refWorkers(this.lanes, on);
  }

  /** Classify one batch in the least busy lane; never rejects (failures are rows). */
  run(inputs: readonly ImageInput[]): Promise<(Classification | PplcnetError)[]> {
    return this.dispatch(inputs.length, (id) => ({ id, inputs: [...inputs] }), []);
  }

  /**
   * Run one batch of images already prepared in the least busy lane; never rejects (failures are rows, the
   * errors given in place stay in place). `transfer`: the images' tensors move to the lane without a copy
   * (each one spanning its own ArrayBuffer; they are detached afterwards), else they are copied.
   */
  async runPrepared(prepared: readonly (PreparedInput | PplcnetError)[], transfer = false): Promise<(Classification | PplcnetError)[]> {
    const images = prepared.filter((p): p is PreparedInput => !(p instanceof PplcnetError));
    if (images.length === 0) return [...prepared] as PplcnetError[];
    const moved = new Set<ArrayBuffer>();
    if (transfer) {
      for (const p of images) {
        const b = p.data.buffer;
        if (b instanceof ArrayBuffer && p.data.byteOffset === 0 && p.data.byteLength === b.byteLength) moved.add(b);
      }
    }
    const rows = await this.dispatch(images.length, (id) => ({ id, inputs: [], prepared: images }), [...moved]);
    let k = 0;
    return prepared.map((p) => (p instanceof PplcnetError ? p : rows[k++]!));
  }

  /** Hand a message of `size` images to the least busy lane; resolves with its rows. */
  private dispatch(size: number, message: (id: number) => LaneRequest, transfer: ArrayBuffer[]): Promise<(Classification | PplcnetError)[]> {
    if (this.closing) return Promise.resolve(failedRows(size, 'E_CLOSED', 'the classifier is closed'));
    if (this.failed) return Promise.resolve(failedRows(size, 'E_MODEL', this.failed));
    let best = 0;
    for (let i = 1; i < this.lanes.length; i++) if (this.outstanding[i]! < this.outstanding[best]!) best = i;
    const id = this.nextId++;
    this.outstanding[best]!++;
    if (this.pending.size === 0) this.setRef(true);
    return new Promise((resolve) => {
      this.pending.set(id, { size, resolve });
      try {
        this.lanes[best]!.postMessage(message(id), transfer);
      } catch (err) {
        // not cloneable: this batch fails, the lane goes on
        this.pending.delete(id);
        this.outstanding[best]!--;
        if (this.pending.size === 0) this.setRef(false);
        resolve(failedRows(size, 'E_MODEL', `a batch could not be handed to an inference lane: ${(err as Error).message}`));
      }
    });
  }

  /**
   * Stop the lanes: each finishes the images it is decoding and the batch it is running (see stopWorker);
   * batches still out come back as E_CLOSED rows (a stream being read ends, not hangs).
   */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.lanes.map((w) => stopWorker(w)));
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.resolve(failedRows(p.size, 'E_CLOSED', 'the classifier was closed while this batch was running'));
    }
  }
}

/** What {@link streamLanes} needs of a pool of lanes. */
export type Lanes = Pick<LanePool, 'size' | 'ready' | 'run'>;

/** Classify one batch on the calling thread (its own session, loaded already); never rejects. */
export type BatchHere = (inputs: readonly ImageInput[]) => Promise<(Classification | PplcnetError)[]>;

/**
 * Yield each batch's results in input order, keeping `window` batches handed out (two per lane: a lane
 * decodes its next batch while it runs the current one). Lanes take a moment to start (a thread, sharp,
 * onnxruntime, a session each): until one has loaded, `here` (when given) runs a batch at a time on the
 * calling thread, so the stream starts at once; the batches handed to the lanes meanwhile wait in their queue.
 * `alongside`: the calling thread keeps taking a batch whenever it has none, as one more lane. At most
 * `window` batches are handed out beyond the one being read, and none is kept once yielded.
 */
export async function* streamLanes(all: readonly ImageInput[], batchSize: number, pool: Lanes, window?: number, here?: BatchHere, alongside = false): AsyncGenerator<(Classification | PplcnetError)[]> {
  const ahead = window ?? 2 * (pool.size + (here && alongside ? 1 : 0));
  const batches: (Promise<(Classification | PplcnetError)[]> | undefined)[] = [];
  const count = Math.ceil(all.length / batchSize);
  let k = 0;
  let hereRunning: Promise<unknown> | undefined;
  let stopped = false;
  const handOut = (): void => {
    while (!stopped && batches.length < Math.min(count, k + ahead)) {
      const inputs = all.slice(batches.length * batchSize, (batches.length + 1) * batchSize);
      if (here && !hereRunning && (alongside || pool.ready === 0)) {
        const running = here(inputs).finally(() => {
          hereRunning = undefined;
          handOut();
        });
        hereRunning = running;
        batches.push(running);
      } else batches.push(pool.run(inputs));
    }
  };
  try {
    for (; k < count; k++) {
      handOut();
      const rows = await batches[k]!;
      batches[k] = undefined; // yielded: the stream keeps no rows behind it
      yield rows;
    }
  } finally {
    stopped = true; // the consumer stopped (or all is done): nothing more is handed out
    await hereRunning; // a batch running here settles before the stream returns (and the classifier may close)
  }
}
