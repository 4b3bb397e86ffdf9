/**
 * Streaming a folder: batches classified in order while the next ones are prepared. Images wait in one
 * queue, in order, up to `ahead` batches beyond the running one. Each worker thread takes the next image as
 * soon as it is free; the main thread, when the batch it needs next is not ready, takes that batch's
 * unstarted images itself (between two onnxruntime runs it would otherwise sit idle). So the cores are shared
 * by need: a cheap model leaves the main thread mostly preparing, an expensive one mostly running inference.
 */
import type { PplcnetError } from '../errors.js';
import type { ImageInput } from '../image/decode.js';
import type { Classification, PreparedInput } from './types.js';

export interface StreamSteps {
  /** Worker threads available (0: everything is prepared on this thread). */
  workers: number;
  /** Prepare one image in a worker thread; never rejects (a failure is returned as its PplcnetError). */
  inWorker(input: ImageInput): Promise<PreparedInput | PplcnetError>;
  /** Prepare one image on this thread; never rejects. */
  here(input: ImageInput): Promise<PreparedInput | PplcnetError>;
  /** Classify one batch of prepared images. */
  classify(prepared: (PreparedInput | PplcnetError)[]): Promise<(Classification | PplcnetError)[]>;
}

interface Slot {
  readonly input: ImageInput;
  readonly queuedAt: number;
  started: boolean;
  result?: Promise<PreparedInput | PplcnetError>;
}

/** Add the time an image waited in the stream's queue (before a worker or the main thread took it). */
function withWait(r: PreparedInput | PplcnetError, waited: number): PreparedInput | PplcnetError {
  return 'data' in r ? { ...r, queueMs: waited + (r.queueMs ?? 0) } : r;
}

/** Yield each batch's results, in input order. */
export async function* streamBatches(all: readonly ImageInput[], batchSize: number, steps: StreamSteps, ahead = 2): AsyncGenerator<(Classification | PplcnetError)[]> {
  const slots: Slot[] = [];
  let next = 0; // the first slot no one has started
  let sleeping: (() => void)[] = [];
  const wakeAll = (): void => {
    const w = sleeping;
    sleeping = [];
    for (const f of w) f();
  };
  const start = (s: Slot, prepare: (i: ImageInput) => Promise<PreparedInput | PplcnetError>): Promise<PreparedInput | PplcnetError> => {
    s.started = true;
    const waited = performance.now() - s.queuedAt;
    return (s.result = prepare(s.input).then((r) => withWait(r, waited)));
  };
  const take = (): Slot | undefined => {
    while (next < slots.length && slots[next]!.started) next++;
    return next < slots.length ? slots[next++] : undefined;
  };
  // each worker thread: one image at a time, the next one as soon as it is free
  let closed = false;
  const feeders = Array.from({ length: steps.workers }, async () => {
    while (!closed) {
      const s = take();
      if (s) await start(s, steps.inWorker);
      else await new Promise<void>((resolve) => sleeping.push(resolve));
    }
  });
  const enqueue = (upTo: number): void => {
    const end = Math.min(all.length, upTo);
    while (slots.length < end) slots.push({ input: all[slots.length]!, queuedAt: performance.now(), started: false });
    wakeAll();
  };
  try {
    for (let k = 0; k * batchSize < all.length; k++) {
      enqueue((k + 1 + ahead) * batchSize);
      const batch = slots.slice(k * batchSize, (k + 1) * batchSize);
      // the main thread prepares what no worker has started yet of the batch it needs now
      for (const s of batch) if (!s.started) await start(s, steps.here);
      const ready = await Promise.all(batch.map((s) => s.result!));
      yield await steps.classify(ready);
    }
  } finally {
    closed = true;
    wakeAll();
    await Promise.all(feeders);
  }
}
