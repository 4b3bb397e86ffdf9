/**
 * Which onnxruntime settings suit PP-LCNet: graph optimization levels (latency and session-create time),
 * and whether loading onnxruntime's saved optimized model shortens session start.
 *
 *   node dist/bench/session-options.js [--scale 1.0] [--threads 2] [--runs 100]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveArchitecture } from '../src/builder/architecture.js';
import { buildPPLCNet } from '../src/builder/pplcnet.js';
import { percentile, timeRuns } from '../src/runtime/bench.js';
import { GRAPH_OPT_LEVELS, createSession, ort } from '../src/runtime/session.js';
import type * as Ort from 'onnxruntime-node';
import { benchWeights } from './paddle2onnx-style.js';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { scale: { type: 'string', default: '1.0' }, threads: { type: 'string', default: '2' }, runs: { type: 'string', default: '100' } } });
  const arch = resolveArchitecture({ scale: Number(values.scale) });
  const bytes = buildPPLCNet(arch, { weights: benchWeights(arch) }).bytes;
  const threads = Number(values.threads);
  const x = { image: new ort.Tensor('float32', new Float32Array(3 * 224 * 224).map((_, i) => Math.sin(i)), [1, 3, 224, 224]) };
  const create = async (opts: Parameters<typeof createSession>[1], model: string | Uint8Array = bytes) => {
    const times: number[] = [];
    let session!: Ort.InferenceSession;
    for (let i = 0; i < 7; i++) {
      const t0 = performance.now();
      session = (await createSession(model, { ep: 'cpu', threads, ...opts })).session;
      times.push(performance.now() - t0);
      if (i < 6) await session.release();
    }
    return { session, createMs: percentile(times.sort((a, b) => a - b), 50) };
  };
  for (const level of GRAPH_OPT_LEVELS) {
    const { session, createMs } = await create({ graphOpt: level });
    const t = await timeRuns(session, x, Number(values.runs), 10);
    await session.release();
    console.log(`graph-opt ${level.padEnd(8)}: batch-1 p50 ${percentile(t, 50).toFixed(2)} ms, session create ${createMs.toFixed(1)} ms`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'pplcnet-opt-'));
  try {
    const optimized = join(dir, 'optimized.onnx');
    await (await createSession(bytes, { ep: 'cpu', threads, optimizedModelPath: optimized })).session.release();
    const { session, createMs } = await create({ graphOpt: 'disabled' }, optimized);
    const t = await timeRuns(session, x, Number(values.runs), 10);
    await session.release();
    console.log(`saved optimized model, loaded with graph-opt disabled: batch-1 p50 ${percentile(t, 50).toFixed(2)} ms, session create ${createMs.toFixed(1)} ms`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) await main();
