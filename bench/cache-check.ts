/**
 * What the cache's integrity checks cost at start-up: the sha256 of a cached ONNX (checked on every load
 * from the conversion cache) and of a pulled source file (checked on every use of a pulled model), for the
 * shipped text-line model and an x1_0-size model: a plain read, a cached load whose stamp proves the file
 * unchanged, and a full sha256 check (first load after a change). Medians of `--runs`.
 *
 *   node dist/bench/cache-check.js [--runs 15]
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildPPLCNet } from '../src/builder/pplcnet.js';
import { cachedModel, sha256File } from '../src/zoo/cache.js';
import { resolveModel } from '../src/models/resolve.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(runs: number, f: () => Promise<unknown>): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < runs + 2; i++) {
    const t0 = performance.now();
    await f();
    if (i >= 2) t.push(performance.now() - t0);
  }
  return median(t);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '15' } } });
  const runs = Number(values.runs);
  const dir = await mkdtemp(join(tmpdir(), 'pplcnet-cache-bench-'));
  try {
    const shipped = await resolveModel('PP-LCNet_x0_25_textline_ori', { cacheDir: dir });
    const x1 = buildPPLCNet({ scale: 1.0 }).bytes;
    const key = createHash('sha256').update('bench x1_0').digest('hex');
    await cachedModel(dir, ['onnx'], key, async () => x1);
    // a load more than 2 s after the conversion re-takes the stamp; later loads trust it (see unchangedSince)
    await new Promise((r) => setTimeout(r, 2100));
    for (const [label, sub, k] of [
      ['shipped textline x0_25', ['onnx'], shipped.path!.split('/').at(-1)!.replace('.onnx', '')],
      ['x1_0 (built, 1000 classes)', ['onnx'], key],
    ] as const) {
      const path = join(dir, ...sub, `${k}.onnx`);
      const bytes = (await readFile(path)).length;
      const read = await time(runs, () => readFile(path));
      const hashed = await time(runs, async () => createHash('sha256').update(await readFile(path)).digest('hex'));
      const load = await time(runs, () => cachedModel(dir, sub, k, async () => new Uint8Array()));
      const stream = await time(runs, () => sha256File(path));
      console.log(
        `${label}: ${(bytes / 1e6).toFixed(2)} MB; read ${read.toFixed(2)} ms; cached load, stamp trusted ${load.toFixed(2)} ms (+${(load - read).toFixed(2)} ms); ` +
          `full check (read+sha256) ${hashed.toFixed(2)} ms (+${(hashed - read).toFixed(2)} ms); a source file's streamed sha256 ${stream.toFixed(2)} ms`,
      );
    }
    const start = await time(runs, () => resolveModel('PP-LCNet_x0_25_textline_ori', { cacheDir: dir }));
    console.log(`resolveModel('PP-LCNet_x0_25_textline_ori') from the cache, check included: ${start.toFixed(2)} ms`);
    await writeFile(join(dir, 'done'), '');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
