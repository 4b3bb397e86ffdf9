/**
 * Image sizes read from header bytes alone (what the browser checks before it decodes), against sharp's
 * metadata for images of every format sharp writes, and on crafted headers: a 20000×20000 PNG, a JPEG whose
 * frame header follows 100 kB of metadata, WebP's three chunk kinds, a top-down BMP, damaged headers.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { imageHeaderSize } from '../../../src/image/header.js';
import { FIXTURES } from '../../fixtures/index.js';
import { seededBytes } from '../../helpers.js';

/** A PNG of only its signature and IHDR (no image data): what a header reader needs, nothing a decoder needs. */
function pngHeader(width: number, height: number): Buffer {
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(width, 16);
  b.writeUInt32BE(height, 20);
  b[24] = 8; // bit depth
  b[25] = 2; // RGB
  return b;
}

test('sizes equal sharp’s metadata for PNG, JPEG (baseline and progressive), WebP (lossy, lossless, alpha), GIF', async () => {
  const sizes: [number, number][] = [[1, 1], [37, 19], [300, 7], [16383, 2]];
  for (const [w, h] of sizes) {
    const rgba = sharp(seededBytes(w * h * 4, w + h), { raw: { width: w, height: h, channels: 4 } });
    const rgb = sharp(seededBytes(w * h * 3, w * h), { raw: { width: w, height: h, channels: 3 } });
    const encoded: [string, Buffer][] = [
      ['PNG', await rgb.clone().png().toBuffer()],
      ['JPEG', await rgb.clone().jpeg().toBuffer()],
      ['JPEG', await rgb.clone().jpeg({ progressive: true }).withMetadata({ exif: { IFD0: { Copyright: 'x'.repeat(3000) } } }).toBuffer()],
      ['WebP', await rgb.clone().webp({ quality: 50 }).toBuffer()],
      ['WebP', await rgb.clone().webp({ lossless: true }).toBuffer()],
      ['WebP', await rgba.clone().webp({ quality: 50 }).toBuffer()],
      ['GIF', await rgb.clone().gif().toBuffer()],
    ];
    for (const [format, bytes] of encoded) {
      const meta = await sharp(bytes).metadata();
      const head = imageHeaderSize(new Uint8Array(bytes), true);
      const components = format === 'JPEG' ? { components: meta.channels } : {}; // a JPEG's frame header also says its colour components
      assert.deepEqual(head, { format, width: meta.width, height: meta.height, ...components }, `${format} ${w}x${h}`);
    }
  }
});

test('BMP: the fixture, and a crafted top-down header (negative height)', async () => {
  const bmp = new Uint8Array(await readFile(join(FIXTURES.preprocess, 'bitmap_123x97.bmp')));
  assert.deepEqual(imageHeaderSize(bmp, true), { format: 'BMP', width: 123, height: 97 });
  const topDown = Buffer.from(bmp);
  topDown.writeInt32LE(-97, 22);
  assert.deepEqual(imageHeaderSize(topDown, true), { format: 'BMP', width: 123, height: 97 });
  const core = Buffer.alloc(26);
  core.write('BM', 0, 'latin1');
  core.writeUInt32LE(12, 14);
  core.writeUInt16LE(640, 18);
  core.writeUInt16LE(480, 20);
  assert.deepEqual(imageHeaderSize(core, true), { format: 'BMP', width: 640, height: 480 });
});

test('a 20000×20000 PNG header (33 bytes) declares 400 M pixels', () => {
  assert.deepEqual(imageHeaderSize(pngHeader(20000, 20000)), { format: 'PNG', width: 20000, height: 20000 });
  assert.deepEqual(imageHeaderSize(pngHeader(0xffffffff, 3)), { format: 'PNG', width: 4294967295, height: 3 });
});

test('a JPEG whose frame header lies past the bytes given asks for more; whole, it is found', async () => {
  const base = await sharp(seededBytes(64 * 48 * 3, 9), { raw: { width: 64, height: 48, channels: 3 } }).jpeg().toBuffer();
  // two 60 kB APP segments (as large ICC profiles or thumbnails are) between SOI and the rest
  const app = Buffer.alloc(60_002);
  app.writeUInt16BE(0xffe2, 0);
  app.writeUInt16BE(60_000, 2);
  const big = Buffer.concat([base.subarray(0, 2), app, app, base.subarray(2)]);
  assert.deepEqual(imageHeaderSize(big.subarray(0, 65_536)), { format: 'JPEG', needMore: true });
  assert.deepEqual(imageHeaderSize(big), { format: 'JPEG', width: 64, height: 48, components: 3 });
  assert.deepEqual((await sharp(big).metadata()).width, 64, 'sharp reads the same file');
  assert.deepEqual(imageHeaderSize(big.subarray(0, 65_536), true), { format: 'JPEG', damaged: 'no frame header (SOFn)' });
});

test('damaged or unknown headers: said, never a size', () => {
  const png = Buffer.from(pngHeader(10, 10));
  png.write('IDAT', 12, 'latin1');
  assert.deepEqual(imageHeaderSize(png), { format: 'PNG', damaged: 'no IHDR chunk first' });
  assert.deepEqual(imageHeaderSize(new Uint8Array([0xff, 0xd8, 0xff, 0xda, 0, 2])), { format: 'JPEG', damaged: 'no frame header (SOFn) before the image data' });
  assert.deepEqual(imageHeaderSize(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 4, 1, 2, 0x12, 0x34, 0, 0])), { format: 'JPEG', damaged: 'no marker at byte 8' });
  const webp = Buffer.concat([Buffer.from('RIFF\0\0\0\0WEBPJUNK'), Buffer.alloc(20)]);
  assert.deepEqual(imageHeaderSize(webp), { format: 'WebP', damaged: 'no VP8, VP8L or VP8X chunk with a size (found "JUNK")' });
  assert.equal(imageHeaderSize(Buffer.from('II*\0 a TIFF is not read by browsers')), undefined);
  assert.equal(imageHeaderSize(Buffer.from('<svg width="99999" height="99999"></svg>')), undefined);
  assert.equal(imageHeaderSize(new Uint8Array([137, 80, 78, 71, 1, 2, 3])), undefined);
});
