/**
 * Load on `pplcnet serve` against its goals: the CLI server in a child process, autocannon in this one, one
 * real image per request (`POST /v1/models/M/classify`), for the shipped text-line model (a 254×43 PNG text
 * line) and a PP-LCNet x1.0 at 224 (bench weights; a 640×480 photo JPEG). Per model, in rounds: `predict`
 * (the library's classifyStream at its default plan, as `pplcnet predict DIR` runs) over a folder of copies of
 * the same image, then the server under load at concurrency 8 over as many requests, while a worker thread of
 * this process asks `/v2/health/live` every 10 ms (the server idles while predict runs). CPU per image: the
 * server process's (/proc) and this process's during predict. Then, unless --quick, concurrency 1 and 32, a long
 * run at 8 sampling the server's resident memory every 1,000 answers, and the same load with `--lanes 0`
 * (inference on the event loop) for comparison. Prints a table of the goals with pass/fail, and `uptime`.
 *
 *   node dist/bench/serve-load.js [--quick] [--models textline,x1_0] [--requests 1000] [--rounds 3]
 *        [--long 10000] [--lanes N] [--threads N] [--workers N] [--json]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import autocannon from 'autocannon';
import { resolveArchitecture } from '../src/builder/architecture.js';
import { buildPPLCNet } from '../src/builder/pplcnet.js';
import { createClassifier } from '../src/classifier.js';
import { imagenetLabels } from '../src/labels.js';
import { resolveModel } from '../src/models/resolve.js';
import { cpuMs, photoJpeg } from './images.js';
import { benchWeights } from './paddle2onnx-style.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROBE_EVERY_MS = 10;
const GOALS = { ratio: 0.85, healthP99: 50, tail: 3 };

const quantile = (xs: number[], q: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const median = (xs: number[]): number => quantile(xs, 0.5);
const round = (x: number, d = 1): number => Number(x.toFixed(d));

/** The health probe, in a worker thread so that this process's own load does not delay its clock. */
function probeThread(): void {
  const { url } = workerData as { url: string };
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  let stop = false;
  parentPort!.on('message', () => {
    stop = true;
  });
  const once = (): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = request(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => {
          times.push(res.statusCode === 200 ? performance.now() - t0 : Infinity);
          resolve();
        });
      });
      req.on('error', () => {
        times.push(Infinity);
        resolve();
      });
      req.end();
    });
  void (async () => {
    while (!stop) {
      await once();
      await new Promise((r) => setTimeout(r, PROBE_EVERY_MS));
    }
    parentPort!.postMessage(times);
    agent.destroy();
  })();
}

/** Ask `url` every PROBE_EVERY_MS ms until the returned stop is called; it resolves with each answer's ms. */
function startProbe(url: string): () => Promise<number[]> {
  const w = new Worker(new URL(import.meta.url), { workerData: { url } });
  const result = new Promise<number[]>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  return async () => {
    w.postMessage('stop');
    const times = await result;
    await w.terminate();
    return times;
  };
}

/** CPU time (user + system, every thread) of a process, in ms, from /proc. */
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString());
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface Server {
  child: ChildProcess;
  url: string;
  classify: string;
}

async function startServer(model: string, args: string[]): Promise<Server> {
  const child = spawn(process.execPath, [join(ROOT, 'bin/pplcnet.js'), 'serve', '--port', '0', '-m', model, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
    if (err.length > 1e6) err = err.slice(-1e5); // one log line per request: keep the tail only
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}\n${err.slice(-2000)}`)), 120_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}:\n${out}\n${err.slice(-2000)}`)));
  });
  const listed = (await (await fetch(`${url}v1/models`)).json()) as { models: { name: string }[] };
  return { child, url, classify: `${url}v1/models/${encodeURIComponent(listed.models[0]!.name)}/classify` };
}

async function stopServer(s: Server): Promise<void> {
  if (s.child.exitCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await exited;
}

interface Load {
  concurrency: number;
  requests: number;
  imagesPerS: number;
  p50: number;
  p99: number;
  errors: number;
  /** Server CPU per answered image (ms). */
  cpuMsPerImage: number;
  health?: { answers: number; p50: number; p99: number; max: number };
  rssMiB?: number[];
}

/** `amount` requests at `connections` at once; health probed meanwhile when `probe`; memory sampled when `rss`. */
async function load(s: Server, body: Buffer, type: string, connections: number, amount: number, opts: { probe?: boolean; rss?: boolean } = {}): Promise<Load> {
  const pid = s.child.pid!;
  const rss: number[] = [];
  let answered = 0;
  const stopProbe = opts.probe ? startProbe(`${s.url}v2/health/live`) : undefined;
  const cpu0 = processCpuMs(pid);
  // images/s from this clock, first request to last answer: autocannon's `duration` with `amount` ends on its
  // one-second tick (1,000 answers in 2.1 s read as 3.01 s, a third low)
  const t0 = performance.now();
  let lastAnswer = t0;
  const instance = autocannon({ url: s.classify, connections, amount, method: 'POST', headers: { 'content-type': type }, body, timeout: 60 });
  instance.on('response', () => {
    lastAnswer = performance.now();
    if (opts.rss && ++answered % 1000 === 0) rss.push(round(rssMiB(pid)));
  });
  const r = await instance;
  const cpu = processCpuMs(pid) - cpu0;
  const health = stopProbe ? await stopProbe() : undefined;
  const total = r.requests.total;
  return {
    concurrency: connections,
    requests: total,
    imagesPerS: round(total / ((lastAnswer - t0) / 1000)),
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts + r.non2xx,
    cpuMsPerImage: round(cpu / Math.max(1, total - r.non2xx), 2),
    ...(health ? { health: { answers: health.length, p50: round(quantile(health, 0.5)), p99: round(quantile(health, 0.99)), max: round(Math.max(...health)) } } : {}),
    ...(opts.rss ? { rssMiB: rss } : {}),
  };
}

/** `predict` over the folder: classifyStream at the default plan (after a warm-up); images/s and CPU per image. */
async function predict(model: string, files: string[], cacheDir: string, layout: { threads?: number; workers?: number }): Promise<{ imagesPerS: number; cpuMsPerImage: number }> {
  const clf = await createClassifier({ model, cacheDir, ep: 'cpu', ...layout });
  try {
    for await (const _ of clf.classifyStream(files.slice(0, Math.min(files.length, 100)))) void _;
    const t0 = performance.now();
    const c0 = cpuMs();
    let done = 0;
    for await (const batch of clf.classifyStream(files)) done += batch.filter((r) => !(r instanceof Error)).length;
    return { imagesPerS: round(done / ((performance.now() - t0) / 1000)), cpuMsPerImage: round((cpuMs() - c0) / done, 2) };
  } finally {
    await clf.close();
  }
}

interface Subject {
  name: string;
  model: string;
  image: Buffer;
  type: string;
  ext: string;
}

/** The two models: the shipped text-line model with its example PNG, x1_0 (bench weights) with a photo JPEG. */
async function subjects(names: string[], dir: string, cacheDir: string): Promise<Subject[]> {
  const out: Subject[] = [];
  for (const n of names) {
    if (n === 'textline') {
      const tl = await resolveModel('PP-LCNet_x0_25_textline_ori', { cacheDir });
      const model = join(dir, 'textline.onnx');
      await writeFile(model, tl.bytes);
      out.push({ name: 'textline (80x160)', model, image: readFileSync(join(ROOT, 'models/examples/textline_upright.png')), type: 'image/png', ext: 'png' });
    } else if (n === 'x1_0') {
      const arch = resolveArchitecture({ scale: 1.0 });
      const model = join(dir, 'x1_0.onnx');
      await writeFile(model, buildPPLCNet(arch, { weights: benchWeights(arch), description: { labels: imagenetLabels() } }).bytes);
      out.push({ name: 'x1_0 (224)', model, image: await photoJpeg(640, 480, 7), type: 'image/jpeg', ext: 'jpg' });
    } else throw new Error(`unknown model ${n}: textline or x1_0`);
  }
  return out;
}

interface Options {
  quick: boolean;
  requests: number;
  rounds: number;
  long: number;
  serveArgs: string[];
  layout: { threads?: number; workers?: number };
}

/** One model: alternating rounds of predict and serve at 8 (health probed), then the other rows. */
async function measure(sub: Subject, dir: string, cacheDir: string, o: Options): Promise<Record<string, unknown>> {
  const folder = join(dir, `images-${sub.ext}`);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'src'), sub.image);
  const files = Array.from({ length: o.requests }, (_, i) => join(folder, `${String(i).padStart(5, '0')}.${sub.ext}`));
  for (const f of files) await copyFile(join(folder, 'src'), f);
  const s = await startServer(sub.model, [...o.serveArgs, '--cache-dir', cacheDir, '--ep', 'cpu']);
  try {
    await load(s, sub.image, sub.type, 8, Math.min(300, o.requests)); // warm-up
    const rounds: { predict: number; predictCpu: number; serve: Load; ratio: number }[] = [];
    for (let r = 0; r < o.rounds; r++) {
      const p = await predict(sub.model, files, cacheDir, o.layout);
      const serve = await load(s, sub.image, sub.type, 8, o.requests, { probe: true });
      rounds.push({ predict: p.imagesPerS, predictCpu: p.cpuMsPerImage, serve, ratio: round(serve.imagesPerS / p.imagesPerS, 3) });
    }
    const rows: Load[] = [];
    if (!o.quick) {
      for (const c of [1, 32]) rows.push(await load(s, sub.image, sub.type, c, o.requests));
      rows.push(await load(s, sub.image, sub.type, 8, o.long, { rss: true, probe: true }));
    }
    const metrics = await (await fetch(`${s.url}metrics`)).text();
    const runs = Number(/pplcnet_batch_size_count\{[^}]*\} (\d+)/.exec(metrics)?.[1]);
    const images = Number(/pplcnet_batch_size_sum\{[^}]*\} (\d+)/.exec(metrics)?.[1]);
    return { name: sub.name, rounds, rows, meanBatch: round(images / runs, 2) };
  } finally {
    await stopServer(s);
  }
}

/** The same load at 8 with `--lanes 0` (batches on the event loop), for comparison. */
async function onEventLoop(sub: Subject, cacheDir: string, o: Options): Promise<Load> {
  const s = await startServer(sub.model, [...o.serveArgs.filter((a, i, all) => a !== '--lanes' && all[i - 1] !== '--lanes'), '--lanes', '0', '--cache-dir', cacheDir, '--ep', 'cpu']);
  try {
    await load(s, sub.image, sub.type, 8, Math.min(300, o.requests));
    return await load(s, sub.image, sub.type, 8, o.requests, { probe: true });
  } finally {
    await stopServer(s);
  }
}

type Measured = Awaited<ReturnType<typeof measure>> & { rounds: { predict: number; predictCpu: number; serve: Load; ratio: number }[]; rows: Load[]; lanes0?: Load };

function goals(results: Measured[]): { goal: string; measured: string; pass: boolean }[] {
  const out: { goal: string; measured: string; pass: boolean }[] = [];
  for (const m of results) {
    const ratio = median(m.rounds.map((r) => r.ratio));
    out.push({ goal: `${m.name}: images/s at concurrency 8 ≥ ${GOALS.ratio} × predict (median of rounds)`, measured: `${ratio.toFixed(2)} (rounds ${m.rounds.map((r) => r.ratio.toFixed(2)).join(', ')})`, pass: ratio >= GOALS.ratio });
    const healths = [...m.rounds.map((r) => r.serve), ...m.rows].flatMap((l) => (l.health ? [l.health.p99] : []));
    const worst = Math.max(...healths);
    out.push({ goal: `${m.name}: /v2/health/live p99 ≤ ${GOALS.healthP99} ms under that load (worst run)`, measured: `${worst} ms (runs ${healths.join(', ')})`, pass: worst <= GOALS.healthP99 });
    const tails = m.rounds.map((r) => r.serve.p99 / Math.max(1, r.serve.p50));
    const tail = median(tails);
    out.push({ goal: `${m.name}: p99 ≤ ${GOALS.tail} × p50 at concurrency 8 (median of rounds)`, measured: `${tail.toFixed(1)} (rounds ${tails.map((t) => t.toFixed(1)).join(', ')})`, pass: tail <= GOALS.tail });
  }
  return out;
}

function print(results: Measured[], before: string, after: string): void {
  for (const m of results) {
    console.log(`\n${m.name}: mean ${m.meanBatch} images per onnxruntime run`);
    console.log('run                         images/s  predict  ratio  p50 ms  p99 ms  p99/p50  health p50/p99/max ms  CPU ms/img serve|predict  errors');
    const line = (label: string, l: Load, p?: { predict: number; predictCpu: number; ratio: number }): string =>
      `${label.padEnd(26)}  ${String(l.imagesPerS).padStart(8)}  ${String(p?.predict ?? '').padStart(7)}  ${(p ? p.ratio.toFixed(2) : '').padStart(5)}  ${String(l.p50).padStart(6)}  ${String(l.p99).padStart(6)}  ${(l.p99 / Math.max(1, l.p50)).toFixed(1).padStart(7)}  ${(l.health ? `${l.health.p50}/${l.health.p99}/${l.health.max} (${l.health.answers})` : '').padStart(21)}  ${`${l.cpuMsPerImage}|${p?.predictCpu ?? ''}`.padStart(24)}  ${l.errors}`;
    m.rounds.forEach((r, i) => console.log(line(`round ${i + 1}: c=8 × ${r.serve.requests}`, r.serve, r)));
    for (const l of m.rows) console.log(line(`c=${l.concurrency} × ${l.requests}`, l));
    if (m.lanes0) console.log(line(`--lanes 0: c=8 × ${m.lanes0.requests}`, m.lanes0));
    const long = m.rows.find((l) => l.rssMiB);
    if (long?.rssMiB?.length) console.log(`resident memory every 1000 answers (MiB): ${long.rssMiB.join(' ')}`);
  }
  console.log('\ngoal                                                                          measured                                  pass');
  for (const g of goals(results)) console.log(`${g.goal.padEnd(76)}  ${g.measured.padEnd(40)}  ${g.pass ? 'PASS' : 'FAIL'}`);
  console.log(`\nuptime before: ${before}\nuptime after:  ${after}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      models: { type: 'string', default: 'textline,x1_0' },
      requests: { type: 'string' },
      rounds: { type: 'string' },
      long: { type: 'string', default: '10000' },
      lanes: { type: 'string' },
      threads: { type: 'string' },
      workers: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const quick = values.quick!;
  const layout = { ...(values.threads ? { threads: Number(values.threads) } : {}), ...(values.workers ? { workers: Number(values.workers) } : {}) };
  const o: Options = {
    quick,
    requests: Number(values.requests ?? (quick ? 300 : 1000)),
    rounds: Number(values.rounds ?? (quick ? 1 : 3)),
    long: Number(values.long),
    serveArgs: [...(values.lanes ? ['--lanes', values.lanes] : []), ...(values.threads ? ['--threads', values.threads] : []), ...(values.workers ? ['--workers', values.workers] : [])],
    layout,
  };
  const before = execFileSync('uptime').toString().trim();
  const dir = await mkdtemp(join(tmpdir(), 'pplcnet-serve-load-'));
  const cacheDir = join(dir, 'cache');
  try {
    const results: Measured[] = [];
    for (const sub of await subjects(values.models!.split(','), dir, cacheDir)) {
      const m = (await measure(sub, dir, cacheDir, o)) as Measured;
      if (!quick) m.lanes0 = await onEventLoop(sub, cacheDir, o);
      results.push(m);
    }
    const after = execFileSync('uptime').toString().trim();
    if (values.json) console.log(JSON.stringify({ options: o, results, goals: goals(results), uptime: { before, after } }));
    else print(results, before, after);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMainThread) await main();
else probeThread();
