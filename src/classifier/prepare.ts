/**
 * Preprocessing dispatch: one image → its [3, H, W] tensor, on this thread or in the pool of worker threads
 * (started on first need, closed with the classifier). Failures become E_IMAGE errors naming the image.
 */
import { PplcnetError } from '../errors.js';
import { type ImageInput, readImageFile } from '../image/decode.js';
import { pixelLimit } from '../image/limits.js';
import type { DecodeMode } from '../image/fast-decode.js';
import { IMAGES_IN_HAND, PreprocessPool } from '../image/pool.js';
import { preprocess as prepareImage } from '../image/preprocess.js';
import type { Preprocess } from '../metadata.js';
import { PREFETCH_LIMIT, type PreparedInput } from './types.js';

/** The name an input is reported under: its path, or `<n bytes>`. */
export const nameOf = (i: ImageInput): string => (typeof i === 'string' ? i : `<${i.length} bytes>`);

/** Any failure while preparing `name`, as an E_IMAGE PplcnetError (a PplcnetError stays as it is). */
export function asImageError(name: string, err: unknown): PplcnetError {
  return err instanceof PplcnetError ? err : new PplcnetError('E_IMAGE', `${name}: ${err instanceof Error ? err.message : String(err)}`);
}

export class Preparer {
  private pool: PreprocessPool | undefined;
  /** Images being prepared ahead (see {@link prefetch}), each taken once by the first call that asks for it. */
  private readonly ahead = new Map<ImageInput, Promise<PreparedInput>>();

  constructor(
    private readonly preprocess: Preprocess,
    private readonly workerCount: number,
    private readonly maxPixels: number | undefined,
    private readonly decode: DecodeMode = 'exact',
  ) {}

  /** Worker threads running (0 until first needed). */
  get workers(): number {
    return this.pool?.size ?? 0;
  }

  /** Resolves when the worker threads can take images (at once when there are none). */
  get workersReady(): Promise<void> {
    return this.pool?.ready ?? Promise.resolve();
  }

  /** Start the worker threads now, when the plan has any. */
  startWorkers(): void {
    if (this.workerCount > 0) this.pool ??= new PreprocessPool(this.workerCount);
  }

  /**
   * The preparing half of a stream's steps (see `streamBatches`) over `count` images in batches of
   * `batchSize`. The worker threads start when the stream is longer than a batch and has at least
   * `workersFrom` images (the plan's `streamWorkersFrom`); they take images once loaded, a batch's worth each:
   * enough to keep one busy through an onnxruntime run (measured in bench/folder-limit.ts: 2 per worker left a
   * core idle a third of the time, 8 about a tenth).
   */
  streamSteps(count: number, batchSize: number, workersFrom: number) {
    if (count > batchSize && count >= workersFrom) this.startWorkers();
    return {
      workers: this.workers,
      workersReady: this.workersReady,
      queuedPerWorker: Math.max(IMAGES_IN_HAND, batchSize),
      inWorker: (i: ImageInput) => this.anywhere(i),
      here: (i: ImageInput) => this.here(i),
    };
  }

  /** The decoding options of one image: its pixel limit (the classifier's unless given) and the decode mode. */
  private options(maxPixels = this.maxPixels): { maxPixels?: number; decode: DecodeMode } {
    return { ...(maxPixels === undefined ? {} : { maxPixels }), decode: this.decode };
  }

  /**
   * Start preparing `inputs` on this thread (up to {@link PREFETCH_LIMIT}), for calls to come: each is taken
   * by the first {@link here} or {@link anywhere} for the same input under the classifier's pixel limit.
   * Resolves once the files are read and their decoding is under way: a caller that then holds this thread
   * (creating a session) has the decoding run beside it. A file that cannot be read fails when it is taken,
   * with the error reading it gives anywhere.
   */
  async prefetch(inputs: readonly ImageInput[]): Promise<void> {
    const limit = pixelLimit(this.maxPixels === undefined ? undefined : { maxPixels: this.maxPixels });
    // each input once (a path named twice is read once), and none already prepared ahead
    const wanted = [...new Set(inputs.slice(0, PREFETCH_LIMIT))].filter((input) => !this.ahead.has(input));
    const read = await Promise.all(wanted.map((input) => (typeof input === 'string' ? readImageFile(input, input, limit).catch((err: unknown) => asImageError(input, err)) : input)));
    wanted.forEach((input, k) => {
      const bytes = read[k]!;
      const p = bytes instanceof PplcnetError ? Promise.reject(bytes) : this.prepareHere(bytes, nameOf(input), this.maxPixels);
      p.catch(() => undefined); // the failure is the row of whoever takes it
      this.ahead.set(input, p);
    });
  }

  /** The prefetched preparation of `input`, once; undefined when there is none, or its name or pixel limit differ. */
  private takeAhead(input: ImageInput, name: string, maxPixels: number | undefined): Promise<PreparedInput> | undefined {
    const p = maxPixels === this.maxPixels && name === nameOf(input) ? this.ahead.get(input) : undefined;
    if (p) this.ahead.delete(input);
    return p;
  }

  /** Prepare on this thread. `maxPixels`: this image's pixel limit, instead of the classifier's. */
  here(input: ImageInput, name = nameOf(input), maxPixels = this.maxPixels): Promise<PreparedInput> {
    return this.takeAhead(input, name, maxPixels) ?? this.prepareHere(input, name, maxPixels);
  }

  private prepareHere(input: ImageInput, name: string, maxPixels: number | undefined): Promise<PreparedInput> {
    return prepareImage(input, this.preprocess, name, this.options(maxPixels)).then(
      (r) => ({ name, ...r, queueMs: 0 }),
      (err: unknown) => {
        throw asImageError(name, err);
      },
    );
  }

  /** Prepare in a worker thread when there are any (see {@link startWorkers}), else on this thread. */
  anywhere(input: ImageInput, name = nameOf(input), transfer = false, maxPixels = this.maxPixels): Promise<PreparedInput> {
    const ahead = this.takeAhead(input, name, maxPixels);
    if (ahead) return ahead;
    if (!this.pool) return this.here(input, name, maxPixels);
    return this.pool.prepare(input, name, this.preprocess, this.options(maxPixels), transfer).then(
      (r) => ({ name, ...r }),
      (err: unknown) => {
        throw asImageError(name, err);
      },
    );
  }

  async close(): Promise<void> {
    this.ahead.clear();
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
  }
}
