/**
 * Throughput as a user sees it: the CPU-bound limit of a folder, cold `pplcnet predict` runs against it,
 * their CPU per image and peak memory, and a one-image `predict` against the start-up floor. One table, the
 * goal beside each figure, with the machine and its load average at the top.
 *
 * - Stages (a child process with one libuv thread and sharp at concurrency 1, so nothing runs beside it): the
 *   library's own decode (`decodeImage`: file read + sharp), resize + crop + normalize (`toTensor`: the fused
 *   pass into a fresh tensor, as the classifier runs it) and inference (batch 8, one intra-op thread, no
 *   spinning), each as process CPU time per image, the minimum over rounds. The limit is cores ÷ their sum.
 *   `preprocess()` (decode and preparation together) is printed as a check.
 * - Cold runs: `node bin/pplcnet.js predict -q --json -m MODEL folder/` as fresh processes at each size,
 *   each round between two one-image runs; images/s = (N − 1) ÷ (wall − the one-image runs' mean wall);
 *   CPU per image = (CPU − the one-image runs' CPU) ÷ (N − 1), from each process's own resource usage
 *   (`process.resourceUsage()` at exit, via `--import`; a folder of 500 images or more runs in a child of the
 *   CLI, src/cli/respawn.ts: both are counted), as is the peak RSS (the largest maxRSS plus the other
 *   process's own RssAnon). Medians over rounds.
 * - Plans: the largest folder once more under other layouts (`--threads 1 --workers 1`, lanes off, one lane
 *   per core, threads = workers = cores): peak RSS and images/s.
 * - Two unshared pipelines (for comparison, no goal): at the largest size, two fresh processes at once, each
 *   running the library's stages on one thread, one image at a time (decode → prepare → inference every 8
 *   images), over half the folder, with the malloc settings the CLI gives a folder that large: images/s as for
 *   the cold runs, and CPU per image. What the cores reach when nothing is shared between them.
 * - Start-up: a one-image `predict` and the floor (`bench/startup-floor.ts`: Node, sharp and onnxruntime-node
 *   loaded through require, and the same session), alternating, medians of the wall times.
 *
 * Images: seeded noisy 640×480 JPEGs (bench/images.ts), made once per count in the temp folder and reused by
 * later runs (`--images-dir` to choose where).
 *
 *   node dist/bench/throughput.js [--model textline|x1_0|PATH.onnx] [--sizes 160,1000] [--rounds 2]
 *        [--startup-rounds 7] [--plans default,1x1,lanes0,lanesN,NxN] [--quick] [--images-dir DIR] [--json]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { link, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { photoJpeg } from './images.js';
import { LARGE_FOLDER_IMAGES, TUNED_MALLOC } from '../src/cli/respawn.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'bin', 'pplcnet.js');
const FLOOR = join(ROOT, 'dist', 'bench', 'startup-floor.js');
const SHIPPED = 'PP-LCNet_x0_25_textline_ori';

interface Stages {
  decodeMs: number;
  prepareMs: number;
  inferenceMs: number;
  togetherMs: number;
  /** The three in turn on one thread, one image at a time (inference every 8 images): CPU per image. */
  sequentialMs: number;
  images: number;
}

/** Minimum over `rounds` of `f()`'s CPU per unit (ms), `f` returning the units it did. */
async function cheapest(rounds: number, f: () => Promise<number>): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const u0 = process.cpuUsage();
    const units = await f();
    const u = process.cpuUsage(u0);
    best = Math.min(best, (u.user + u.system) / 1000 / units);
  }
  return best;
}

/** A stage child's set-up: sharp at concurrency 1, the model's bytes and its preprocessing. */
async function stageModel(modelPath: string): Promise<{ bytes: Uint8Array; p: import('../src/metadata.js').Preprocess }> {
  const { default: sharp } = await import('sharp');
  sharp.concurrency(1);
  const { IMAGENET_PREPROCESS, parseMetadata } = await import('../src/metadata.js');
  const { readMetadataProps } = await import('../src/onnx/metadata-props.js');
  const bytes = await readFile(modelPath);
  return { bytes, p: parseMetadata(readMetadataProps(bytes)).preprocess ?? IMAGENET_PREPROCESS };
}

/** The stages alone, one thread each (run in a child with UV_THREADPOOL_SIZE=1). */
async function measureStages(modelPath: string, files: string[], rounds: number): Promise<Stages> {
  const { bytes, p } = await stageModel(modelPath);
  const { decodeImage } = await import('../src/image/decode.js');
  const { preprocess, toTensor } = await import('../src/image/preprocess.js');
  const { createSession, ort } = await import('../src/runtime/session.js');
  for (const f of files.slice(0, 8)) await preprocess(f, p); // warm: JIT, WebAssembly tiers, the page cache
  const decodeMs = await cheapest(rounds, async () => {
    for (const f of files) await decodeImage(f);
    return files.length;
  });
  // each image just decoded, as in a run (not one image over and over, warm in the cache): only the
  // synchronous toTensor call is timed
  let prepareMs = Infinity;
  for (let r = 0; r < rounds; r++) {
    let cpu = 0;
    for (const f of files) {
      const img = await decodeImage(f);
      const u0 = process.cpuUsage();
      toTensor(img, p);
      const u = process.cpuUsage(u0);
      cpu += (u.user + u.system) / 1000;
    }
    prepareMs = Math.min(prepareMs, cpu / files.length);
  }
  const kept = await Promise.all(files.slice(0, 8).map((f) => decodeImage(f)));
  const togetherMs = await cheapest(rounds, async () => {
    for (const f of files) await preprocess(f, p);
    return files.length;
  });
  const { session } = await createSession(bytes, { ep: 'cpu', threads: 1, spinning: false });
  const batch = 8;
  const tensors = kept.slice(0, batch).map((img) => toTensor(img, p));
  const { width: w, height: h } = tensors[0]!;
  const feed = new Float32Array(batch * 3 * h * w);
  tensors.forEach((t, k) => feed.set(t.data, k * 3 * h * w));
  const input = { [session.inputNames[0]!]: new ort.Tensor('float32', feed, [batch, 3, h, w]) };
  for (let i = 0; i < 3; i++) await session.run(input);
  const runs = Math.max(6, Math.ceil(files.length / batch));
  const inferenceMs = await cheapest(rounds, async () => {
    for (let i = 0; i < runs; i++) await session.run(input);
    return runs * batch;
  });
  const sequentialMs = await cheapest(rounds, () => sequentialPass(files, p, session));
  await session.release();
  return { decodeMs, prepareMs, inferenceMs, togetherMs, sequentialMs, images: files.length };
}

type StageSession = Awaited<ReturnType<typeof import('../src/runtime/session.js').createSession>>['session'];

/**
 * One thread, one image at a time: decode, prepare into a batch tensor, run it every 8 images and at the end
 * (the last batch as a smaller one). Returns the images done.
 */
async function sequentialPass(files: string[], p: import('../src/metadata.js').Preprocess, session: StageSession): Promise<number> {
  const { decodeImage } = await import('../src/image/decode.js');
  const { toTensor } = await import('../src/image/preprocess.js');
  const { ort } = await import('../src/runtime/session.js');
  const name = session.inputNames[0]!;
  let feed: Float32Array | undefined;
  let shape: [number, number] = [0, 0];
  const run = (n: number): Promise<unknown> => session.run({ [name]: new ort.Tensor('float32', feed!.subarray(0, n * 3 * shape[0] * shape[1]), [n, 3, ...shape]) });
  let k = 0;
  for (const f of files) {
    const t = toTensor(await decodeImage(f), p);
    if (!feed) {
      shape = [t.height, t.width];
      feed = new Float32Array(8 * t.data.length);
    }
    feed.set(t.data, (k++ % 8) * t.data.length);
    if (k % 8 === 0) await run(8);
  }
  if (k % 8 !== 0) await run(k % 8);
  return files.length;
}

/** A child's part of the unshared-pipelines figure: {@link sequentialPass} over `files`, once, from a cold start. */
async function sequentialChild(modelPath: string, files: string[]): Promise<void> {
  const { bytes, p } = await stageModel(modelPath);
  const { createSession } = await import('../src/runtime/session.js');
  const { session } = await createSession(bytes, { ep: 'cpu', threads: 1, spinning: false });
  await sequentialPass(files, p, session);
  await session.release();
}

/** What a child process used, written by the `--import` hook at its exit. */
interface ChildRun {
  wallMs: number;
  cpuMs: number;
  maxRssMB: number;
  rows: number;
  errors: number;
  code: number | null;
}

// one line per process: a large folder's `predict` runs in a child process of its own (src/cli/respawn.ts)
// anonMB: the process's own memory at exit (RssAnon), the rest of its RSS being mostly the node binary's pages,
// which a child process shares
const HOOK = `import { appendFileSync, readFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
if (isMainThread) process.on('exit', () => {
  const r = process.resourceUsage();
  const anon = /RssAnon:\\s*(\\d+)/.exec(readFileSync('/proc/self/status', 'utf8'));
  appendFileSync(process.env.PPLCNET_BENCH_RUSAGE, JSON.stringify({ cpuMs: (r.userCPUTime + r.systemCPUTime) / 1000, maxRssMB: r.maxRSS / 1024, anonMB: anon ? Number(anon[1]) / 1024 : r.maxRSS / 1024 }) + '\\n');
});
`;

/** Run `node [hook] script args` as a fresh process: wall time, the child's own CPU and peak RSS, rows printed. */
async function runChild(work: string, script: string, args: string[], env: Record<string, string> = {}): Promise<ChildRun> {
  const out = join(work, `rusage-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, ['--import', join(work, 'rusage-hook.mjs'), script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, PPLCNET_BENCH_RUSAGE: out } });
  let rows = 0;
  let errors = 0;
  let tail = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (tail + d.toString()).split('\n');
    tail = lines.pop()!;
    for (const l of lines) {
      rows++;
      if (l.startsWith('{"file"') && l.includes('"error":{')) errors++;
    }
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  const wallMs = performance.now() - t0;
  if (code !== 0) throw new Error(`${script} ${args.join(' ')} exited ${code}: ${stderr.slice(0, 2000)}`);
  // the processes of one run (the CLI, and its child for a large folder): CPU added up; memory, the largest
  // peak RSS plus the others' own memory (the CLI waiting on its child holds about 8 MB of its own; the rest
  // of its RSS is the node binary, shared with the child)
  const usages = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { cpuMs: number; maxRssMB: number; anonMB: number });
  await rm(out, { force: true });
  const top = usages.reduce((a, u) => (u.maxRssMB > a.maxRssMB ? u : a));
  const usage = { cpuMs: usages.reduce((a, u) => a + u.cpuMs, 0), maxRssMB: top.maxRssMB + usages.filter((u) => u !== top).reduce((a, u) => a + u.anonMB, 0) };
  return { wallMs, ...usage, rows, errors, code };
}

/** `count` seeded noisy 640×480 JPEGs in `dir/all`, made once (a stamp marks a complete set). */
async function makeImages(dir: string, count: number): Promise<string[]> {
  const all = join(dir, 'all');
  const names = Array.from({ length: count }, (_, i) => `${String(i).padStart(5, '0')}.jpg`);
  const stamp = join(dir, `complete-${count}`);
  if (!existsSync(stamp)) {
    await mkdir(all, { recursive: true });
    const have = new Set(await readdir(all));
    for (let i = 0; i < count; i++) if (!have.has(names[i]!)) await writeFile(join(all, names[i]!), await photoJpeg(640, 480, i + 1));
    await writeFile(stamp, '');
  }
  return names.map((n) => join(all, n));
}

/** A folder holding exactly the first `n` images (hard links). */
async function folderOf(dir: string, files: string[], n: number): Promise<string> {
  const f = join(dir, `n${n}`);
  if (existsSync(join(f, '.complete'))) return f;
  await rm(f, { recursive: true, force: true });
  await mkdir(f, { recursive: true });
  for (const src of files.slice(0, n)) await link(src, join(f, src.split('/').pop()!));
  await writeFile(join(f, '.complete'), '');
  return f;
}

/** The model as the CLI names it, and its ONNX file (for the stages and the floor). */
async function modelFor(option: string, work: string): Promise<{ label: string; cli: string; onnx: string }> {
  const onnx = join(work, 'model.onnx');
  if (option === 'textline') {
    const { resolveModel } = await import('../src/models/resolve.js');
    await writeFile(onnx, (await resolveModel(SHIPPED, {})).bytes); // the user's cache, as `predict` reads it
    return { label: `${SHIPPED} (shipped, 80x160)`, cli: SHIPPED, onnx };
  }
  if (option === 'x1_0') {
    const { resolveArchitecture } = await import('../src/builder/architecture.js');
    const { buildPPLCNet } = await import('../src/builder/pplcnet.js');
    const { imagenetLabels } = await import('../src/labels.js');
    const { benchWeights } = await import('./paddle2onnx-style.js');
    const arch = resolveArchitecture({ scale: 1.0 });
    await writeFile(onnx, buildPPLCNet(arch, { weights: benchWeights(arch), description: { labels: imagenetLabels() } }).bytes);
    return { label: 'PP-LCNet x1_0 (224, bench weights)', cli: onnx, onnx };
  }
  if (option.endsWith('.onnx')) return { label: option, cli: resolve(option), onnx: resolve(option) };
  throw new Error(`--model: textline, x1_0 or a path to an .onnx file, not '${option}'`);
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** `default` → no flags; `1x1` → --threads 1 --workers 1; `lanes0`, `lanesN` (N = cores); `NxN` → cores each. */
function planFlags(plan: string, cores: number): string[] {
  if (plan === 'default') return [];
  if (plan === 'lanes0') return ['--lanes', '0'];
  if (plan === 'lanesN') return ['--lanes', String(cores)];
  if (plan === 'NxN') return ['--threads', String(cores), '--workers', String(cores)];
  const m = /^(\d+)x(\d+)$/.exec(plan);
  if (!m) throw new Error(`--plans: '${plan}' is not default, lanes0, lanesN, NxN or THREADSxWORKERS`);
  return ['--threads', m[1]!, '--workers', m[2]!];
}

interface Row {
  figure: string;
  value: string;
  goal: string;
  pass: boolean | undefined;
}

function table(rows: Row[]): string {
  const lines = ['| figure | measured | goal | pass |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.figure} | ${r.value} | ${r.goal} | ${r.pass === undefined ? '' : r.pass ? 'PASS' : 'FAIL'} |`);
  return lines.join('\n');
}

function machine(): string {
  let up: string;
  try {
    up = execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    up = `load average: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`;
  }
  return `${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, Node ${process.versions.node}\n${up}`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'textline' },
      sizes: { type: 'string' },
      rounds: { type: 'string' },
      'startup-rounds': { type: 'string' },
      plans: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'images-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
      // internal: the stages, in a child with one libuv thread
      'stages-child': { type: 'string' },
      files: { type: 'string' },
      'stage-rounds': { type: 'string', default: '3' },
      'sequential-child': { type: 'string' },
    },
  });
  // the children's modes: the images listed one per line in --files
  const listed = async (): Promise<string[]> => (await readFile(values.files!, 'utf8')).split('\n').filter(Boolean);
  if (values['sequential-child']) {
    await sequentialChild(values['sequential-child'], await listed());
    return;
  }
  if (values['stages-child']) {
    console.log(JSON.stringify(await measureStages(values['stages-child'], await listed(), Number(values['stage-rounds']))));
    return;
  }
  const quick = values.quick;
  const sizes = (values.sizes ?? (quick ? '48,160' : '160,1000')).split(',').map(Number);
  const rounds = Number(values.rounds ?? (quick ? 1 : 2));
  const startupRounds = Number(values['startup-rounds'] ?? (quick ? 3 : 7));
  const plans = (values.plans ?? (quick ? '1x1' : '1x1,lanes0,lanesN,NxN')).split(',').filter((p) => p !== 'default');
  const cores = availableParallelism();
  const say = (m: string): void => void process.stderr.write(`${m}\n`);
  console.log(machine());
  const work = await mkdtemp(join(tmpdir(), 'pplcnet-throughput-'));
  const imagesDir = values['images-dir'] ?? join(tmpdir(), 'pplcnet-throughput-jpeg640');
  try {
    await writeFile(join(work, 'rusage-hook.mjs'), HOOK);
    const biggest = Math.max(...sizes);
    say(`images: ${biggest} noisy 640x480 JPEGs in ${imagesDir} (made once, then reused)`);
    const files = await makeImages(imagesDir, biggest);
    const model = await modelFor(values.model, work);
    const predict = (target: string, flags: string[] = []): Promise<ChildRun> => runChild(work, CLI, ['predict', '-q', '--json', '-m', model.cli, ...flags, target]);
    const one = files[0]!;
    await predict(one); // warm: the model cache and the page cache
    // the stages, alone, in a child with one libuv thread
    say('stages: decode, resize+crop+normalize, inference (one thread each)');
    const list = join(work, 'files.txt');
    await writeFile(list, files.slice(0, Math.min(files.length, quick ? 48 : 96)).join('\n'));
    // twice: with glibc's default malloc and with the settings the CLI gives a large folder's child process;
    // each stage at the cheaper of the two
    const stageRun = (env: Record<string, string>): Stages => {
      const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--stages-child', model.onnx, '--files', list, '--stage-rounds', quick ? '2' : '3'], { encoding: 'utf8', env: { ...process.env, UV_THREADPOOL_SIZE: '1', ...env } });
      return JSON.parse(out.trim().split('\n').pop()!) as Stages;
    };
    const plainMalloc = stageRun({});
    const tunedMalloc = stageRun({ ...TUNED_MALLOC });
    const stages: Stages = {
      decodeMs: Math.min(plainMalloc.decodeMs, tunedMalloc.decodeMs),
      prepareMs: Math.min(plainMalloc.prepareMs, tunedMalloc.prepareMs),
      inferenceMs: Math.min(plainMalloc.inferenceMs, tunedMalloc.inferenceMs),
      togetherMs: Math.min(plainMalloc.togetherMs, tunedMalloc.togetherMs),
      sequentialMs: Math.min(plainMalloc.sequentialMs, tunedMalloc.sequentialMs),
      images: plainMalloc.images,
    };
    const sum = stages.decodeMs + stages.prepareMs + stages.inferenceMs;
    const limit = (1000 * cores) / sum;
    // start-up: floor and one-image predict, alternating
    const { createClassifier } = await import('../src/classifier.js');
    const clf = await createClassifier({ model: model.onnx });
    const threads = clf.plan.threads;
    const planReason = clf.plan.reason;
    await clf.close();
    say(`start-up: ${startupRounds} rounds of floor / one-image predict`);
    const floorWalls: number[] = [];
    const oneWalls: number[] = [];
    for (let r = 0; r < startupRounds; r++) {
      floorWalls.push((await runChild(work, FLOOR, [model.onnx, String(threads)])).wallMs);
      oneWalls.push((await predict(one)).wallMs);
    }
    // cold folder runs, each round between two one-image runs
    const cold = new Map<number, { rate: number; cpu: number; rss: number; rows: number; errors: number }[]>();
    for (let r = 0; r < rounds; r++) {
      for (const n of sizes) {
        const folder = await folderOf(imagesDir, files, n);
        say(`cold: round ${r + 1}/${rounds}, ${n} images`);
        const a = await predict(one);
        const run = await predict(folder);
        const b = await predict(one);
        const base = { wall: (a.wallMs + b.wallMs) / 2, cpu: (a.cpuMs + b.cpuMs) / 2 };
        (cold.get(n) ?? cold.set(n, []).get(n)!).push({ rate: (1000 * (n - 1)) / (run.wallMs - base.wall), cpu: (run.cpuMs - base.cpu) / (n - 1), rss: run.maxRssMB, rows: run.rows, errors: run.errors });
      }
    }
    // other plans at the largest size: peak RSS
    const planRuns: { plan: string; rss: number; rate: number; rows: number }[] = [];
    for (const plan of plans) {
      say(`plan ${plan}: ${biggest} images`);
      const folder = await folderOf(imagesDir, files, biggest);
      const a = await predict(one);
      const run = await predict(folder, planFlags(plan, cores));
      planRuns.push({ plan: `${plan} (${planFlags(plan, cores).join(' ') || 'the plan'})`, rss: run.maxRssMB, rate: (1000 * (biggest - 1)) / (run.wallMs - a.wallMs), rows: run.rows });
    }
    // two unshared pipelines: two fresh processes at once, each over half the largest folder
    say(`unshared pipelines: two processes at once, ${biggest} images`);
    const halves = [0, 1].map((h) => files.slice(0, biggest).filter((_, i) => i % 2 === h));
    const halfLists = await Promise.all(halves.map(async (half, h) => {
      const f = join(work, `half-${h}.txt`);
      await writeFile(f, half.join('\n'));
      return f;
    }));
    const pairEnv: Record<string, string> = biggest >= LARGE_FOLDER_IMAGES ? { ...TUNED_MALLOC } : {};
    const pairs: { rate: number; cpu: number; rss: number }[] = [];
    for (let r = 0; r < rounds; r++) {
      const a = await predict(one);
      const t0 = performance.now();
      const both = await Promise.all(halfLists.map((f) => runChild(work, fileURLToPath(import.meta.url), ['--sequential-child', model.onnx, '--files', f], pairEnv)));
      const wall = performance.now() - t0;
      const b = await predict(one);
      const base = { wall: (a.wallMs + b.wallMs) / 2, cpu: (a.cpuMs + b.cpuMs) / 2 };
      pairs.push({ rate: (1000 * (biggest - 1)) / (wall - base.wall), cpu: (both[0]!.cpuMs + both[1]!.cpuMs - 2 * base.cpu) / (biggest - 2), rss: both[0]!.maxRssMB + both[1]!.maxRssMB });
    }
    const rows: Row[] = [
      { figure: `decode: \`decodeImage(path)\` (file read + sharp), CPU/image (glibc's default malloc ${plainMalloc.decodeMs.toFixed(2)} ms, the large-folder settings ${tunedMalloc.decodeMs.toFixed(2)} ms)`, value: `${stages.decodeMs.toFixed(2)} ms`, goal: '', pass: undefined },
      { figure: 'resize+crop+normalize: `toTensor` on each image just decoded (fused WebAssembly pass, fresh tensor), CPU/image', value: `${stages.prepareMs.toFixed(2)} ms`, goal: '', pass: undefined },
      { figure: 'inference: batch 8, 1 intra-op thread, no spinning, CPU/image', value: `${stages.inferenceMs.toFixed(2)} ms`, goal: '', pass: undefined },
      { figure: 'sum of the stages (check: `preprocess()` + inference)', value: `${sum.toFixed(2)} ms (${(stages.togetherMs + stages.inferenceMs).toFixed(2)} ms)`, goal: '', pass: undefined },
      { figure: `limit on ${cores} cores = cores ÷ sum`, value: `${limit.toFixed(0)} img/s`, goal: '', pass: undefined },
      { figure: 'the stages in turn on one thread, one image at a time (inference every 8), CPU/image', value: `${stages.sequentialMs.toFixed(2)} ms = ${(stages.sequentialMs / sum).toFixed(2)}× the sum`, goal: '', pass: undefined },
    ];
    const goalOf = (n: number): number => (n >= 1000 ? 0.9 : 0.8);
    for (const n of sizes) {
      const runs = cold.get(n)!;
      const rate = median(runs.map((x) => x.rate));
      const cpu = median(runs.map((x) => x.cpu));
      const ok = runs.every((x) => x.rows === n && x.errors === 0);
      rows.push({ figure: `cold \`predict -q --json folder/\`, N = ${n}: (N−1) ÷ (wall − one-image wall)${ok ? '' : ' — ROWS MISSING OR FAILED'}`, value: `${rate.toFixed(0)} img/s = ${(rate / limit).toFixed(2)} of limit`, goal: `≥ ${goalOf(n)} of limit`, pass: ok && rate / limit >= goalOf(n) });
      rows.push({ figure: `CPU/image of that run (its processes' rusage, less a one-image run's), N = ${n}`, value: `${cpu.toFixed(2)} ms = ${(cpu / sum).toFixed(2)}× the stages`, goal: '≤ 1.15× the stages', pass: cpu / sum <= 1.15 });
      rows.push({ figure: `peak RSS (maxRSS, see below), N = ${n}, default plan`, value: `${Math.max(...runs.map((x) => x.rss)).toFixed(0)} MB`, goal: n >= 1000 ? '≤ 400 MB' : '', pass: n >= 1000 ? Math.max(...runs.map((x) => x.rss)) <= 400 : undefined });
    }
    const pairRate = median(pairs.map((x) => x.rate));
    const pairCpu = median(pairs.map((x) => x.cpu));
    const pairRss = Math.max(...pairs.map((x) => x.rss));
    rows.push({ figure: `for comparison: two unshared pipelines, N = ${biggest} (two fresh processes at once, each the stages in turn on one thread over half the folder${biggest >= LARGE_FOLDER_IMAGES ? ', the large-folder malloc settings' : ''}): (N−1) ÷ (wall − one-image wall); CPU/image; the two peak RSS added`, value: `${pairRate.toFixed(0)} img/s = ${(pairRate / limit).toFixed(2)} of limit; ${pairCpu.toFixed(2)} ms = ${(pairCpu / sum).toFixed(2)}× the stages; ${pairRss.toFixed(0)} MB`, goal: '', pass: undefined });
    for (const p of planRuns) rows.push({ figure: `peak RSS, N = ${biggest}, ${p.plan}; ${p.rate.toFixed(0)} img/s${p.rows === biggest ? '' : ' — ROWS MISSING'}`, value: `${p.rss.toFixed(0)} MB`, goal: biggest >= 1000 ? '≤ 400 MB' : '', pass: biggest >= 1000 ? p.rss <= 400 && p.rows === biggest : undefined });
    const oneWall = median(oneWalls);
    const floorWall = median(floorWalls);
    rows.push({ figure: 'one-image `predict` wall (median)', value: `${oneWall.toFixed(0)} ms`, goal: '', pass: undefined });
    rows.push({ figure: `floor: node + sharp + onnxruntime-node (loaded through require, the cheapest way, as the CLI loads them) + the same session (${threads} thread(s)), median`, value: `${floorWall.toFixed(0)} ms`, goal: '', pass: undefined });
    rows.push({ figure: `one-image predict ÷ floor (${startupRounds} rounds alternating)`, value: `${(oneWall / floorWall).toFixed(2)}×`, goal: '≤ 1.3×', pass: oneWall / floorWall <= 1.3 });
    if (values.json) console.log(JSON.stringify({ model: model.label, stages, limit, cold: Object.fromEntries(cold), pairs, planRuns, oneWalls, floorWalls, planReason }));
    console.log(`model: ${model.label}; images: noisy 640x480 JPEGs (seeded); ${rounds} round(s) of cold runs; plan: ${planReason}\n`);
    console.log(table(rows));
    console.log(`\nStages: a child process with UV_THREADPOOL_SIZE=1 and sharp.concurrency(1), ${stages.images} images, the cheapest of ${quick ? 2 : 3} rounds of process CPU time per image.`);
    console.log(`Cold runs: \`node bin/pplcnet.js predict -q --json -m ${model.cli === SHIPPED ? SHIPPED : 'MODEL.onnx'} DIR\`, fresh processes; CPU and maxRSS from each process's process.resourceUsage() at exit (a folder of 500 images or more runs in a child process of the CLI: CPU added up, memory the child's peak plus the CLI's own RssAnon, about 8 MB); medians of ${rounds} round(s).`);
    console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(', ')}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) await main();
