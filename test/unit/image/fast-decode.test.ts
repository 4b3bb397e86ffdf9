/**
 * `decode: 'fast'`: which JPEGs are decoded at reduced scale and to what size, that the pixels come from
 * libjpeg's DCT scaling (not a subsample), and that the option reaches both the main-thread and the worker
 * path of a classifier while PNGs and small JPEGs stay bit-identical to the exact decode.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { type Classification, type Classifier, createClassifier } from '../../../src/classifier.js';
import type { PplcnetError } from '../../../src/errors.js';
import { decodeImage } from '../../../src/image/decode.js';
import { decodeMode, resizeTarget, shrinkPlan } from '../../../src/image/fast-decode.js';
import { IMAGENET_PREPROCESS } from '../../../src/metadata.js';
import { FIXTURES } from '../../fixtures/index.js';
import { tempDir, xorshift32 } from '../../helpers.js';

/** A seeded noisy RGB JPEG (4:4:4, so chroma is not subsampled). */
async function noiseJpeg(width: number, height: number, seed: number, orientation?: number): Promise<Buffer> {
  const next = xorshift32(seed);
  const px = Buffer.alloc(width * height * 3);
  // smooth gradients plus noise: JPEG has detail to keep at every scale
  for (let y = 0, o = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++, o++) px[o] = Math.min(255, ((x * (c + 1) + y * (3 - c)) % 200) + (next() % 56));
  const img = sharp(px, { raw: { width, height, channels: 3 } }).jpeg({ quality: 92, chromaSubsampling: '4:4:4' });
  return (orientation ? img.withMetadata({ orientation }) : img).toBuffer();
}

const meanAbs = (a: Uint8Array, b: Uint8Array): number => {
  assert.equal(a.length, b.length);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!);
  return s / a.length;
};

describe('fast decode: the scale and the size', () => {
  test('the largest libjpeg scale whose size asked stays at least the resize target', () => {
    for (const [w, h] of [
      [4000, 3000],
      [1920, 1080],
      [640, 480],
      [3000, 4000],
      [5000, 700],
    ] as const) {
      for (const resize of [IMAGENET_PREPROCESS.resize, { mode: 'exact' as const, width: 160, height: 80 }]) {
        const target = resizeTarget(w, h, resize);
        const plan = shrinkPlan(w, h, target);
        // sharp decodes at 1/8 from a shrink of 9, 1/4 from 5 (1/2, from 3, is not used): the size asked is floor(dim / that)
        const bands = [
          [8, 9],
          [4, 5],
        ] as const;
        const fits = bands.filter(([, from]) => Math.floor(w / from) >= target[0] && Math.floor(h / from) >= target[1]);
        if (fits.length === 0) {
          assert.equal(plan, undefined, `${w}x${h}`);
          continue;
        }
        const [scale, from] = fits[0]!;
        assert.deepEqual(plan, { scale, width: Math.floor(w / from), height: Math.floor(h / from) }, `${w}x${h}`);
        assert.ok(plan!.width >= target[0] && plan!.height >= target[1]);
        // the shrink sharp sees is in the band of that scale, and libjpeg's image (ceil(dim/scale)) is larger still
        assert.ok(Math.min(w / plan!.width, h / plan!.height) >= from);
        assert.ok(Math.ceil(w / scale) >= plan!.width && Math.ceil(h / scale) >= plan!.height);
      }
    }
    // 640x480 for a 256 short side, or for 160x80 (6x but under 1/4's band for the width): decoded exactly
    assert.equal(shrinkPlan(640, 480, resizeTarget(640, 480, IMAGENET_PREPROCESS.resize)), undefined);
    assert.equal(shrinkPlan(640, 480, [160, 80]), undefined);
    assert.equal(shrinkPlan(1000, 500, [160, 80])?.scale, 4);
    assert.equal(shrinkPlan(4000, 3000, resizeTarget(4000, 3000, IMAGENET_PREPROCESS.resize))?.scale, 8);
  });

  test('decodeImage: a large JPEG comes out at the planned size, a PNG and a small JPEG at full size', async () => {
    const big = await noiseJpeg(2400, 1800, 1);
    const resize = IMAGENET_PREPROCESS.resize;
    const fast = await decodeImage(big, 'big.jpg', { decode: 'fast', resize });
    const plan = shrinkPlan(2400, 1800, resizeTarget(2400, 1800, resize))!;
    assert.equal(plan.scale, 4);
    assert.deepEqual([fast.width, fast.height, fast.channels], [plan.width, plan.height, 3]);
    assert.deepEqual(fast.scaledFrom, { width: 2400, height: 1800, scale: 4 });
    // without the resize it follows, or in exact mode, nothing is scaled
    for (const options of [{ decode: 'fast' as const }, { decode: 'exact' as const, resize }, undefined]) {
      const full = await decodeImage(big, 'big.jpg', options);
      assert.deepEqual([full.width, full.height, full.scaledFrom], [2400, 1800, undefined]);
    }
    const png = await sharp(await noiseJpeg(2400, 1800, 2)).png().toBuffer();
    const pngFast = await decodeImage(png, 'big.png', { decode: 'fast', resize });
    assert.deepEqual([pngFast.width, pngFast.height, pngFast.scaledFrom], [2400, 1800, undefined]);
    const small = await noiseJpeg(700, 500, 3);
    const smallFast = await decodeImage(small, 'small.jpg', { decode: 'fast', resize });
    assert.deepEqual(smallFast.data, (await decodeImage(small, 'small.jpg')).data);
  });

  test('EXIF orientation: the size planned is of the displayed image', async () => {
    const rotated = await noiseJpeg(2400, 1800, 4, 6); // stored landscape, displayed portrait 1800x2400
    const resize = { mode: 'exact' as const, width: 160, height: 400 };
    const fast = await decodeImage(rotated, 'rotated.jpg', { decode: 'fast', resize });
    const plan = shrinkPlan(1800, 2400, [160, 400])!;
    assert.deepEqual([fast.width, fast.height], [plan.width, plan.height]);
    assert.deepEqual(fast.scaledFrom, { width: 1800, height: 2400, scale: plan.scale });
    // the same picture as the exact decode reduced by sharp from full size (not a transposed one)
    const exact = await decodeImage(rotated, 'rotated.jpg');
    const reduced = await sharp(exact.data, { raw: { width: exact.width, height: exact.height, channels: 3 } }).resize(plan.width, plan.height, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
    assert.ok(meanAbs(fast.data, reduced) < 6, `mean |diff| ${meanAbs(fast.data, reduced)}`);
  });

  test("the pixels are libjpeg's scaled decode, not a subsample of the full one", async () => {
    // one-pixel columns, black and white: any subsample keeps 0 and 255; libjpeg's 1/8 IDCT averages each block
    const w = 1440;
    const h = 720;
    const px = Buffer.alloc(w * h * 3);
    for (let i = 0; i < w * h; i++) px.fill(i % 2 ? 255 : 0, 3 * i, 3 * i + 3);
    const jpeg = await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
    const resize = { mode: 'exact' as const, width: 160, height: 80 };
    const fast = await decodeImage(jpeg, 'stripes.jpg', { decode: 'fast', resize });
    assert.equal(fast.scaledFrom?.scale, 8);
    const exact = await decodeImage(jpeg, 'stripes.jpg');
    const spread = (d: Uint8Array): number => {
      let lo = 255;
      let hi = 0;
      for (const v of d) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
      return hi - lo;
    };
    assert.ok(spread(exact.data) > 200, 'the full decode keeps the stripes');
    assert.ok(spread(fast.data) <= 8, `fast decode spread ${spread(fast.data)}: each pixel is the mean of its 8x8 block`);
    // and it is the same picture as the full decode: the noise image, fast vs a kernel reduce of the full decode
    const photo = await noiseJpeg(w, h, 5);
    const photoFast = await decodeImage(photo, 'photo.jpg', { decode: 'fast', resize });
    const full = await decodeImage(photo, 'photo.jpg');
    const reduced = await sharp(full.data, { raw: { width: w, height: h, channels: 3 } }).resize(photoFast.width, photoFast.height, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
    const nearest = await sharp(full.data, { raw: { width: w, height: h, channels: 3 } }).resize(photoFast.width, photoFast.height, { fit: 'fill', kernel: 'nearest' }).raw().toBuffer();
    const d = meanAbs(photoFast.data, reduced);
    assert.ok(d > 0 && d < 6, `mean |fast − reduced full| = ${d}`);
    assert.ok(meanAbs(photoFast.data, nearest) > 2 * d, 'closer to an averaging reduce than to a subsample');
  });

  test('a bad mode is refused with the allowed values', () => {
    assert.equal(decodeMode(undefined), 'exact');
    assert.equal(decodeMode('fast'), 'fast');
    assert.throws(() => decodeMode('quick'), { name: 'RangeError', message: /one of 'exact', 'fast' for 'decode' but received "quick"/ });
  });

  test('decodeImage and preprocess refuse a bad mode too (not silently exact)', async () => {
    const jpeg = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).jpeg().toBuffer();
    await assert.rejects(decodeImage(jpeg, 'x.jpg', { decode: 'FAST' as never }), { name: 'RangeError', message: /'decode' but received "FAST"/ });
  });
});

describe('fast decode through the classifier: main thread and workers', () => {
  const cache = tempDir('fastdecode', { before, after });
  const files: Record<string, string> = {};
  const clfs: Record<string, Classifier> = {};
  before(async () => {
    const { writeFile } = await import('node:fs/promises');
    const line = await readFile(join(FIXTURES.textlines, '00_up.png'));
    // a large JPEG of a text line (a 20x scan of it), a PNG of the same, and a JPEG under 2x the 160x80 input
    const bigPixels = sharp(line).resize(254 * 20, 43 * 20, { kernel: 'cubic' });
    const entries: [string, Buffer][] = [
      ['big.jpg', await bigPixels.clone().jpeg({ quality: 90 }).toBuffer()],
      ['big.png', await bigPixels.clone().png({ compressionLevel: 1 }).toBuffer()],
      ['small.jpg', await sharp(line).resize(300, 150, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer()],
    ];
    for (const [name, bytes] of entries) {
      files[name] = join(cache.path, name);
      await writeFile(files[name]!, bytes);
    }
    const common = { model: 'PP-LCNet_x0_25_textline_ori', cacheDir: cache.path, ep: 'cpu', threads: 1 } as const;
    clfs.exact = await createClassifier({ ...common, workers: 0 });
    clfs.fastMain = await createClassifier({ ...common, workers: 0, decode: 'fast' });
    clfs.fastWorker = await createClassifier({ ...common, workers: 1, decode: 'fast' });
  });
  after(async () => {
    for (const c of Object.values(clfs)) await c.close();
  });

  const ok = (r: Classification | PplcnetError): Classification => {
    if (r instanceof Error) throw r;
    return r;
  };

  test('the classifier says its mode; a bad mode is refused before anything loads', async () => {
    assert.equal(clfs.exact!.decode, 'exact');
    assert.equal(clfs.fastWorker!.decode, 'fast');
    await assert.rejects(createClassifier({ model: 'PP-LCNet_x0_25_textline_ori', cacheDir: cache.path, decode: 'turbo' as 'fast' }), /one of 'exact', 'fast' for 'decode'/);
  });

  test('main thread and worker: the large JPEG moves, the PNG and the small JPEG are bit-identical', async () => {
    const order = ['big.jpg', 'big.png', 'small.jpg'].map((n) => files[n]!);
    const exact = (await clfs.exact!.classifyBatch(order)).map(ok);
    const main = (await clfs.fastMain!.classifyBatch(order)).map(ok);
    // more images than the batch: the stream prepares them in the worker thread
    const streamed: Classification[] = [];
    for await (const batch of clfs.fastWorker!.classifyStream([...order, ...order], { batchSize: 2 })) streamed.push(...batch.map(ok));
    assert.equal(clfs.fastWorker!.workers, 1);
    const prepared = await clfs.fastWorker!.prepare(files['big.jpg']!);
    const here = await clfs.fastMain!.prepare(files['big.jpg']!);
    assert.deepEqual(prepared.data, here.data, 'the worker decodes as the main thread does');
    for (const [i, r] of [...main, ...streamed.slice(0, 3), ...streamed.slice(3)].entries()) {
      const k = i % 3;
      if (k === 0) assert.notDeepEqual(r.probs, exact[0]!.probs, 'the large JPEG is decoded at reduced scale');
      else assert.deepEqual(r.probs, exact[k]!.probs, `${order[k]}: as exact`);
      assert.deepEqual(r.probs, main[k]!.probs, 'worker and main thread agree bit for bit');
    }
    // a large scan of a text line: top-1 stays, and the scores move less than 1e-3 (bench/decode-fast.ts
    // measured at most 5.3e-5 over the 20 rendered lines as 20x JPEG scans)
    assert.equal(main[0]!.topk[0]!.classId, exact[0]!.topk[0]!.classId);
    let delta = 0;
    for (let k = 0; k < exact[0]!.probs.length; k++) delta = Math.max(delta, Math.abs(main[0]!.probs[k]! - exact[0]!.probs[k]!));
    assert.ok(delta > 0 && delta < 1e-3, `max |Δprob| ${delta}`);
  });
});
