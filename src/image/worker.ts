/**
 * A preprocessing worker thread: decode, resize + crop and normalize one image per message, off the main
 * thread (which onnxruntime blocks while it runs a batch). @internal
 */
import { parentPort } from 'node:worker_threads';
import type { Preprocess } from '../metadata.js';
import { preprocess } from './preprocess.js';

export interface PrepareRequest {
  id: number;
  input: string | Uint8Array;
  name: string;
  preprocess: Preprocess;
  maxPixels?: number;
}

export type PrepareReply =
  | { id: number; ok: true; data: Float32Array; width: number; height: number; decodeMs: number; preprocessMs: number }
  | { id: number; ok: false; code: string; message: string };

parentPort?.on('message', async (req: PrepareRequest) => {
  try {
    const r = await preprocess(req.input, req.preprocess, req.name, req.maxPixels === undefined ? undefined : { maxPixels: req.maxPixels });
    const reply: PrepareReply = { id: req.id, ok: true, ...r };
    parentPort!.postMessage(reply, [r.data.buffer as ArrayBuffer]); // a fresh Float32Array: its own ArrayBuffer
  } catch (err) {
    const e = err as { code?: string; message?: string };
    parentPort!.postMessage({ id: req.id, ok: false, code: e.code ?? 'E_IMAGE', message: e.message ?? String(err) } satisfies PrepareReply);
  }
});
