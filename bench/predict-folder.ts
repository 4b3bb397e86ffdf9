/**
 * End-to-end `predict` over a folder of generated JPEGs: images/s, and where the wall time goes (decode,
 * resize + crop, normalize, inference).
 *
 *   node dist/bench/predict-folder.js [--images 300] [--batch 8] [--threads 0] [--scale 1.0] [--workers N] [--spin on|off]
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { resolveArchitecture } from '../src/builder/architecture.js';
import { buildPPLCNet } from '../src/builder/pplcnet.js';
import { createClassifier } from '../src/classifier.js';
import { imagenetLabels } from '../src/labels.js';
import { benchWeights } from './paddle2onnx-style.js';

/** `count` JPEGs of ImageNet-like sizes (smooth content with edges), deterministic. */
export async function makeJpegs(dir: string, count: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const w = 400 + ((i * 37) % 240);
    const h = 300 + ((i * 53) % 200);
    const px = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const o = (y * w + x) * 3;
        px[o] = (x * 255) / w;
        px[o + 1] = (y * 255) / h;
        px[o + 2] = ((x + y + i * 13) % 64) * 4;
      }
    const f = join(dir, `img_${String(i).padStart(4, '0')}.jpg`);
    await writeFile(f, await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
    files.push(f);
  }
  return files;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      images: { type: 'string', default: '300' },
      batch: { type: 'string', default: '8' },
      threads: { type: 'string', default: '0' },
      scale: { type: 'string', default: '1.0' },
      workers: { type: 'string', default: '' },
      spin: { type: 'string', default: '' },
      json: { type: 'boolean', default: false },
    },
  });
  const dir = await mkdtemp(join(tmpdir(), 'pplcnet-folder-'));
  try {
    const files = await makeJpegs(join(dir, 'images'), Number(values.images));
    const arch = resolveArchitecture({ scale: Number(values.scale) });
    const model = buildPPLCNet(arch, { weights: benchWeights(arch), description: { labels: imagenetLabels() } });
    const modelPath = join(dir, 'model.onnx');
    await writeFile(modelPath, model.bytes);
    const clf = await createClassifier({ model: modelPath, ep: 'cpu', threads: Number(values.threads), cacheDir: join(dir, 'cache'), ...(values.workers ? { workers: Number(values.workers) } : {}), ...(values.spin ? { spinning: values.spin === 'on' } : {}) });
    const batch = Number(values.batch);
    const t0 = performance.now();
    let decode = 0;
    let pre = 0;
    let infer = 0;
    let n = 0;
    for await (const results of clf.classifyStream(files, { batchSize: batch })) {
      for (const r of results) {
        if (r instanceof Error) throw r;
        decode += r.timings.decodeMs;
        pre += r.timings.preprocessMs;
        n++;
      }
      const first = results.find((r) => !(r instanceof Error)) as { timings: { batchInferenceMs: number } };
      infer += first.timings.batchInferenceMs;
    }
    const wall = performance.now() - t0;
    const { plan } = clf;
    const workers = clf.workers;
    await clf.close();
    const row = {
      images: n,
      batch,
      threads: plan.threads,
      workers,
      wallMs: wall,
      imagesPerSec: (1000 * n) / wall,
      inferenceShare: infer / wall,
      decodeMsPerImage: decode / n,
      preprocessMsPerImage: pre / n,
      inferenceMsPerImage: infer / n,
      files: (await readdir(join(dir, 'images'))).length,
    };
    if (values.json) console.log(JSON.stringify(row));
    else
      console.log(
        `${n} JPEGs (400-640 x 300-500), batch ${batch}, ${row.threads} intra-op threads, ${row.workers} preprocessing worker(s): ${row.imagesPerSec.toFixed(1)} images/s; ` +
          `inference ${(100 * row.inferenceShare).toFixed(0)}% of wall time; per image (wall times, overlapping across images in hand): decode ${row.decodeMsPerImage.toFixed(2)} ms, resize+crop+normalize ${row.preprocessMsPerImage.toFixed(2)} ms, inference ${row.inferenceMsPerImage.toFixed(2)} ms`,
      );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) await main();
