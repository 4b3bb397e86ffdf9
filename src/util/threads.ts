/**
 * Stopping a worker thread that may be inside native code (a sharp decode, an onnxruntime run): it is asked
 * to finish what it holds and leave, and terminated only if it has not within `graceMs`. Terminating such a
 * thread at once can abort the whole process (a native callback into an environment that is gone).
 */
import type { Worker } from 'node:worker_threads';

/** The message a pplcnet worker thread reads as "finish and exit". */
export const CLOSE_MESSAGE = Object.freeze({ close: true } as const);

export function isCloseMessage(m: unknown): m is typeof CLOSE_MESSAGE {
  return typeof m === 'object' && m !== null && (m as { close?: unknown }).close === true;
}

export async function stopWorker(w: Worker, graceMs = 30_000): Promise<void> {
  if (w.threadId === -1) return; // already gone
  const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
  w.ref(); // an idle pool's workers are unreferenced: keep the process until this one is gone
  w.postMessage(CLOSE_MESSAGE);
  const timer = setTimeout(() => void w.terminate(), graceMs);
  timer.unref();
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
