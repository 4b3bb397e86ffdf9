/**
 * Stopping a worker thread that may be inside native code (a sharp decode, an onnxruntime run): it is asked
 * to finish what it holds and leave, and terminated only if it has not within `graceMs`. Terminating such a
 * thread at once can abort the whole process (a native callback into an environment that is gone).
 */
import { Worker } from 'node:worker_threads';

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

/**
 * A worker thread running `script` with the parent's Node flags, less those that only make sense for the main
 * script (`node --input-type=module -e …` would make every worker fail at start) and V8's own, which a worker
 * may not be given (`node --max-old-space-size=4096 …` would otherwise fail every folder run).
 */
export function spawnWorker(script: URL, workerData: unknown): Worker {
  const execArgv = process.execArgv.filter((a) => !/^--(input-type|eval|print|test)/.test(a));
  try {
    return new Worker(script, { execArgv, workerData });
  } catch (err) {
    // V8's options (`--max-old-space-size`, …) hold for every thread of the process already, and a worker may
    // not be given them: Node names them in the error ("…invalid execArgv flags: --a, --b"), and they are left out
    if ((err as NodeJS.ErrnoException).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw err;
    const refused = new Set(String((err as Error).message).replace(/^[^:]*:/, '').split(',').map((f) => f.trim()));
    return new Worker(script, { execArgv: execArgv.filter((a) => !refused.has(a)), workerData });
  }
}

/** Keep the process alive for these threads (while they hold work), or not (while they are idle). */
export function refWorkers(workers: readonly Worker[], on: boolean): void {
  for (const w of workers) {
    if (on) w.ref();
    else w.unref();
  }
}
