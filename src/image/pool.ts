/** A pool of preprocessing worker threads, for folders of images: the main thread keeps onnxruntime busy. */
import { Worker } from 'node:worker_threads';
import { type ErrorCode, PplcnetError } from '../errors.js';
import type { Preprocess } from '../metadata.js';
import type { PreparedImage } from './preprocess.js';
import type { PrepareReply, PrepareRequest } from './worker.js';

export class PreprocessPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (v: PreparedImage) => void; reject: (e: Error) => void }>();
  private readonly load: number[] = [];
  private nextId = 0;

  constructor(readonly size: number) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./worker.js', import.meta.url));
      w.unref();
      w.on('message', (r: PrepareReply) => {
        const p = this.pending.get(r.id);
        if (!p) return;
        this.pending.delete(r.id);
        this.load[i]!--;
        if (r.ok) p.resolve(r);
        else p.reject(new PplcnetError(r.code as ErrorCode, r.message));
      });
      w.on('error', (err) => {
        for (const p of this.pending.values()) p.reject(new PplcnetError('E_IMAGE', `preprocessing worker failed: ${err.message}`));
        this.pending.clear();
      });
      this.workers.push(w);
      this.load.push(0);
    }
  }

  /** Decode, resize, crop and normalize one image in the least busy worker. */
  prepare(input: string | Uint8Array, name: string, preprocess: Preprocess, maxPixels?: number): Promise<PreparedImage> {
    let best = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.load[i]! < this.load[best]!) best = i;
    const id = this.nextId++;
    this.load[best]!++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[best]!.postMessage({ id, input, name, preprocess, ...(maxPixels === undefined ? {} : { maxPixels }) } satisfies PrepareRequest);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
