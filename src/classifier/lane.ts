/**
 * An inference lane: a worker thread with its own onnxruntime session (one intra-op thread) that takes whole
 * batches — decodes, resizes and normalizes their images, then runs them — and posts the results back.
 * Several lanes run batches side by side, each single-threaded, so the cores stay busy whatever the mix of
 * decoding and inference (onnxruntime's intra-op threads, by contrast, wait for each other inside every
 * operator, and idle when a decode holds one of their cores). The main thread only hands out batches and
 * yields results in order. A batch of images already prepared elsewhere (a server's) is only run. @internal
 */
import { parentPort, workerData } from 'node:worker_threads';
import sharp from '../image/sharp.js';
import { PplcnetError } from '../errors.js';
import type { ImageInput } from '../image/decode.js';
import type { DecodeMode } from '../image/fast-decode.js';
import type { ModelMetadata } from '../metadata.js';
import type { ResolvedModel } from '../models/resolve.js';
import type { SessionOptions } from '../runtime/providers.js';
import { limiter } from '../util/limit.js';
import { type CLOSE_MESSAGE, isCloseMessage } from '../util/threads.js';
import { classifyPrepared } from './batch.js';
import { type OutputOptions, loadModel } from './model.js';
import { Preparer, asImageError, nameOf } from './prepare.js';
import type { Classification, PreparedInput } from './types.js';

export interface LaneData {
  resolved: Pick<ResolvedModel, 'name' | 'bytes' | 'origin'>;
  metadata: ModelMetadata;
  session: Omit<SessionOptions, 'notice'>;
  output: OutputOptions;
  maxPixels: number | undefined;
  decode: DecodeMode;
  /** Images a lane prepares at once (their decoding runs in libvips, off the lane's thread). */
  inFlight: number;
}

export interface LaneRequest {
  id: number;
  inputs: ImageInput[];
  /** Images already prepared (a server's batch): run as they are, `inputs` is empty. */
  prepared?: PreparedInput[];
}

/** A result row, or an error as plain data (rebuilt as a PplcnetError by the pool). */
export type LaneRow = Classification | { error: { code: string; message: string } };

/** A batch's rows, or the model failed to load (every batch fails), or it loaded (the lane takes work now). */
export type LaneReply = { id: number; rows: LaneRow[] } | { failed: string } | { ready: true };

if (parentPort) {
  const port = parentPort;
  const d = workerData as LaneData;
  sharp.concurrency(1);
  const ready = loadModel(d.resolved as ResolvedModel, d.metadata, d.session, d.output).then((model) => ({ model, preparer: new Preparer(model.preprocess, 0, d.maxPixels, d.decode) }));
  ready.then(
    () => port.postMessage({ ready: true } satisfies LaneReply),
    (err: unknown) => port.postMessage({ failed: err instanceof Error ? err.message : String(err) } satisfies LaneReply),
  );
  // images in preparation on this thread, across batches: a batch that arrives while the previous one runs
  // starts decoding at once (its resizes wait for the run to end)
  const slot = limiter(d.inFlight);
  let runs: Promise<void> = Promise.resolve();
  // asked to stop: batches not yet run are skipped (their decodes still settle), then the session is released
  // and the thread leaves
  let closing = false;
  port.on('message', (req: LaneRequest | typeof CLOSE_MESSAGE) => {
    if (isCloseMessage(req)) {
      closing = true;
      void runs.then(async () => {
        await ready.then(({ model }) => model.release()).catch(() => undefined);
        port.close();
      });
      return;
    }
    const prepared = req.prepared ? Promise.resolve(req.prepared) : ready.then(({ preparer }) =>
      Promise.all(
        req.inputs.map(async (input): Promise<PreparedInput | PplcnetError> => {
          const release = await slot();
          try {
            return await preparer.here(input);
          } catch (err) {
            return asImageError(nameOf(input), err);
          } finally {
            release();
          }
        }),
      ),
    );
    // runs one batch at a time, in arrival order
    runs = runs.then(async () => {
      const { model } = await ready;
      const images = await prepared;
      if (closing) return;
      const rows = await classifyPrepared(model, images);
      port.postMessage({ id: req.id, rows: rows.map((r) => (r instanceof PplcnetError ? { error: { code: r.code, message: r.message } } : r)) } satisfies LaneReply);
    }).catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      const rows = (req.prepared ?? req.inputs).map(() => ({ error: { code: err instanceof PplcnetError ? err.code : 'E_MODEL', message } }));
      port.postMessage({ id: req.id, rows } satisfies LaneReply);
    });
  });
}
