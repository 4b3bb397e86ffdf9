import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { createClassifier } from '../../../src/classifier.js';
import { PplcnetError } from '../../../src/errors.js';
import { decodeBmp } from '../../../src/image/bmp.js';
import { decodeImage } from '../../../src/image/decode.js';
import { MAX_PIXELS, sniffFormat } from '../../../src/image/limits.js';
import { tempDir } from '../../helpers.js';
import { pngHeader } from '../../png.js';

/** A BMP with a BITMAPINFOHEADER and whatever header values a test wants; `body` bytes follow the header. */
function bmp(h: { width: number; height: number; bpp: number; compression?: number; colors?: number; dataOffset?: number }, body = 20): Uint8Array {
  const buf = new Uint8Array(54 + body);
  const dv = new DataView(buf.buffer);
  buf[0] = 0x42;
  buf[1] = 0x4d;
  dv.setUint32(2, buf.length, true);
  dv.setUint32(10, h.dataOffset ?? 54, true);
  dv.setUint32(14, 40, true);
  dv.setInt32(18, h.width, true);
  dv.setInt32(22, h.height, true);
  dv.setUint16(26, 1, true);
  dv.setUint16(28, h.bpp, true);
  dv.setUint32(30, h.compression ?? 0, true);
  dv.setUint32(46, h.colors ?? 0, true);
  return buf;
}

/** A baseline JPEG frame header declaring width x height, 3 components, and nothing else. */
function jpegHeader(width: number, height: number): Uint8Array {
  return Uint8Array.of(0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, height >> 8, height & 255, width >> 8, width & 255, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xd9);
}

const isImageError = (re: RegExp) => (e: unknown) => e instanceof PplcnetError && e.code === 'E_IMAGE' && re.test(e.message);

describe('image bombs: one pixel limit before any allocation', () => {
  test('the limit is sharp\'s limitInputPixels default, 16383 x 16383', () => {
    assert.equal(MAX_PIXELS, 268402689);
    assert.equal(MAX_PIXELS, 16383 * 16383);
  });

  test('a 74-byte BMP declaring 37000x37000 at 0 bits per pixel is refused at once', async () => {
    const bomb = bmp({ width: 37000, height: 37000, bpp: 0 });
    assert.equal(bomb.length, 74);
    const t0 = performance.now();
    await assert.rejects(decodeImage(bomb, 'bomb.bmp'), isImageError(/^bomb\.bmp: BMP with 0 bits per pixel; expected one of 1, 4, 8, 16, 24, 32$/));
    assert.ok(performance.now() - t0 < 1000, 'refused from its header');
  });

  test('a BMP over the pixel limit names the file, the size, the limit and what to do', async () => {
    const bomb = bmp({ width: 37000, height: 37000, bpp: 1 });
    await assert.rejects(
      decodeImage(bomb, 'big.bmp'),
      isImageError(/^big\.bmp: the BMP image declares 37000x37000 = 1369000000 pixels, more than the limit of 268402689 .*4\.1 GB.*Scale it down.*maxPixels/),
    );
    // at the limit and over it by one pixel: the header is refused before the file's length is compared
    assert.throws(() => decodeBmp(bmp({ width: 16383, height: 16384, bpp: 1 }), 'b.bmp'), /16383x16384 = 268419072 pixels, more than the limit/);
    assert.throws(() => decodeBmp(bmp({ width: 16383, height: 16383, bpp: 1, dataOffset: 62 }), 'b.bmp'), /truncated BMP: 16383 rows of 2048 bytes/);
  });

  test('BMP headers: palette size, rows against the file length, data offset, masks, header size', () => {
    assert.throws(() => decodeBmp(bmp({ width: 8000, height: 8000, bpp: 24 }), 'r.bmp'), /r\.bmp: truncated BMP: 8000 rows of 24000 bytes from byte 54 need 192000054 bytes, the file has 74/);
    assert.throws(() => decodeBmp(bmp({ width: 2, height: 2, bpp: 8, colors: 2 ** 31 }), 'p.bmp'), /palette of 2147483648 colours for 8 bits per pixel; at most 256/);
    assert.throws(() => decodeBmp(bmp({ width: 2, height: 2, bpp: 8, colors: 300 }), 'p.bmp'), /palette of 300 colours/);
    assert.throws(() => decodeBmp(bmp({ width: 2, height: 2, bpp: 4, colors: 4 }, 8), 'p.bmp'), /truncated BMP: its palette needs 70 bytes/);
    assert.throws(() => decodeBmp(bmp({ width: 2, height: 2, bpp: 24, dataOffset: 20 }), 'o.bmp'), /pixel data at byte 20 overlaps its header/);
    assert.throws(() => decodeBmp(bmp({ width: 2, height: 2, bpp: 24, compression: 3 }), 'c.bmp'), /bitfields compression with 24 bits per pixel/);
    assert.throws(() => decodeBmp(bmp({ width: 2, height: 2, bpp: 8, compression: 2 }), 'c.bmp'), /compression 2 \(RLE4\) is not supported/);
    assert.throws(() => decodeBmp(bmp({ width: 0, height: 5, bpp: 24 }), 'z.bmp'), /BMP size 0x5/);
    const masks = bmp({ width: 1, height: 1, bpp: 16, compression: 3, dataOffset: 66 });
    new DataView(masks.buffer).setUint32(54, 0xf00f, true); // two runs of bits
    assert.throws(() => decodeBmp(masks, 'm.bmp'), /colour mask 0xf00f is not one run of bits/);
    new DataView(masks.buffer).setUint32(54, 0x10000, true);
    assert.throws(() => decodeBmp(masks, 'm.bmp'), /beyond the 16 bits/);
    const odd = bmp({ width: 1, height: 1, bpp: 24 });
    new DataView(odd.buffer).setUint32(14, 64, true);
    assert.throws(() => decodeBmp(odd, 'h.bmp'), /BMP header of 64 bytes; expected one of 12, 40, 52, 56, 108, 124/);
  });

  test('a PNG whose IHDR declares 60000x60000 is refused from its header, without decoding', async () => {
    const png = pngHeader(60000, 60000);
    assert.ok(png.length < 400);
    await assert.rejects(decodeImage(png, 'huge.png'), isImageError(/^huge\.png: the PNG image declares 60000x60000 = 3600000000 pixels, more than the limit of 268402689 .*10\.8 GB/));
  });

  test('a JPEG frame header declaring 60000x50000 is refused before sharp sees it', async () => {
    await assert.rejects(decodeImage(jpegHeader(60000, 50000), 'huge.jpg'), isImageError(/^huge\.jpg: the JPEG image declares 60000x50000 = 3000000000 pixels, more than the limit/));
  });

  test('maxPixels lowers (or raises) the limit for every format', async () => {
    const small = await sharp({ create: { width: 30, height: 20, channels: 3, background: { r: 10, g: 20, b: 30 } } }).png().toBuffer();
    const img = await decodeImage(small, 's.png', { maxPixels: 600 });
    assert.deepEqual([img.width, img.height, img.data[0], img.data[1], img.data[2]], [30, 20, 10, 20, 30]);
    await assert.rejects(decodeImage(small, 's.png', { maxPixels: 599 }), isImageError(/30x20 = 600 pixels, more than the limit of 599/));
    const jpeg = await sharp(small).jpeg().toBuffer();
    await assert.rejects(decodeImage(jpeg, 's.jpg', { maxPixels: 599 }), isImageError(/the JPEG image declares 30x20/));
    const b = bmp({ width: 2, height: 2, bpp: 24 }, 16);
    assert.equal((await decodeImage(b, 'b.bmp', { maxPixels: 4 })).width, 2);
    await assert.rejects(decodeImage(b, 'b.bmp', { maxPixels: 3 }), isImageError(/the BMP image declares 2x2 = 4 pixels, more than the limit of 3/));
    await assert.rejects(decodeImage(b, 'b.bmp', { maxPixels: 0 }), RangeError);
  });
});

describe('formats are recognised by content; only the listed ones are read', () => {
  const tmp = tempDir('formats', { before, after });
  const listed = /pplcnet reads JPEG, PNG, WebP, TIFF, GIF, AVIF and BMP \(recognised by content, not by the file name\); convert it to PNG or JPEG$/;

  test('SVG (sharp would render it) is refused, whatever its name', async () => {
    const svg = Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200"><rect width="300" height="200" fill="red"/></svg>');
    assert.equal((await sharp(svg).metadata()).format, 'svg', 'sharp decodes it');
    await writeFile(join(tmp.path, 'drawing.png'), svg);
    await assert.rejects(decodeImage(join(tmp.path, 'drawing.png')), isImageError(/drawing\.png: cannot decode the image: it is SVG, which pplcnet does not read; /));
    await assert.rejects(decodeImage(svg, 'x.svg'), isImageError(listed));
  });

  test('PDF, PNM and unknown bytes are refused with the supported list', async () => {
    await assert.rejects(decodeImage(Buffer.from('%PDF-1.4\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\n', 'latin1'), 'doc.jpg'), isImageError(/doc\.jpg: cannot decode the image: it is PDF/));
    const ppm = Buffer.concat([Buffer.from('P6\n2 2\n255\n'), Buffer.alloc(12, 128)]);
    await assert.rejects(decodeImage(ppm, 'a.png'), isImageError(/it is PNM/));
    await assert.rejects(decodeImage(Buffer.from('hello world, not an image'), 'a.gif'), isImageError(/a\.gif: cannot decode the image: its content is in no image format pplcnet knows; /));
  });

  test('every supported format is recognised from its first bytes', async () => {
    const base = sharp({ create: { width: 4, height: 4, channels: 3, background: '#808080' } });
    assert.equal(sniffFormat(await base.clone().png().toBuffer()), 'png');
    assert.equal(sniffFormat(await base.clone().jpeg().toBuffer()), 'jpeg');
    assert.equal(sniffFormat(await base.clone().webp().toBuffer()), 'webp');
    assert.equal(sniffFormat(await base.clone().tiff().toBuffer()), 'tiff');
    assert.equal(sniffFormat(await base.clone().gif().toBuffer()), 'gif');
    assert.equal(sniffFormat(await base.clone().avif().toBuffer()), 'avif');
    assert.equal(sniffFormat(bmp({ width: 1, height: 1, bpp: 24 })), 'bmp');
  });
});

describe('only regular files are opened as images', () => {
  const tmp = tempDir('fifo', { before, after });

  test('a FIFO named like an image is refused at once (it would block a read forever)', { timeout: 10_000 }, async () => {
    const fifo = join(tmp.path, 'pipe.png');
    const r = spawnSync('mkfifo', [fifo]);
    assert.equal(r.status, 0, String(r.stderr));
    await assert.rejects(decodeImage(fifo), isImageError(/pipe\.png: is a FIFO \(named pipe\), not a regular file; pplcnet reads an image file from a regular file only/));
    await assert.rejects(decodeImage(tmp.path), isImageError(/a folder, not a regular file/));
  });
});

describe('the classifier passes maxPixels to every decoder', () => {
  const tmp = tempDir('classifier-limit', { before, after });

  test('on the main thread (classifyBatch) and in the preprocessing workers (classifyStream)', { timeout: 120_000 }, async () => {
    const small = join('models', 'examples', 'textline_upright.png'); // 254 x 43 = 10922 pixels
    const large = join('models', 'examples', 'textline_upside_down.png'); // 357 x 50 = 17850 pixels
    const clf = await createClassifier({ model: 'PP-LCNet_x0_25_textline_ori', cacheDir: tmp.path, ep: 'cpu', threads: 1, workers: 1, maxPixels: 12000 });
    try {
      const check = (results: unknown[]): void => {
        assert.equal(results.length, 2);
        assert.ok(!(results[0] instanceof Error), String(results[0]));
        assert.ok(isImageError(/textline_upside_down\.png: the PNG image declares 357x50 = 17850 pixels, more than the limit of 12000/)(results[1]), String(results[1]));
      };
      check(await clf.classifyBatch([small, large]));
      const streamed: unknown[] = [];
      for await (const batch of clf.classifyStream([small, large], { batchSize: 1 })) streamed.push(...batch);
      assert.equal(clf.workers, 1, 'the stream ran in a worker');
      check(streamed);
    } finally {
      await clf.close();
    }
    await assert.rejects(createClassifier({ model: 'PP-LCNet_x0_25_textline_ori', cacheDir: tmp.path, maxPixels: -1 }), RangeError);
  });
});
