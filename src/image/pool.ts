/**
 * A pool of preprocessing worker threads, for folders of images: the main thread keeps onnxruntime busy.
 * Idle workers never hold the process open: they are referenced only while requests are pending.
 */
import type { Worker } from 'node:worker_threads';
import { type ErrorCode, PplcnetError } from '../errors.js';
import type { Preprocess } from '../metadata.js';
import type { PreparedImage } from './preprocess.js';
import type { PrepareReply, PrepareRequest } from './worker.js';
import { refWorkers, spawnWorker, stopWorker } from '../util/threads.js';

/** A clock shared by every thread of the process (ms); the same as the worker's. */
const now = (): number => performance.timeOrigin + performance.now();

/**
 * Images a worker thread prepares at once: two, so that one image's decode (in libvips, off the worker's
 * JavaScript thread) overlaps the other's resize and normalize. With one at a time a core sat idle for about
 * a third of a folder run (`bench/folder-limit.ts`); more would only hold more decoded images in memory.
 */
export const IMAGES_IN_HAND = 2;

/** A worker thread, and when it is ready: its modules loaded (it says so), or it failed or exited. */
interface Spawned {
  readonly worker: Worker;
  readonly ready: Promise<void>;
}

function spawnPreprocessWorker(): Spawned {
  const worker = spawnWorker(new URL('./worker.js', import.meta.url), { inHand: IMAGES_IN_HAND });
  const ready = new Promise<void>((resolve) => {
    const onMessage = (m: unknown): void => {
      if (typeof m === 'object' && m !== null && 'ready' in m) done();
    };
    const done = (): void => {
      worker.off('message', onMessage);
      resolve();
    };
    worker.on('message', onMessage);
    worker.on('error', done);
    worker.once('exit', done);
  });
  return { worker, ready };
}

export class PreprocessPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (v: PreparedImage) => void; reject: (e: Error) => void; postedAt: number; worker: number }>();
  private readonly load: number[] = [];
  /** Whether each worker has loaded (or is gone): until then it stays referenced. */
  private readonly loaded: boolean[] = [];
  /** Why each worker died (undefined while it lives); a dead worker gets no more requests. */
  private readonly dead: (string | undefined)[] = [];
  private nextId = 0;
  private closing = false;
  /**
   * Resolves when every worker has loaded its modules (or died): until then a request would wait in a
   * worker that cannot start it, while the caller's thread could prepare the image itself.
   */
  readonly ready: Promise<void>;

  constructor(readonly size: number) {
    const readiness: Promise<void>[] = [];
    for (let i = 0; i < size; i++) {
      const { worker: w, ready } = spawnPreprocessWorker();
      readiness.push(ready);
      w.on('message', (r: PrepareReply | { ready: true }) => {
        if ('ready' in r) return;
        const p = this.pending.get(r.id);
        if (!p) return;
        this.pending.delete(r.id);
        this.load[i]!--;
        if (this.pending.size === 0) this.setRef(false);
        if (r.ok) {
          const { data, width, height, decodeMs, preprocessMs, warnings } = r;
          p.resolve({ data, width, height, decodeMs, preprocessMs, queueMs: Math.max(0, r.startedAt - p.postedAt), ...(warnings ? { warnings } : {}) });
        }
        else p.reject(new PplcnetError(r.code as ErrorCode, r.message));
      });
      w.on('error', (err) => this.died(i, `failed: ${err.message}`));
      w.on('exit', (code) => {
        if (!this.closing) this.died(i, `exited (code ${code})`);
      });
      // referenced while it loads (a stream waits for it); after that only while requests are pending
      void ready.then(() => {
        this.loaded[i] = true;
        if (this.pending.size === 0) this.setRef(false);
      });
      this.workers.push(w);
      this.load.push(0);
    }
    this.ready = Promise.all(readiness).then(() => undefined);
  }

  /** Worker `i` is gone: its images fail (the other workers' carry on), and it gets no more. */
  private died(i: number, why: string): void {
    if (this.dead[i] !== undefined) return;
    this.dead[i] = why;
    for (const [id, p] of this.pending) {
      if (p.worker !== i) continue;
      this.pending.delete(id);
      p.reject(new PplcnetError('E_IMAGE', `preprocessing worker ${why}`));
    }
    this.load[i] = 0;
    if (this.pending.size === 0) this.setRef(false);
  }

  /** Keep the process alive while work is pending or a worker is still loading, and only then. */
  private setRef(on: boolean): void {
    // closing: stopWorker holds each thread until it exits; a reply that empties the queue must not let go of
    // it (the process would end while close() still waits for the exit)
    if (!on && this.closing) return;
    refWorkers(on ? this.workers : this.workers.filter((_, i) => this.loaded[i]), on);
  }

  /**
   * Decode, resize, crop and normalize one image in the least busy worker. A path is read by the worker.
   * Bytes are moved, not cloned: with `transfer`, a Uint8Array spanning its whole ArrayBuffer is handed over
   * (detached here); otherwise only its own bytes are copied (a clone would copy the whole ArrayBuffer
   * behind a view, e.g. Node's 8 KB Buffer pool).
   */
  prepare(input: string | Uint8Array, name: string, preprocess: Preprocess, options?: PrepareRequest['options'], transfer = false): Promise<PreparedImage> {
    let best = -1;
    for (let i = 0; i < this.workers.length; i++) if (this.dead[i] === undefined && (best < 0 || this.load[i]! < this.load[best]!)) best = i;
    if (best < 0) return Promise.reject(new PplcnetError('E_IMAGE', `preprocessing workers failed: ${this.dead[0]}`));
    const id = this.nextId++;
    this.load[best]!++;
    if (this.pending.size === 0) this.setRef(true);
    let message: string | Uint8Array = input;
    const transferList: ArrayBuffer[] = [];
    if (typeof input !== 'string') {
      const whole = input.byteOffset === 0 && input.byteLength === input.buffer.byteLength && input.buffer instanceof ArrayBuffer;
      message = transfer && whole ? input : new Uint8Array(input); // a copy of the view only (Buffer#slice would not copy)
      transferList.push(message.buffer as ArrayBuffer);
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, postedAt: now(), worker: best });
      this.workers[best]!.postMessage({ id, input: message, name, preprocess, ...(options ? { options } : {}) } satisfies PrepareRequest, transferList);
    });
  }

  /** Let each worker finish the images in its hands, then stop it (see stopWorker); the rest fail. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => stopWorker(w)));
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(new PplcnetError('E_CLOSED', 'the classifier was closed before this image was prepared'));
    }
  }
}
