/**
 * Peak memory (max RSS) and time of preprocessing one image at the pixel limit, per format, each in a fresh
 * process: what a maximal image costs a `predict` worker.
 *
 *   node dist/bench/image-limit.js [--side 16383] [--formats png,jpeg,png16,bmp]
 *
 * The images are generated (a gradient; decoding memory does not depend on the content) in a temporary
 * folder and removed afterwards.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { preprocess } from '../src/image/preprocess.js';
import { IMAGENET_PREPROCESS } from '../src/metadata.js';

/** A 1-bit BMP of side x side (two palette colours, stripes), written row by row. */
async function writeBmp(path: string, side: number): Promise<void> {
  const stride = Math.ceil(side / 32) * 4;
  const header = Buffer.alloc(62);
  header.write('BM', 0, 'latin1');
  header.writeUInt32LE(62 + stride * side, 2);
  header.writeUInt32LE(62, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(side, 18);
  header.writeInt32LE(side, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(1, 28);
  header.set([0, 0, 0, 0, 255, 255, 255, 0], 54);
  const f = await open(path, 'w');
  await f.write(header);
  const rows = Buffer.alloc(stride * 256, 0x0f);
  for (let y = 0; y < side; y += 256) await f.write(rows, 0, stride * Math.min(256, side - y));
  await f.close();
}

async function makeImage(dir: string, format: string, side: number): Promise<string> {
  const path = join(dir, `limit.${format}`);
  if (format === 'bmp') {
    await writeBmp(path, side);
    return path;
  }
  const raw = { width: side, height: side, channels: 3 as const };
  const base = sharp({ create: { ...raw, background: { r: 90, g: 140, b: 200 } }, limitInputPixels: false });
  if (format === 'png') await base.png({ compressionLevel: 1 }).toFile(path);
  else if (format === 'jpeg') await base.jpeg({ quality: 80 }).toFile(path);
  else if (format === 'png16') await base.toColourspace('rgb16').png({ compressionLevel: 1 }).toFile(path);
  else throw new Error(`unknown format ${format}`);
  return path;
}

async function child(file: string): Promise<void> {
  const t0 = performance.now();
  const r = await preprocess(file, IMAGENET_PREPROCESS);
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ maxRssMB: process.resourceUsage().maxRSS / 1024, ms, out: [r.width, r.height] }));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { side: { type: 'string', default: '16383' }, formats: { type: 'string', default: 'png,jpeg,png16,bmp' }, child: { type: 'string' } } });
  if (values.child) return child(values.child);
  const side = Number(values.side);
  const dir = await mkdtemp(join(tmpdir(), 'pplcnet-limit-'));
  try {
    const idle = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.resourceUsage().maxRSS / 1024))'], { encoding: 'utf8' });
    console.log(`side ${side} (${side * side} pixels); an idle node process: ${Number(idle.stdout).toFixed(0)} MB`);
    for (const format of values.formats.split(',')) {
      const file = await makeImage(dir, format, side);
      const me = fileURLToPath(import.meta.url);
      const r = spawnSync(process.execPath, [me, '--child', file], { encoding: 'utf8', env: { ...process.env, UV_THREADPOOL_SIZE: '4' } });
      if (r.status !== 0) {
        console.log(`${format}: failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
        continue;
      }
      const o = JSON.parse(r.stdout) as { maxRssMB: number; ms: number };
      console.log(`${format.padEnd(6)} peak RSS ${o.maxRssMB.toFixed(0).padStart(5)} MB  (${((o.maxRssMB * 2 ** 20) / (side * side)).toFixed(2)} bytes/pixel)  ${(o.ms / 1000).toFixed(1)} s`);
      await rm(file);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
