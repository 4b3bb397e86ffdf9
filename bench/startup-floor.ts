/**
 * The floor of a one-image `predict`, as a fresh process: Node, sharp, onnxruntime-node, and the session
 * `predict` creates. The packages are loaded the cheapest way, through `require` (their CommonJS builds; the
 * ES module route costs about 100 ms more, see src/image/sharp.ts and src/runtime/ort.ts), as the CLI loads
 * them. The session is the CLI's: the same ONNX bytes, intra-op threads, no spinning, graph optimization
 * `all`, CPU provider. `bench/throughput.ts` times it beside `pplcnet predict` on one image.
 *
 *   node dist/bench/startup-floor.js MODEL.onnx THREADS
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type Ort from 'onnxruntime-node';

const [path, threads] = process.argv.slice(2);
if (!path) throw new Error('usage: node dist/bench/startup-floor.js MODEL.onnx THREADS');
const require = createRequire(import.meta.url);
require('sharp');
const ort: typeof Ort = require('onnxruntime-node');
const n = Number(threads ?? 0);
const session = await ort.InferenceSession.create(await readFile(path), {
  executionProviders: ['cpu'],
  ...(n > 0 ? { intraOpNumThreads: n } : {}),
  graphOptimizationLevel: 'all',
  extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
});
await session.release();
