/**
 * `decode: 'fast'` (shrink-on-load, not Paddle-exact) against the exact decode:
 *  1. decode CPU per image (process CPU time, one libvips thread, as in a worker) for JPEG photos of
 *     640x480, 1920x1080 and 4000x3000, with each model's resize target deciding the libjpeg scale;
 *  2. end-to-end `classifyStream` images/s both ways (the classifier's plan; best of the rounds, alternating);
 *  3. how far the probabilities move: max |Δprob| and top-1 agreement, on the text-line model over the test
 *     fixtures' JPEGs and 20x JPEG "scans" of the 20 rendered text lines, and on x1_0 (bench weights) and the
 *     text-line model over large synthetic photos.
 *
 *   node dist/bench/decode-fast.js [--images 8] [--rounds 2] [--json]
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { resolveArchitecture } from '../src/builder/architecture.js';
import { buildPPLCNet } from '../src/builder/pplcnet.js';
import { type Classification, createClassifier } from '../src/classifier.js';
import { decodeImage } from '../src/image/decode.js';
import type { DecodeMode } from '../src/image/fast-decode.js';
import { imagenetLabels } from '../src/labels.js';
import { IMAGENET_PREPROCESS, type Preprocess, parseMetadata } from '../src/metadata.js';
import { readMetadataProps } from '../src/onnx/metadata-props.js';
import { resolveModel } from '../src/models/resolve.js';
import { cpuMs, photoJpeg } from './images.js';
import { benchWeights } from './paddle2onnx-style.js';

const SIZES = [
  [640, 480],
  [1920, 1080],
  [4000, 3000],
] as const;

interface Model {
  name: string;
  path: string;
  preprocess: Preprocess;
}

async function decodeCpu(files: string[], p: Preprocess, decode: DecodeMode): Promise<{ ms: number; scale: string }> {
  sharp.concurrency(1);
  const scales = new Set<string>();
  const c0 = cpuMs();
  for (const f of files) {
    const img = await decodeImage(f, f, { decode, resize: p.resize });
    scales.add(img.scaledFrom ? `1/${img.scaledFrom.scale}` : '1');
  }
  const ms = (cpuMs() - c0) / files.length;
  sharp.concurrency(0);
  return { ms, scale: [...scales].join(',') };
}

async function imagesPerSecond(model: Model, files: string[], decode: DecodeMode): Promise<number> {
  const clf = await createClassifier({ model: model.path, ep: 'cpu', decode });
  const t0 = performance.now();
  let n = 0;
  for await (const b of clf.classifyStream(files)) n += b.filter((x) => !(x instanceof Error)).length;
  const ips = (1000 * n) / (performance.now() - t0);
  await clf.close();
  return ips;
}

interface Movement {
  model: string;
  images: string;
  count: number;
  reduced: number;
  maxDelta: number;
  top1Agree: number;
}

async function movement(model: Model, what: string, files: string[]): Promise<Movement> {
  const results: Record<DecodeMode, Classification[]> = { exact: [], fast: [] };
  let reduced = 0;
  for (const decode of ['exact', 'fast'] as const) {
    const clf = await createClassifier({ model: model.path, ep: 'cpu', workers: 0, decode });
    for (const f of files) {
      results[decode].push(await clf.classify(f));
      if (decode === 'fast' && (await decodeImage(f, f, { decode, resize: clf.preprocess.resize })).scaledFrom) reduced++;
    }
    await clf.close();
  }
  let maxDelta = 0;
  let agree = 0;
  for (let i = 0; i < files.length; i++) {
    const a = results.exact[i]!;
    const b = results.fast[i]!;
    for (let k = 0; k < a.probs.length; k++) maxDelta = Math.max(maxDelta, Math.abs(a.probs[k]! - b.probs[k]!));
    if (a.topk[0]!.classId === b.topk[0]!.classId) agree++;
  }
  return { model: model.name, images: what, count: files.length, reduced, maxDelta, top1Agree: agree };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      images: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '2' },
      json: { type: 'boolean', default: false },
    },
  });
  const n = Number(values.images);
  const dir = await mkdtemp(join(tmpdir(), 'pplcnet-decode-fast-'));
  const load0 = loadavg()[0]!;
  try {
    const arch = resolveArchitecture({ scale: 1.0 });
    const built = buildPPLCNet(arch, { weights: benchWeights(arch), description: { labels: imagenetLabels() } });
    const x1Path = join(dir, 'x1_0.onnx');
    await writeFile(x1Path, built.bytes);
    const tl = await resolveModel('PP-LCNet_x0_25_textline_ori', { cacheDir: join(dir, 'cache') });
    const tlPath = join(dir, 'textline.onnx');
    await writeFile(tlPath, tl.bytes);
    const models: Model[] = [
      { name: 'x1_0 (224)', path: x1Path, preprocess: IMAGENET_PREPROCESS },
      { name: 'textline (80x160)', path: tlPath, preprocess: parseMetadata(readMetadataProps(tl.bytes, tlPath)).preprocess! },
    ];
    const sets: Record<string, string[]> = {};
    for (const [w, h] of SIZES) {
      const folder = join(dir, `${w}x${h}`);
      await mkdir(folder);
      sets[`${w}x${h}`] = [];
      for (let i = 0; i < n; i++) {
        const f = join(folder, `${i}.jpg`);
        await writeFile(f, await photoJpeg(w, h, 1000 * w + i + 1));
        sets[`${w}x${h}`]!.push(f);
      }
    }
    // speed
    const speed: Record<string, unknown>[] = [];
    for (const model of models) {
      for (const [set, files] of Object.entries(sets)) {
        const row: Record<string, number | string> = { model: model.name, set };
        for (const decode of ['exact', 'fast'] as const) {
          const d = await decodeCpu(files, model.preprocess, decode);
          row[`${decode}DecodeMs`] = d.ms;
          if (decode === 'fast') row.scale = d.scale;
        }
        for (let r = 0; r < Number(values.rounds); r++) {
          for (const decode of ['exact', 'fast'] as const) {
            const ips = await imagesPerSecond(model, files, decode);
            row[`${decode}Ips`] = Math.max(Number(row[`${decode}Ips`] ?? 0), ips);
          }
        }
        speed.push(row);
      }
    }
    // probability movement
    const fixtureDir = new URL('../../test/fixtures/', import.meta.url).pathname;
    const fixtureJpegs = (await readdir(join(fixtureDir, 'preprocess'))).filter((f) => f.endsWith('.jpg')).map((f) => join(fixtureDir, 'preprocess', f));
    const scans: string[] = [];
    await mkdir(join(dir, 'scans'));
    for (const f of (await readdir(join(fixtureDir, 'textlines'))).filter((x) => x.endsWith('.png')).sort()) {
      const out = join(dir, 'scans', f.replace('.png', '.jpg'));
      const meta = await sharp(join(fixtureDir, 'textlines', f)).metadata();
      await writeFile(out, await sharp(await readFile(join(fixtureDir, 'textlines', f))).resize(meta.width * 20, meta.height * 20, { kernel: 'cubic' }).jpeg({ quality: 90 }).toBuffer());
      scans.push(out);
    }
    const large = [...sets['1920x1080']!, ...sets['4000x3000']!];
    const moves = [
      await movement(models[1]!, "test fixtures' JPEGs", fixtureJpegs),
      await movement(models[1]!, 'text lines scanned 20x (JPEG)', scans),
      await movement(models[1]!, 'photos 1920x1080 + 4000x3000', large),
      await movement(models[0]!, 'photos 1920x1080 + 4000x3000', large),
    ];
    const load1 = loadavg()[0]!;
    if (values.json) {
      console.log(JSON.stringify({ cores: availableParallelism(), load: [load0, load1], speed, moves }));
      return;
    }
    console.log(`${availableParallelism()} cores, load average ${load0.toFixed(2)} → ${load1.toFixed(2)}; ${n} images per size`);
    console.log('| model | JPEG photos | libjpeg scale | decode CPU exact | decode CPU fast | predict img/s exact | predict img/s fast |');
    console.log('|---|---|---|---|---|---|---|');
    for (const r of speed) {
      const f = (k: string, d = 1): string => Number(r[k]).toFixed(d);
      console.log(`| ${r.model} | ${r.set} | ${r.scale} | ${f('exactDecodeMs')} ms | ${f('fastDecodeMs')} ms | ${f('exactIps')} | ${f('fastIps')} |`);
    }
    console.log('');
    console.log('| model | images | decoded at reduced scale | max abs Δprob | top-1 agreement |');
    console.log('|---|---|---|---|---|');
    for (const m of moves) console.log(`| ${m.model} | ${m.images} | ${m.reduced}/${m.count} | ${m.maxDelta.toExponential(2)} | ${m.top1Agree}/${m.count} |`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
