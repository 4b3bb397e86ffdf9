/**
 * A preprocessing worker thread: decode, resize + crop and normalize one image per message, off the main
 * thread (which onnxruntime blocks while it runs a batch). @internal
 */
import { parentPort } from 'node:worker_threads';
import type { Preprocess } from '../metadata.js';
import { decodeImage } from './decode.js';
import { normalizeInto, resizeAndCrop } from './preprocess.js';

export interface PrepareRequest {
  id: number;
  input: string | Uint8Array;
  name: string;
  preprocess: Preprocess;
}

export type PrepareReply =
  | { id: number; ok: true; data: Float32Array; width: number; height: number; decodeMs: number; preprocessMs: number }
  | { id: number; ok: false; code: string; message: string };

parentPort?.on('message', async (req: PrepareRequest) => {
  try {
    const t0 = performance.now();
    const img = await decodeImage(req.input, req.name);
    const t1 = performance.now();
    const out = resizeAndCrop(img, req.preprocess, req.name);
    const data = new Float32Array(3 * out.width * out.height);
    normalizeInto(out, req.preprocess, data);
    const reply: PrepareReply = { id: req.id, ok: true, data, width: out.width, height: out.height, decodeMs: t1 - t0, preprocessMs: performance.now() - t1 };
    parentPort!.postMessage(reply, [data.buffer]);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    parentPort!.postMessage({ id: req.id, ok: false, code: e.code ?? 'E_IMAGE', message: e.message ?? String(err) } satisfies PrepareReply);
  }
});
