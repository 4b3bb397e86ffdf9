/**
 * The image queue against local `predict`, on the same folder and machine, as a user runs them (CLI
 * processes, wall time from start to exit): `predict --json`, 1 worker, 2 workers (each then with 1
 * intra-op thread). Then Redis memory: per 1,000 stored result rows, and per 1,000 images waiting in jobs.
 *
 *   node dist/bench/queue-throughput.js [--images 1000] [--rounds 2] [--scale 1.0] [--batch 8] [--job-size 64] [--memory-rows 100000] [--json]
 *
 * Starts its own redis-server (test/services.ts) on a free 127.0.0.1 port; `--redis URL` uses another.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { resolveArchitecture } from '../src/builder/architecture.js';
import { buildPPLCNet } from '../src/builder/pplcnet.js';
import { ImageQueue, queueKeys } from '../src/index.js';
import { imagenetLabels } from '../src/labels.js';
import { STORE_RESULTS_LUA } from '../src/queue/keys.js';
import { startRedis } from '../test/services.js';
import { benchWeights } from './paddle2onnx-style.js';
import { makeJpegs } from './predict-folder.js';

const BIN = fileURLToPath(new URL('../../bin/pplcnet.js', import.meta.url));

/** Run the CLI; resolves with wall milliseconds (throws on a non-zero exit). */
function timeCli(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`pplcnet ${args.join(' ')} exited ${code}:\n${err}`))));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      images: { type: 'string', default: '1000' },
      rounds: { type: 'string', default: '2' },
      scale: { type: 'string', default: '1.0' },
      batch: { type: 'string', default: '8' },
      'job-size': { type: 'string', default: '64' },
      'memory-rows': { type: 'string', default: '100000' },
      redis: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const n = Number(values.images);
  const dir = await mkdtemp(join(tmpdir(), 'pplcnet-queue-bench-'));
  const server = values.redis ? undefined : await startRedis();
  const url = values.redis ?? server!.url;
  const env = { PPLCNET_HOME: join(dir, 'home'), PPLCNET_REDIS: url };
  const report: Record<string, unknown> = { images: n, scale: Number(values.scale), batch: Number(values.batch), jobSize: Number(values['job-size']) };
  try {
    await makeJpegs(join(dir, 'images'), n);
    const arch = resolveArchitecture({ scale: Number(values.scale) });
    const modelPath = join(dir, 'model.onnx');
    await writeFile(modelPath, buildPPLCNet(arch, { weights: benchWeights(arch), description: { labels: imagenetLabels() } }).bytes);
    const common = ['--ep', 'cpu', '-b', values.batch!];
    const rounds: { predict: number; one: number; two: number }[] = [];
    for (let r = 0; r < Number(values.rounds); r++) {
      const predictMs = await timeCli(['predict', '-m', modelPath, '--json', ...common, join(dir, 'images')], env);
      const rate: number[] = [];
      for (const workers of [1, 2]) {
        const queue = `bench-${r}-${workers}`;
        await timeCli(['queue', 'add', '--queue', queue, '-m', modelPath, '--job-size', values['job-size']!, join(dir, 'images')], env);
        const threads = workers === 1 ? [] : ['--threads', '1'];
        const ms = Math.max(...(await Promise.all(Array.from({ length: workers }, () => timeCli(['worker', '--queue', queue, '--until-empty', '-q', ...common, ...threads], env)))));
        rate.push((1000 * n) / ms);
      }
      const row = { predict: (1000 * n) / predictMs, one: rate[0]!, two: rate[1]! };
      rounds.push(row);
      if (!values.json) {
        console.log(
          `round ${r + 1}: predict ${row.predict.toFixed(1)} img/s; 1 worker ${row.one.toFixed(1)} img/s (${((100 * row.one) / row.predict).toFixed(0)}% of predict); ` +
            `2 workers x 1 thread ${row.two.toFixed(1)} img/s (${((100 * row.two) / row.predict).toFixed(0)}%)`,
        );
      }
    }
    report.rounds = rounds;

    // Redis memory: result rows as the worker stores them (the first round's rows as templates)
    const client = new Redis(url);
    const used = async (): Promise<number> => Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
    const templates = Object.values(await client.hgetall(queueKeys('bench-0-1').results)).slice(0, 50);
    const rowsToStore = Number(values['memory-rows']);
    const keys = queueKeys('memory');
    const before = await used();
    for (let j = 0; j * 64 < rowsToStore; j++) {
      const args: string[] = [];
      for (let k = 0; k < 64 && j * 64 + k < rowsToStore; k++) {
        const i = j * 64 + k;
        const file = `/mnt/archive/scans/2024/batch_${String(Math.floor(i / 1000)).padStart(5, '0')}/scan_${String(i).padStart(8, '0')}.jpg`;
        const row = JSON.parse(templates[i % templates.length]!) as { file: string };
        row.file = file;
        args.push(file, JSON.stringify(row));
      }
      await client.eval(STORE_RESULTS_LUA, 4, keys.results, keys.stored, keys.meta, keys.rate, `memjob${j}`, args.length / 2, 0, Date.now(), ...args);
    }
    const afterRows = await used();
    const rowBytes = JSON.stringify(JSON.parse(templates[0]!)).length;
    report.resultBytesPer1000 = ((afterRows - before) / rowsToStore) * 1000;
    report.resultRowJsonBytes = rowBytes;
    // waiting jobs: the same paths enqueued (files need not exist to be enqueued)
    const q = await ImageQueue.open({ redis: url, queue: 'memory-jobs' });
    const paths = Array.from({ length: rowsToStore }, (_, i) => `/mnt/archive/scans/2024/batch_${String(Math.floor(i / 1000)).padStart(5, '0')}/scan_${String(i).padStart(8, '0')}.jpg`);
    const beforeJobs = await used();
    await q.add(paths, { model: 'PPLCNet_x1_0', jobSize: Number(values['job-size']) });
    report.jobBytesPer1000Images = (((await used()) - beforeJobs) / rowsToStore) * 1000;
    await q.close();
    client.disconnect();

    if (values.json) console.log(JSON.stringify(report));
    else {
      const mean = (k: 'predict' | 'one' | 'two'): number => rounds.reduce((s, r) => s + r[k], 0) / rounds.length;
      console.log(
        `mean over ${rounds.length} round(s): predict ${mean('predict').toFixed(1)}, 1 worker ${mean('one').toFixed(1)} (${((100 * mean('one')) / mean('predict')).toFixed(0)}%), 2 workers ${mean('two').toFixed(1)} img/s (${((100 * mean('two')) / mean('predict')).toFixed(0)}%)`,
      );
      console.log(
        `Redis memory: ${((report.resultBytesPer1000 as number) / 1024).toFixed(0)} KiB per 1,000 result rows (rows of ${rowBytes} B JSON, top-5, ${rowsToStore} stored); ` +
          `${((report.jobBytesPer1000Images as number) / 1024).toFixed(0)} KiB per 1,000 images waiting in jobs of ${values['job-size']}`,
      );
    }
  } finally {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
