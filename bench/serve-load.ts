/**
 * Load on `pplcnet serve`: the CLI in a child process, autocannon in this one, one real image per request.
 * Per concurrency: requests/s, images/s, latency p50/p99, errors; at concurrency 8 a 10,000-request run that
 * samples the server's resident memory every 1,000 answers. The baseline is `predict` (the library's
 * classifyStream, batch 8, same threads and workers) over a folder of copies of the same image, measured in
 * rounds that alternate with the server under load at concurrency 8 (the server idles meanwhile).
 *
 *   node dist/bench/serve-load.js [--model PP-LCNet_x0_25_textline_ori] [--image models/examples/textline_upright.png]
 *        [--requests 2000] [--long 10000] [--rounds 3] [--threads 0] [--workers N] [--json]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { createClassifier } from '../src/classifier.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function startServer(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/pplcnet.js'), 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
    if (err.length > 1e6) err = err.slice(-1e5); // one log line per request: keep the tail only
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}\n${err.slice(-2000)}`)), 120_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}:\n${out}\n${err.slice(-2000)}`)));
  });
}

interface Row {
  concurrency: number;
  requests: number;
  seconds: number;
  reqPerS: number;
  imagesPerS: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  rssMiB?: number[];
}

async function load(url: string, body: Buffer, connections: number, amount: number, pid?: number): Promise<Row> {
  const rss: number[] = [];
  let answered = 0;
  const instance = autocannon({ url, connections, amount, method: 'POST', headers: { 'content-type': 'image/png' }, body, timeout: 60 });
  if (pid !== undefined) {
    instance.on('response', () => {
      answered++;
      if (answered % 1000 === 0) rss.push(Number(rssMiB(pid).toFixed(1)));
    });
  }
  const r = await instance;
  const total = r.requests.total;
  return {
    concurrency: connections,
    requests: total,
    seconds: Number(r.duration.toFixed(2)),
    reqPerS: Number((total / r.duration).toFixed(1)),
    imagesPerS: Number((total / r.duration).toFixed(1)),
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    ...(pid !== undefined ? { rssMiB: rss } : {}),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'PP-LCNet_x0_25_textline_ori' },
      image: { type: 'string', default: join(ROOT, 'models/examples/textline_upright.png') },
      requests: { type: 'string', default: '2000' },
      long: { type: 'string', default: '10000' },
      rounds: { type: 'string', default: '3' },
      threads: { type: 'string', default: '0' },
      workers: { type: 'string', default: '' },
      json: { type: 'boolean', default: false },
    },
  });
  const dir = await mkdtemp(join(tmpdir(), 'pplcnet-serve-load-'));
  const cacheDir = join(dir, 'cache');
  const body = await readFile(values.image!);
  const threads = Number(values.threads);
  const workers = values.workers ? Number(values.workers) : undefined;
  let child: ChildProcess | undefined;
  try {
    // baseline: predict over a folder of copies of the same image
    const folder = join(dir, 'images');
    await mkdir(folder);
    const n = Number(values.requests);
    const files: string[] = [];
    for (let i = 0; i < n; i++) {
      files.push(join(folder, `${String(i).padStart(5, '0')}.png`));
      await copyFile(values.image!, files[i]!);
    }
    // measured in rounds alternating with the server under load at concurrency 8 (the machine's load drifts)
    const predict = async (): Promise<number> => {
      const clf = await createClassifier({ model: values.model!, cacheDir, ep: 'cpu', threads, ...(workers !== undefined ? { workers } : {}) });
      for await (const _ of clf.classifyStream(files.slice(0, 200), { batchSize: 8 })) void _; // warm-up
      const t0 = performance.now();
      let done = 0;
      for await (const batch of clf.classifyStream(files, { batchSize: 8 })) done += batch.filter((r) => !(r instanceof Error)).length;
      const perS = done / ((performance.now() - t0) / 1000);
      await clf.close();
      return perS;
    };

    const args = ['-m', values.model!, '--cache-dir', cacheDir, '--ep', 'cpu', '--threads', String(threads), ...(workers !== undefined ? ['--workers', String(workers)] : [])];
    const server = await startServer(args);
    child = server.child;
    const listed = (await (await fetch(`${server.url}v1/models`)).json()) as { models: { name: string }[] };
    const url = `${server.url}v1/models/${encodeURIComponent(listed.models[0]!.name)}/classify`;
    const check = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'image/png' } });
    if (check.status !== 200) throw new Error(`the server answered ${check.status}: ${await check.text()}`);
    await load(url, body, 8, 500); // warm-up
    const rounds: { predict: number; serve: number; ratio: number }[] = [];
    for (let r = 0; r < Number(values.rounds); r++) {
      const p = await predict();
      const s = (await load(url, body, 8, n)).imagesPerS;
      rounds.push({ predict: Number(p.toFixed(1)), serve: s, ratio: Number((s / p).toFixed(3)) });
    }
    const rows: Row[] = [];
    for (const c of [1, 8, 32]) rows.push(await load(url, body, c, n));
    const long = await load(url, body, 8, Number(values.long), child.pid!);
    const metrics = await (await fetch(`${server.url}metrics`)).text();
    const predictPerS = rounds.reduce((a, r) => a + r.predict, 0) / rounds.length;
    const batches = /pplcnet_batch_size_count\{[^}]*\} (\d+)/.exec(metrics)?.[1];
    const images = /pplcnet_batch_size_sum\{[^}]*\} (\d+)/.exec(metrics)?.[1];
    const report = {
      model: values.model,
      image: values.image,
      threads,
      workers: workers ?? 'default',
      rounds,
      rows,
      long: { ...long, rssSecondToLast: long.rssMiB!.length >= 2 ? Number((long.rssMiB!.at(-1)! / long.rssMiB![1]!).toFixed(3)) : null },
      meanBatch: batches && images ? Number((Number(images) / Number(batches)).toFixed(2)) : null,
    };
    if (values.json) console.log(JSON.stringify(report));
    else {
      for (const r of rounds) console.log(`round: predict over ${n} copies (batch 8) ${r.predict} images/s, then serve at concurrency 8 ${r.serve} images/s: ratio ${r.ratio}`);
      console.log(`below, "vs predict" uses the mean predict figure, ${predictPerS.toFixed(1)} images/s`);
      console.log('concurrency  requests  req/s   images/s  vs predict  p50 ms  p99 ms  p99/p50  errors');
      for (const r of [...rows, long]) {
        console.log(
          `${String(r.concurrency).padStart(11)}  ${String(r.requests).padStart(8)}  ${String(r.reqPerS).padStart(6)}  ${String(r.imagesPerS).padStart(8)}  ${(r.imagesPerS / predictPerS).toFixed(2).padStart(10)}  ${String(r.p50).padStart(6)}  ${String(r.p99).padStart(6)}  ${(r.p99 / Math.max(r.p50, 1)).toFixed(1).padStart(7)}  ${r.errors + r.non2xx}`,
        );
      }
      console.log(`resident memory every 1000 answers (MiB): ${long.rssMiB!.join(' ')}; last / second: ${report.long.rssSecondToLast}`);
      console.log(`mean images per onnxruntime run: ${report.meanBatch}`);
    }
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
