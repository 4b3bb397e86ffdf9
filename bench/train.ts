/**
 * What `train` costs beside `embed` on the same N images: `embed` (the CLI's loop: one image at a time, no
 * workers), then `trainClassifier` with a cold feature cache (features through the classifier's workers and
 * batches, then the head), then again with the cache warm; and the head alone on 10,000 × 1280 synthetic
 * features × 10 classes (one core, fixed epochs). Models: an x1_0 at 224 (random initialization, the ImageNet
 * backbones' cost) and the shipped text-line model. Prints the load average first.
 *
 *   node dist/bench/train.js [--images 200] [--models x1_0,textline] [--epochs 20]
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildPPLCNet, createClassifier, trainClassifier, trainHead } from '../src/index.js';
import { photoJpeg, rng } from './images.js';

async function dataset(dir: string, n: number): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const cls = `class${i % 4}`;
    await mkdir(join(dir, cls), { recursive: true });
    const f = join(dir, cls, `${i}.jpg`);
    await writeFile(f, await photoJpeg(640, 480, 1000 + i));
    files.push(f);
  }
  return files;
}

async function embedLoop(model: string, files: readonly string[], cacheDir: string): Promise<number> {
  const clf = await createClassifier({ model, ep: 'cpu', workers: 0, cacheDir });
  const t0 = performance.now();
  for (const f of files) await clf.embed(f);
  const ms = performance.now() - t0;
  await clf.close();
  return ms;
}

function headAlone(epochs: number): { ms: number; perEpoch: number } {
  const n = 10_000;
  const dims = 1280;
  const k = 10;
  const r = rng(5);
  const x = new Float32Array(n * dims);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % k;
    for (let j = 0; j < dims; j++) x[i * dims + j] = r() + (j % k === labels[i] ? 0.3 : 0);
  }
  const t0 = performance.now();
  const h = trainHead({ x, n, dims, labels }, undefined, { classes: k, epochs, patience: epochs });
  const ms = performance.now() - t0;
  return { ms, perEpoch: ms / h.epochs.length };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { images: { type: 'string', default: '200' }, models: { type: 'string', default: 'x1_0,textline' }, epochs: { type: 'string', default: '20' } } });
  const n = Number(values.images);
  const epochs = Number(values.epochs);
  console.log(`load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  const dir = await mkdtemp(join(tmpdir(), 'pplcnet-train-bench-'));
  try {
    const files = await dataset(join(dir, 'data'), n);
    const x1 = join(dir, 'x1_0.onnx');
    await writeFile(x1, buildPPLCNet({ scale: 1.0 }, { description: { name: 'x1_0', labels: Array.from({ length: 1000 }, (_, i) => String(i)) } }).bytes);
    for (const name of values.models.split(',')) {
      const model = name === 'x1_0' ? x1 : 'PP-LCNet_x0_25_textline_ori';
      const cacheDir = join(dir, `cache-${name}`);
      const embed = await embedLoop(model, files, cacheDir);
      const t0 = performance.now();
      const cold = await trainClassifier({ model, data: join(dir, 'data'), cacheDir, epochs, patience: epochs });
      const coldMs = performance.now() - t0;
      const t1 = performance.now();
      const warm = await trainClassifier({ model, data: join(dir, 'data'), cacheDir, epochs, patience: epochs });
      const warmMs = performance.now() - t1;
      console.log(
        `${name}: ${n} images; embed ${(embed / 1000).toFixed(1)} s; train cold ${(coldMs / 1000).toFixed(1)} s (features ${(cold.features.ms / 1000).toFixed(1)} s, head ${(cold.trainMs / 1000).toFixed(2)} s) = ${(coldMs / embed).toFixed(2)}x embed; train warm ${(warmMs / 1000).toFixed(1)} s (features ${(warm.features.ms / 1000).toFixed(1)} s, all ${warm.features.train.cached + warm.features.val.cached} cached)`,
      );
    }
    const head = headAlone(epochs);
    console.log(`head alone: 10000 x 1280 x 10 classes, ${epochs} epochs: ${(head.ms / 1000).toFixed(1)} s (${(head.perEpoch / 1000).toFixed(2)} s per epoch, one core)`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
