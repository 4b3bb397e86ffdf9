/**
 * Streaming a folder: batches classified in order while the next two batches are being prepared (in the
 * worker threads), so onnxruntime and preprocessing overlap.
 */
import type { PplcnetError } from '../errors.js';
import type { ImageInput } from '../image/decode.js';
import type { Classification, PreparedInput } from './types.js';

export interface StreamSteps {
  /** Prepare one image; never rejects (a failure is returned as its PplcnetError). */
  prepare(input: ImageInput): Promise<PreparedInput | PplcnetError>;
  /** Classify one batch of prepared images. */
  classify(prepared: (PreparedInput | PplcnetError)[]): Promise<(Classification | PplcnetError)[]>;
}

/** Yield each batch's results, in input order, preparing up to `ahead` batches beyond the running one. */
export async function* streamBatches(all: readonly ImageInput[], batchSize: number, steps: StreamSteps, ahead = 2): AsyncGenerator<(Classification | PplcnetError)[]> {
  const batches: Promise<(PreparedInput | PplcnetError)[]>[] = [];
  const queue = (k: number): void => {
    if (k * batchSize < all.length && !batches[k]) batches[k] = Promise.all(all.slice(k * batchSize, (k + 1) * batchSize).map((i) => steps.prepare(i)));
  };
  for (let k = 0; k * batchSize < all.length; k++) {
    for (let a = 0; a <= ahead; a++) queue(k + a);
    const ready = await batches[k]!;
    delete batches[k];
    yield await steps.classify(ready);
  }
}
