/**
 * The CPU-bound limit of `predict` over a folder, and how close end-to-end runs come to it.
 *
 * For each model and image set, in one run on the same images: the per-image CPU of decoding (file read +
 * sharp), of resize + crop + normalize, and of inference (batch 8, per image), each measured alone on one
 * thread (process CPU time, so neighbours' load does not inflate it); the limit is `cores / sum` images/s.
 * Then `classifyStream` at the default settings (the classifier's plan) over the same files, after a warm-up:
 * images/s (median of the rounds), its fraction of the limit, and the cores it kept busy (CPU ÷ wall time:
 * below the core count, something waited; at the core count but below the limit, the stages cost more
 * together than alone, or other processes took the CPU).
 *
 * `--configs auto,2x1,1x1` also runs `threads x workers` settings beside the plan (`auto`), alternating
 * per round, and prints each one's images/s.
 *
 *   node dist/bench/folder-limit.js [--images 96] [--models x1_0,textline] [--sets jpeg640,jpeg1080,png] [--rounds 3] [--configs auto] [--json]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { resolveArchitecture } from '../src/builder/architecture.js';
import { buildPPLCNet } from '../src/builder/pplcnet.js';
import { createClassifier } from '../src/classifier.js';
import { decodeImage } from '../src/image/decode.js';
import { prepareInto, preparedSize } from '../src/image/pipeline.js';
import type { Image8 } from '../src/image/resize.js';
import { imagenetLabels } from '../src/labels.js';
import { IMAGENET_PREPROCESS, type Preprocess, parseMetadata } from '../src/metadata.js';
import { readMetadataProps } from '../src/onnx/metadata-props.js';
import { createSession, ort } from '../src/runtime/session.js';
import { resolveModel } from '../src/models/resolve.js';
import { cpuMs, photoJpeg, scan } from './images.js';
import { benchWeights } from './paddle2onnx-style.js';

const SETS = {
  jpeg640: { what: 'JPEG photos 640x480', make: (i: number) => photoJpeg(640, 480, i + 1), ext: 'jpg' },
  jpeg1080: { what: 'JPEG photos 1920x1080', make: (i: number) => photoJpeg(1920, 1080, i + 1), ext: 'jpg' },
  png: { what: 'PNG scans 850x1100 (gray)', make: async (i: number) => sharp(scan(850, 1100, i + 1), { raw: { width: 850, height: 1100, channels: 1 } }).png().toBuffer(), ext: 'png' },
} as const;
type SetName = keyof typeof SETS;


interface Row {
  model: string;
  set: string;
  images: number;
  decodeMs: number;
  resizeMs: number;
  inferenceMs: number;
  limit: number;
  endToEnd: number;
  ratio: number;
  /** Cores the process kept busy end to end (CPU time ÷ wall time, default plan). */
  busy: number;
  plan: string;
  /** images/s of each `--configs` entry (median of the rounds). */
  configs: Record<string, number>;
}

/** `auto` → the plan; `2x1` → 2 intra-op threads, 1 worker. */
function configOptions(c: string): { threads?: number; workers?: number } {
  if (c === 'auto') return {};
  const m = /^(\d+)x(\d+)$/.exec(c);
  if (!m) throw new Error(`--configs: '${c}' is not auto or THREADSxWORKERS (e.g. 2x1)`);
  return { threads: Number(m[1]), workers: Number(m[2]) };
}

async function measure(modelName: string, modelPath: string, set: SetName, files: string[], rounds: number, configs: string[]): Promise<Row> {
  const meta = parseMetadata(readMetadataProps(await import('node:fs/promises').then((f) => f.readFile(modelPath))));
  const p: Preprocess = meta.preprocess ?? IMAGENET_PREPROCESS;
  // alone, one thread each: decode (sharp with one libvips thread, as in a worker)
  sharp.concurrency(1);
  let c0 = cpuMs();
  const decoded: Image8[] = [];
  for (const f of files) decoded.push(await decodeImage(f));
  const decodeMs = (cpuMs() - c0) / files.length;
  // resize + crop + normalize (one fused pass, as the classifier runs it), several passes for a stable figure
  const passes = 5;
  c0 = cpuMs();
  const tensors: Float32Array[] = [];
  for (let k = 0; k < passes; k++)
    for (const img of decoded) {
      const size = preparedSize(img.width, img.height, p);
      const data = new Float32Array(3 * size.width * size.height);
      prepareInto(img, p, data);
      if (k === 0) tensors.push(data);
    }
  const resizeMs = (cpuMs() - c0) / (passes * files.length);
  // inference: one intra-op thread, batch 8, no spinning
  const { session } = await createSession(modelPath, { ep: 'cpu', threads: 1, spinning: false });
  const [h, w] = meta.inputSize ?? [224, 224];
  const batch = 8;
  const feed = new Float32Array(batch * 3 * h * w);
  for (let k = 0; k < batch; k++) feed.set(tensors[k % tensors.length]!, k * 3 * h * w);
  const tensor = new ort.Tensor('float32', feed, [batch, 3, h, w]);
  for (let i = 0; i < 3; i++) await session.run({ [session.inputNames[0]!]: tensor });
  const runs = Math.max(4, Math.ceil(files.length / batch));
  c0 = cpuMs();
  for (let i = 0; i < runs; i++) await session.run({ [session.inputNames[0]!]: tensor });
  const inferenceMs = (cpuMs() - c0) / (runs * batch);
  await session.release();
  sharp.concurrency(0);
  const cores = availableParallelism();
  const limit = (1000 * cores) / (decodeMs + resizeMs + inferenceMs);
  // end to end at the default settings (and any other configs), alternating, after a warm-up that starts the
  // workers and the session's first run: the median of `rounds` (the machine is shared), and how many cores
  // the process kept busy (its CPU time over the wall time)
  const seen: Record<string, { rate: number; busy: number }[]> = {};
  let plan = '';
  for (let r = 0; r < rounds; r++) {
    for (const c of configs) {
      const clf = await createClassifier({ model: modelPath, ep: 'cpu', ...configOptions(c) });
      if (c === 'auto') plan = clf.plan.reason;
      for await (const _ of clf.classifyStream(files.slice(0, 3 * clf.plan.batchSize)));
      const c1 = cpuMs();
      const t0 = performance.now();
      let n = 0;
      for await (const b of clf.classifyStream(files)) n += b.filter((x) => !(x instanceof Error)).length;
      const wall = performance.now() - t0;
      (seen[c] ??= []).push({ rate: (1000 * n) / wall, busy: (cpuMs() - c1) / wall });
      await clf.close();
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const rates = Object.fromEntries(Object.entries(seen).map(([c, v]) => [c, median(v.map((x) => x.rate))]));
  const endToEnd = rates.auto ?? 0;
  const busy = median(seen.auto!.map((x) => x.busy));
  return { model: modelName, set: SETS[set].what, images: files.length, decodeMs, resizeMs, inferenceMs, limit, endToEnd, ratio: endToEnd / limit, busy, plan, configs: rates };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      images: { type: 'string', default: '96' },
      models: { type: 'string', default: 'x1_0,textline' },
      sets: { type: 'string', default: 'jpeg640,jpeg1080,png' },
      rounds: { type: 'string', default: '3' },
      configs: { type: 'string', default: 'auto' },
      json: { type: 'boolean', default: false },
    },
  });
  const dir = await mkdtemp(join(tmpdir(), 'pplcnet-limit-'));
  const load0 = loadavg()[0]!;
  try {
    const models: [string, string][] = [];
    for (const m of values.models.split(',')) {
      if (m === 'x1_0') {
        const arch = resolveArchitecture({ scale: 1.0 });
        const built = buildPPLCNet(arch, { weights: benchWeights(arch), description: { labels: imagenetLabels() } });
        const path = join(dir, 'x1_0.onnx');
        await writeFile(path, built.bytes);
        models.push(['x1_0 (224)', path]);
      } else if (m === 'textline') {
        const r = await resolveModel('PP-LCNet_x0_25_textline_ori', { cacheDir: join(dir, 'cache') });
        const path = join(dir, 'textline.onnx');
        await writeFile(path, r.bytes);
        models.push(['textline (80x160)', path]);
      } else throw new Error(`unknown model ${m}: x1_0 or textline`);
    }
    const n = Number(values.images);
    const rows: Row[] = [];
    for (const set of values.sets.split(',') as SetName[]) {
      if (!SETS[set]) throw new Error(`unknown set ${set}: ${Object.keys(SETS).join(', ')}`);
      const folder = join(dir, set);
      await mkdir(folder);
      const files: string[] = [];
      for (let i = 0; i < n; i++) {
        const f = join(folder, `${String(i).padStart(4, '0')}.${SETS[set].ext}`);
        await writeFile(f, await SETS[set].make(i));
        files.push(f);
      }
      for (const [name, path] of models) {
        const configs = values.configs.split(',');
        if (!configs.includes('auto')) configs.unshift('auto');
        const row = await measure(name, path, set, files, Number(values.rounds), configs);
        rows.push(row);
        if (values.json) console.log(JSON.stringify(row));
      }
    }
    if (!values.json) {
      const cores = availableParallelism();
      console.log(`${cores} cores, load average ${load0.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end; per-image CPU ms on one thread`);
      console.log('| model | images | decode | resize+crop+normalize | inference (batch 8) | limit img/s | predict img/s | of limit | cores busy |');
      console.log('|---|---|---|---|---|---|---|---|---|');
      for (const r of rows) {
        const others = Object.entries(r.configs).filter(([c]) => c !== 'auto');
        const extra = others.length ? ` (${others.map(([c, v]) => `${c}: ${v.toFixed(0)}`).join(', ')})` : '';
        console.log(`| ${r.model} | ${r.images} ${r.set} | ${r.decodeMs.toFixed(2)} | ${r.resizeMs.toFixed(2)} | ${r.inferenceMs.toFixed(2)} | ${r.limit.toFixed(0)} | ${r.endToEnd.toFixed(0)}${extra} | ${(100 * r.ratio).toFixed(0)}% | ${r.busy.toFixed(2)} |`);
      }
      console.log(`plan: ${rows[0]?.plan ?? ''}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) await main();
