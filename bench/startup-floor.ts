/**
 * The floor of a one-image `predict`, as a fresh process: Node, `import sharp`, `import onnxruntime-node`,
 * and the session `predict` creates (the same ONNX bytes, intra-op threads, no spinning, graph optimization
 * `all`, CPU provider). `bench/throughput.ts` times it beside `pplcnet predict` on one image.
 *
 *   node dist/bench/startup-floor.js MODEL.onnx THREADS
 */
import { readFile } from 'node:fs/promises';

const [path, threads] = process.argv.slice(2);
if (!path) throw new Error('usage: node dist/bench/startup-floor.js MODEL.onnx THREADS');
await import('sharp');
const { default: ort } = await import('onnxruntime-node');
const n = Number(threads ?? 0);
const session = await ort.InferenceSession.create(await readFile(path), {
  executionProviders: ['cpu'],
  ...(n > 0 ? { intraOpNumThreads: n } : {}),
  graphOptimizationLevel: 'all',
  extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
});
await session.release();
