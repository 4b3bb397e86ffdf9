/**
 * The image queue against local `predict`, on the same JPEGs and machine, warm (models loaded, processes
 * started): the library's `classifyStream` as `predict` runs it, then the same images through 1 worker
 * process, then through 2 worker processes of 1 intra-op thread each, timed from `queue add` until every
 * row is stored. The three alternate for `--rounds` rounds, so each round's ratios are measured under the
 * same load (the median ratio is the figure to quote on a shared machine). Then Redis memory: per 1,000
 * stored result rows, and per 1,000 images waiting in jobs.
 *
 *   node dist/bench/queue-throughput.js [--images 300] [--rounds 4] [--scale 1.0] [--batch 8] [--job-size 64] [--memory-rows 100000] [--json]
 *
 * Starts its own redis-server (test/services.ts) on a free 127.0.0.1 port; `--redis URL` uses another.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { resolveArchitecture } from '../src/builder/architecture.js';
import { buildPPLCNet } from '../src/builder/pplcnet.js';
import { createClassifier, resultRow } from '../src/index.js';
import { ImageQueue } from '../src/queue/index.js';
import { queueKeys } from '../src/queue/keys.js';
import { imagenetLabels } from '../src/labels.js';
import { storeRows } from '../src/queue/worker.js';
import { startRedis } from '../test/services.js';
import { benchWeights } from './paddle2onnx-style.js';
import { makeJpegs } from './predict-folder.js';

const BIN = fileURLToPath(new URL('../../bin/pplcnet.js', import.meta.url));

/** A long-running CLI process (a worker); throws when it exits early with an error. */
function startCli(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  child.on('exit', (code, signal) => {
    if (code !== 0 && signal === null) console.error(`pplcnet ${args.join(' ')} exited ${code}:\n${err}`);
  });
  return child;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      images: { type: 'string', default: '300' },
      rounds: { type: 'string', default: '4' },
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
    const files = (await readdir(join(dir, 'images'))).sort().map((f) => join(dir, 'images', f));
    const batch = Number(values.batch);
    const common = ['--ep', 'cpu', '-b', values.batch!, '-q'];
    const workers = [startCli(['worker', '--queue', 'one', ...common], env), startCli(['worker', '--queue', 'two', ...common, '--threads', '1'], env), startCli(['worker', '--queue', 'two', ...common, '--threads', '1'], env)];
    const client = new Redis(url);
    const q1 = await ImageQueue.open({ redis: url, queue: 'one' });
    const q2 = await ImageQueue.open({ redis: url, queue: 'two' });
    const clf = await createClassifier({ model: modelPath, ep: 'cpu', cacheDir: join(dir, 'home') });
    const predictRate = async (): Promise<number> => {
      const t0 = performance.now();
      let rows = 0;
      for await (const results of clf.classifyStream(files, { batchSize: batch })) for (const r of results) if (!(r instanceof Error) && JSON.stringify(resultRow(r, clf.name))) rows++;
      if (rows !== n) throw new Error(`predict classified ${rows} of ${n}`);
      return (1000 * n) / (performance.now() - t0);
    };
    const queueRate = async (q: ImageQueue, name: string): Promise<number> => {
      const base = Number((await client.hget(queueKeys(name).meta, 'done')) ?? 0);
      const t0 = performance.now();
      await q.add(files, { model: modelPath, jobSize: Number(values['job-size']), again: true });
      for (;;) {
        if (Number((await client.hget(queueKeys(name).meta, 'done')) ?? 0) >= base + n) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      return (1000 * n) / (performance.now() - t0);
    };
    // warm-up: the worker processes load the model on their first job, predict its session
    await predictRate();
    await queueRate(q1, 'one');
    await queueRate(q2, 'two');
    const rounds: { predict: number; one: number; two: number }[] = [];
    for (let r = 0; r < Number(values.rounds); r++) {
      const row = { predict: await predictRate(), one: await queueRate(q1, 'one'), two: await queueRate(q2, 'two') };
      rounds.push(row);
      if (!values.json) {
        console.log(
          `round ${r + 1}: predict ${row.predict.toFixed(1)} img/s; 1 worker ${row.one.toFixed(1)} img/s (${((100 * row.one) / row.predict).toFixed(0)}% of predict); ` +
            `2 workers x 1 thread ${row.two.toFixed(1)} img/s (${((100 * row.two) / row.predict).toFixed(0)}%)`,
        );
      }
    }
    report.rounds = rounds;
    report.medianRatioOne = median(rounds.map((r) => r.one / r.predict));
    report.medianRatioTwo = median(rounds.map((r) => r.two / r.predict));
    await clf.close();
    await q1.close();
    await q2.close();
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r)))));

    // Redis memory: result rows as the worker stores them (the rows just made as templates)
    const used = async (): Promise<number> => Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
    const templates = Object.values(await client.hgetall(queueKeys('one').results)).slice(0, 50);
    const rowsToStore = Number(values['memory-rows']);
    const keys = queueKeys('memory');
    const before = await used();
    for (let j = 0; j * 64 < rowsToStore; j++) {
      const rows = new Map<string, string>();
      for (let k = 0; k < 64 && j * 64 + k < rowsToStore; k++) {
        const i = j * 64 + k;
        const file = `/mnt/archive/scans/2024/batch_${String(Math.floor(i / 1000)).padStart(5, '0')}/scan_${String(i).padStart(8, '0')}.jpg`;
        const row = JSON.parse(templates[i % templates.length]!) as { file: string };
        row.file = file;
        rows.set(file, JSON.stringify(row));
      }
      await storeRows(client, keys, `memjob${j}`, { images: rows.size, rows, errors: 0 });
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
      console.log(`median ratio over ${rounds.length} round(s): 1 worker ${(100 * (report.medianRatioOne as number)).toFixed(0)}% of predict, 2 workers ${(100 * (report.medianRatioTwo as number)).toFixed(0)}%`);
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
