/**
 * A preprocessing worker thread: decode, resize + crop and normalize one image per message, off the main
 * thread (which onnxruntime blocks while it runs a batch). Two images are in hand at a time (see
 * `IMAGES_IN_HAND` in pool.ts): an image's decode and preprocess times are wall times that may overlap the
 * other one's; the time it waited before either began is reported apart (`startedAt`). Files named by path
 * are read here, not copied over from the main thread. @internal
 */
import { parentPort, workerData } from 'node:worker_threads';
import sharp from './sharp.js';
import type { Preprocess } from '../metadata.js';
import type { DecodeOptions } from './limits.js';
import { preprocess } from './preprocess.js';
import { type CLOSE_MESSAGE, isCloseMessage } from '../util/threads.js';

export interface PrepareRequest {
  id: number;
  input: string | Uint8Array;
  name: string;
  preprocess: Preprocess;
  /** The pixel limit and the decode mode ([MAX_PIXELS], [exact]). */
  options?: Pick<DecodeOptions, 'maxPixels' | 'decode'>;
}

export type PrepareReply =
  | { id: number; ok: true; data: Float32Array; width: number; height: number; decodeMs: number; preprocessMs: number; startedAt: number; warnings?: readonly string[] }
  | { id: number; ok: false; code: string; message: string };

/** A clock shared by every thread of the process (ms). */
export const now = (): number => performance.timeOrigin + performance.now();

// One libvips thread per worker: the pool's size is the number of cores preprocessing may use.
sharp.concurrency(1);

async function handle(req: PrepareRequest): Promise<void> {
  const startedAt = now();
  try {
    const r = await preprocess(req.input, req.preprocess, req.name, req.options);
    const reply: PrepareReply = { id: req.id, ok: true, ...r, startedAt };
    parentPort!.postMessage(reply, [r.data.buffer as ArrayBuffer]); // a fresh Float32Array: its own ArrayBuffer
  } catch (err) {
    const e = err as { code?: string; message?: string };
    parentPort!.postMessage({ id: req.id, ok: false, code: e.code ?? 'E_IMAGE', message: e.message ?? String(err) } satisfies PrepareReply);
  }
}

/** Images in hand at once (the pool's `IMAGES_IN_HAND` in pool.ts); the rest wait, in order. */
const inHandMax = (workerData as { inHand?: number } | null)?.inHand ?? 1;

const waiting: PrepareRequest[] = [];
let inHand = 0;
/** Asked to stop: what waits is dropped, what is in hand finishes, then the thread leaves. */
let closing = false;

function pump(): void {
  if (closing) {
    if (inHand === 0) parentPort?.close(); // nothing left: the thread's event loop ends
    return;
  }
  while (inHand < inHandMax && waiting.length > 0) {
    inHand++;
    void handle(waiting.shift()!).finally(() => {
      inHand--;
      pump();
    });
  }
}

parentPort?.on('message', (msg: PrepareRequest | typeof CLOSE_MESSAGE) => {
  if (isCloseMessage(msg)) {
    closing = true;
    waiting.length = 0;
  } else waiting.push(msg);
  pump();
});

// loaded: the pool hands this thread images from now on
parentPort?.postMessage({ ready: true });
