import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { PplcnetError } from '../../../src/errors.js';
import { decodeBmp } from '../../../src/image/bmp.js';
import { decodeImage } from '../../../src/image/decode.js';
import { normalizeInto, prepareInto, resizeAndCrop } from '../../../src/image/preprocess.js';
import { centerCrop, resizeLinear, resizeShortSize, useJavaScriptLoops } from '../../../src/image/resize.js';
import { IMAGENET_PREPROCESS, type Preprocess } from '../../../src/metadata.js';
import { FIXTURES } from '../../fixtures/index.js';

interface Ref {
  source: string;
  decoded: [number, number];
  resized: [number, number];
  short: string;
  exact: string;
}

const refs = async (): Promise<Ref[]> => JSON.parse(await readFile(join(FIXTURES.preprocess, 'refs.json'), 'utf8')).images;

async function pixels(file: string): Promise<Uint8Array> {
  return new Uint8Array(await sharp(join(FIXTURES.preprocess, file)).raw().toBuffer());
}

function firstDifference(a: Uint8Array, b: Uint8Array, width: number): string | undefined {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      const px = Math.floor(i / 3);
      return `pixel (${px % width}, ${Math.floor(px / width)}) channel ${i % 3}: ${a[i]} vs OpenCV ${b[i]}`;
    }
  }
  return undefined;
}

const EXACT: Preprocess = { ...IMAGENET_PREPROCESS, resize: { mode: 'exact', width: 160, height: 80 }, crop: undefined };

describe('preprocessing against OpenCV 4.6 (identical bytes)', async () => {
  for (const r of await refs()) {
    test(`${r.source}: decode, resize_short 256 + crop 224, and resize to 160x80`, async () => {
      const img = await decodeImage(join(FIXTURES.preprocess, r.source));
      assert.deepEqual([img.width, img.height], r.decoded, 'decoded size (EXIF orientation applied)');
      assert.deepEqual(resizeShortSize(img.width, img.height, 256), r.resized);
      const short = resizeAndCrop(img, IMAGENET_PREPROCESS, r.source);
      assert.equal(firstDifference(short.data, await pixels(r.short), 224), undefined);
      const exact = resizeAndCrop(img, EXACT, r.source);
      assert.equal(firstDifference(exact.data, await pixels(r.exact), 160), undefined);
      // the fused resize + normalize (WebAssembly, and its JavaScript fallback) gives OpenCV's bytes normalized
      for (const [p, file, w, h] of [[IMAGENET_PREPROCESS, r.short, 224, 224], [EXACT, r.exact, 160, 80]] as const) {
        const expected = new Float32Array(3 * w * h);
        normalizeInto({ width: w, height: h, channels: 3, data: await pixels(file) }, p, expected);
        for (const js of [false, true]) {
          useJavaScriptLoops(js);
          const got = new Float32Array(3 * w * h);
          try {
            assert.deepEqual(prepareInto(img, p, got, 0, r.source), { width: w, height: h });
          } finally {
            useJavaScriptLoops(false);
          }
          const at = got.findIndex((v, i) => !Object.is(v, expected[i]));
          assert.equal(at, -1, `${js ? 'JavaScript' : 'WebAssembly'} ${w}x${h}: value ${at} is ${got[at]}, OpenCV's bytes normalized give ${expected[at]}`);
        }
      }
    });
  }
});

describe('resize details', () => {
  test('resize_short uses Python rounding (half to even)', () => {
    // 256/200 = 1.28: 333·1.28 = 426.24 → 426; a .5 case: w=5, h=2, short=3 → 7.5 → 8 (even), h 3
    assert.deepEqual(resizeShortSize(333, 200, 256), [426, 256]);
    assert.deepEqual(resizeShortSize(5, 2, 3), [8, 3]);
    assert.deepEqual(resizeShortSize(7, 2, 3), [10, 3]); // 10.5 → 10
  });

  test('equal size copies; a crop larger than the image is a clear error', () => {
    const img = { width: 3, height: 2, channels: 3, data: Uint8Array.from({ length: 18 }, (_, i) => i * 7) };
    assert.deepEqual(resizeLinear(img, 3, 2).data, img.data);
    assert.throws(() => centerCrop(img, 4, 2, 'x.png'), /x\.png: 3x2 after resizing is smaller than the 4x2 crop/);
    assert.throws(() => resizeLinear(img, 0, 2), RangeError);
  });

  test('normalization: PaddleClas (x·s − mean)/std and PaddleX x·(s/std) − mean/std in float32, CHW, channel order', () => {
    const img = { width: 2, height: 1, channels: 3, data: Uint8Array.of(0, 128, 255, 10, 20, 30) };
    const f = Math.fround;
    const out = new Float32Array(6);
    normalizeInto(img, IMAGENET_PREPROCESS, out);
    const clas = (v: number, c: number) => f(f(f(v * f(1 / 255)) - f(IMAGENET_PREPROCESS.mean[c]!)) / f(IMAGENET_PREPROCESS.std[c]!));
    assert.deepEqual([...out], [clas(0, 0), clas(10, 0), clas(128, 1), clas(20, 1), clas(255, 2), clas(30, 2)]);
    normalizeInto(img, { ...IMAGENET_PREPROCESS, normalization: 'paddlex', channelOrder: 'bgr' }, out);
    const x = (v: number, c: number) => f(f(v * f(1 / 255 / IMAGENET_PREPROCESS.std[c]!)) + f(-IMAGENET_PREPROCESS.mean[c]! / IMAGENET_PREPROCESS.std[c]!));
    assert.deepEqual([...out], [x(255, 0), x(30, 0), x(128, 1), x(20, 1), x(0, 2), x(10, 2)]);
  });
});

describe('decoding errors and BMP', () => {
  test('a missing file, an empty file and garbage bytes give PplcnetError naming the input', async () => {
    await assert.rejects(decodeImage('/nonexistent/cat.jpg'), (e: unknown) => e instanceof PplcnetError && e.code === 'E_IMAGE' && /cat\.jpg: no such file/.test(e.message));
    await assert.rejects(decodeImage(new Uint8Array(0), 'empty.png'), /empty\.png: the file is empty/);
    await assert.rejects(decodeImage(Uint8Array.from({ length: 64 }, (_, i) => i), 'junk.jpg'), /junk\.jpg: cannot decode the image/);
  });

  test('BMP: 8-bit palette, top-down rows, truncation and RLE refused', () => {
    // 2x2, 8-bit palette of 2 colours, top-down (negative height)
    const head = 14 + 40;
    const pal = 2 * 4;
    const stride = 4;
    const buf = new Uint8Array(head + pal + stride * 2);
    const dv = new DataView(buf.buffer);
    buf[0] = 0x42;
    buf[1] = 0x4d;
    dv.setUint32(10, head + pal, true);
    dv.setUint32(14, 40, true);
    dv.setInt32(18, 2, true);
    dv.setInt32(22, -2, true);
    dv.setUint16(28, 8, true);
    dv.setUint32(46, 2, true);
    buf.set([255, 0, 0, 0, 0, 0, 255, 0], head); // palette BGRx: blue, red
    buf.set([0, 1, 0, 0, 1, 0, 0, 0], head + pal);
    const img = decodeBmp(buf, 'p.bmp');
    assert.deepEqual([...img.data], [0, 0, 255, 255, 0, 0, 255, 0, 0, 0, 0, 255]);
    assert.throws(() => decodeBmp(buf.subarray(0, buf.length - 3), 'p.bmp'), /p\.bmp: truncated BMP/);
    dv.setUint32(30, 1, true);
    assert.throws(() => decodeBmp(buf, 'p.bmp'), /compression 1 .* not supported/);
  });
});

