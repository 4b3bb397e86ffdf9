/**
 * Streaming a folder: batches classified in order while the next ones are prepared. Images wait in one
 * queue, in order, up to `ahead` batches beyond the running one. Each worker thread is handed
 * `queuedPerWorker` images at a time and gets the next one as soon as one is done: enough that it does not
 * run dry while onnxruntime blocks this thread (its replies, and so new work, wait until the run ends). The
 * main thread, while the batch it needs next is not ready, prepares images itself — that batch's unstarted
 * ones first, then the next batches' — with up to `hereInFlight` in flight (their decoding runs in libvips, off this thread, so
 * two keep a core busy). Between two onnxruntime runs the main thread would otherwise sit idle. So the
 * cores are shared by need: a cheap model leaves the main thread mostly preparing, an expensive one mostly
 * running inference. Worker threads still loading take nothing: until they are ready the main thread
 * prepares the first images alone.
 */
import type { PplcnetError } from '../errors.js';
import { asImageError, nameOf } from './prepare.js';
import type { ImageInput } from '../image/decode.js';
import type { Classification, PreparedInput } from './types.js';

export interface StreamSteps<R = Classification> {
  /** Worker threads available (0: everything is prepared on this thread). */
  workers: number;
  /** Resolves when the worker threads can take images; until then this thread prepares them. */
  workersReady?: Promise<unknown>;
  /** Images handed to each worker thread at once (it works on some, the rest wait in its queue). [1] */
  queuedPerWorker?: number;
  /** Images the main thread prepares at once while it waits for a batch, beside worker threads. [2] */
  hereInFlight?: number;
  /**
   * The same while no worker thread takes images (there are none, or they are still loading). [6] With
   * nothing else preparing, more decodes are kept in flight: they run in libvips on the thread pool and go on
   * while onnxruntime blocks this thread, so the cores do not idle through a batch's inference.
   */
  hereInFlightAlone?: number;
  /** Prepare one image in a worker thread; a failure (returned or thrown) becomes that image's E_IMAGE row. */
  inWorker(input: ImageInput): Promise<PreparedInput | PplcnetError>;
  /** Prepare one image on this thread; likewise. */
  here(input: ImageInput): Promise<PreparedInput | PplcnetError>;
  /** Classify one batch of prepared images. */
  classify(prepared: (PreparedInput | PplcnetError)[]): Promise<(R | PplcnetError)[]>;
}

interface Slot {
  readonly input: ImageInput;
  readonly queuedAt: number;
  started: boolean;
  done: boolean;
  result?: Promise<PreparedInput | PplcnetError>;
}

/** Add the time an image waited in the stream's queue (before a worker or the main thread took it). */
function withWait(r: PreparedInput | PplcnetError, waited: number): PreparedInput | PplcnetError {
  return 'data' in r ? { ...r, queueMs: waited + (r.queueMs ?? 0) } : r;
}

/** Yield each batch's results, in input order. */
export async function* streamBatches<R = Classification>(all: readonly ImageInput[], batchSize: number, steps: StreamSteps<R>, ahead = 2): AsyncGenerator<(R | PplcnetError)[]> {
  const slots: Slot[] = [];
  let next = 0; // the first slot no one has started
  // wakes everyone waiting for a change: a slot enqueued, started or done, or the stream closing
  let sleeping: (() => void)[] = [];
  const wakeAll = (): void => {
    const w = sleeping;
    sleeping = [];
    for (const f of w) f();
  };
  const changed = (): Promise<void> => new Promise<void>((resolve) => sleeping.push(resolve));
  const start = (s: Slot, prepare: (i: ImageInput) => Promise<PreparedInput | PplcnetError>): Promise<PreparedInput | PplcnetError> => {
    s.started = true;
    const waited = performance.now() - s.queuedAt;
    // a preparer's failure, thrown or returned, is its image's row
    const settled = (r: PreparedInput | PplcnetError): PreparedInput | PplcnetError => {
      s.done = true;
      wakeAll();
      return withWait(r, waited);
    };
    return (s.result = prepare(s.input).then(settled, (err: unknown) => settled(asImageError(nameOf(s.input), err))));
  };
  const take = (): Slot | undefined => {
    while (next < slots.length && slots[next]!.started) next++;
    return next < slots.length ? slots[next++] : undefined;
  };
  // each worker thread: `queuedPerWorker` images at a time, the next one as soon as one is done
  let closed = false;
  const feeders = Array.from({ length: steps.workers * (steps.queuedPerWorker ?? 1) }, async () => {
    await steps.workersReady;
    while (!closed) {
      const s = take();
      if (s) await start(s, steps.inWorker);
      else await changed();
    }
  });
  const enqueue = (upTo: number): void => {
    const end = Math.min(all.length, upTo);
    while (slots.length < end) slots.push({ input: all[slots.length]!, queuedAt: performance.now(), started: false, done: false });
    wakeAll();
  };
  // whether worker threads take images: none, ready (or not said), or still loading until workersReady resolves
  let workersUp = steps.workers > 0 && steps.workersReady === undefined;
  if (steps.workers > 0) void steps.workersReady?.then(() => (workersUp = true));
  const hereMax = (): number => Math.max(1, workersUp ? (steps.hereInFlight ?? 2) : (steps.hereInFlightAlone ?? 6));
  let here = 0;
  try {
    for (let k = 0; k * batchSize < all.length; k++) {
      enqueue((k + 1 + ahead) * batchSize);
      const batch = slots.slice(k * batchSize, (k + 1) * batchSize);
      // until the batch is ready: keep up to `hereMax()` images in preparation on this thread, taken in queue
      // order (so this batch's unstarted images come first)
      while (!batch.every((s) => s.done)) {
        while (here < hereMax()) {
          const s = take();
          if (!s) break;
          here++;
          void start(s, steps.here).finally(() => {
            here--;
            wakeAll();
          });
        }
        await changed();
      }
      const ready = await Promise.all(batch.map((s) => s.result!));
      // the batch's tensors are let go once it is classified: a slot keeps only its place in the queue
      for (const s of batch) delete s.result;
      yield await steps.classify(ready);
    }
  } finally {
    closed = true;
    wakeAll();
    await Promise.all(feeders);
    // images still in preparation on this thread (the consumer stopped early): let them settle
    await Promise.all(slots.filter((s) => s.started && !s.done).map((s) => s.result));
  }
}
