/**
 * Image files are read under two bounds checked before the whole file is read (what any format takes at the
 * pixel limit; what the image the header declares can take), and bytes after a PNG's or JPEG's end are
 * ignored, as OpenCV's imread ignores them, and said. Hostile files are made here (sparse: no disk used).
 */
import assert from 'node:assert/strict';
import { readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { PplcnetError } from '../../../src/errors.js';
import { decodeImage } from '../../../src/image/decode.js';
import { IMAGE_METADATA_BYTES, MAX_PIXELS, declaredImage, imageEnd, maxImageFileBytes } from '../../../src/image/limits.js';
import { resizeAndCrop } from '../../../src/image/preprocess.js';
import { IMAGENET_PREPROCESS, type Preprocess } from '../../../src/metadata.js';
import { FIXTURES } from '../../fixtures/index.js';
import { tempDir } from '../../helpers.js';

const refused = (pattern: RegExp) => (e: unknown) => e instanceof PplcnetError && e.code === 'E_IMAGE' && pattern.test(e.message);
const EXACT: Preprocess = { ...IMAGENET_PREPROCESS, resize: { mode: 'exact', width: 160, height: 80 }, crop: undefined };
const GARBAGE = Buffer.from('\0\0\xff\xd9 not image data \x89PNG IEND\0', 'latin1');

describe('image files: bounded before they are read', () => {
  const tmp = tempDir('image-bounds', { before, after });

  test('a 1.9 GB sparse PNG (a real 254x43 PNG, then zeros) is refused from its header and size, not read', async () => {
    const png = join(tmp.path, 'big.png');
    await writeFile(png, await readFile(join(FIXTURES.textlineModel, '../examples/textline_upright.png')));
    await truncate(png, 1_900_000_000);
    // 43 rows of 1 + 254*3 bytes (8-bit RGB), x1.25, plus 64 MiB of metadata
    const bound = Math.ceil(43 * (1 + 254 * 3) * 1.25) + IMAGE_METADATA_BYTES;
    await assert.rejects(
      decodeImage(png),
      refused(new RegExp(`big\\.png: 1900000000 bytes \\(1\\.90 GB\\), more than a 254x43 PNG image can take \\(${bound} bytes: its samples uncompressed plus 64 MiB of metadata\\); not read`)),
    );
  });

  test('a file larger than any format takes at the pixel limit is refused from its size (a TIFF header, 2.3 GB sparse)', async () => {
    const tif = join(tmp.path, 'big.tif');
    await writeFile(tif, Buffer.from('II*\0', 'latin1'));
    await truncate(tif, 2_300_000_000);
    assert.equal(maxImageFileBytes(MAX_PIXELS), MAX_PIXELS * 8 + (64 << 20));
    await assert.rejects(decodeImage(tif), refused(new RegExp(`big\\.tif: 2300000000 bytes \\(2\\.30 GB\\), more than the ${MAX_PIXELS * 8 + (64 << 20)} bytes .* pplcnet reads of an image file; not read. No supported format takes more at the pixel limit of ${MAX_PIXELS} pixels`)));
    // a lower pixel limit lowers the bound with it
    await truncate(tif, 100 * 8 + (64 << 20) + 1);
    await assert.rejects(decodeImage(tif, 'small limit', { maxPixels: 100 }), refused(/small limit: 67109665 bytes .*more than the 67109664 bytes/));
  });

  test('a header declaring more pixels than the limit is refused before the rest of the file is read', async () => {
    const png = join(tmp.path, 'huge-header.png');
    const header = Buffer.from(await sharp({ create: { width: 3, height: 2, channels: 3, background: '#000' } }).png().toBuffer());
    header.writeUInt32BE(20000, 16); // IHDR width
    header.writeUInt32BE(20000, 20); // IHDR height
    await writeFile(png, header);
    await truncate(png, 2 << 20); // larger than the 1 MiB head read first
    await assert.rejects(decodeImage(png), refused(/huge-header\.png: the PNG image declares 20000x20000 = 400000000 pixels, more than the limit of 268402689/));
  });

  test('declaredImage reads PNG, JPEG and BMP headers; other formats have no declared bound', async () => {
    const png = await sharp({ create: { width: 7, height: 5, channels: 4, background: '#123' } }).png().toBuffer();
    assert.deepEqual(declaredImage(png, 'png'), { format: 'PNG', width: 7, height: 5, maxBytes: Math.ceil(5 * (1 + 28) * 1.25) + IMAGE_METADATA_BYTES });
    // an animated PNG: as many frames as its acTL chunk (after IHDR, before the data) declares
    const acTL = Buffer.alloc(20);
    acTL.writeUInt32BE(8, 0);
    acTL.write('acTL', 4, 'latin1');
    acTL.writeUInt32BE(40, 8); // frames
    const apng = Buffer.concat([png.subarray(0, 33), acTL, png.subarray(33)]);
    assert.equal(declaredImage(apng, 'png')!.maxBytes, Math.ceil(5 * (1 + 28) * 1.25 * 40) + IMAGE_METADATA_BYTES);
    const jpeg = await readFile(join(FIXTURES.preprocess, 'photo_299x401.jpg'));
    assert.deepEqual(declaredImage(jpeg, 'jpeg'), { format: 'JPEG', width: 299, height: 401, maxBytes: 299 * 401 * 3 * 4 + IMAGE_METADATA_BYTES });
    const bmp = await readFile(join(FIXTURES.preprocess, 'bitmap_123x97.bmp'));
    assert.deepEqual(declaredImage(bmp, 'bmp'), { format: 'BMP', width: 123, height: 97, maxBytes: 97 * (4 * 123 + 4) + IMAGE_METADATA_BYTES });
    assert.equal(declaredImage(await readFile(join(FIXTURES.preprocess, 'lossless_210x150.webp')), 'webp'), undefined);
  });
});

describe('bytes after an image ends: ignored as OpenCV ignores them, and said', () => {
  const tmp = tempDir('image-trailing', { before, after });
  const refs = async (): Promise<{ source: string; exact: string }[]> => JSON.parse(await readFile(join(FIXTURES.preprocess, 'refs.json'), 'utf8')).images;

  for (const source of ['small_100x80.png', 'photo_299x401.jpg', 'exif6_320x240.jpg']) {
    test(`${source} + ${GARBAGE.length} bytes: OpenCV's pixels, and a warning naming the bytes`, async () => {
      const original = await readFile(join(FIXTURES.preprocess, source));
      assert.equal(imageEnd(original, source.endsWith('.png') ? 'png' : 'jpeg'), original.length, 'the fixture ends where its format says');
      const file = join(tmp.path, source);
      await writeFile(file, Buffer.concat([original, GARBAGE]));
      const img = await decodeImage(file, source);
      const format = source.endsWith('.png') ? 'PNG' : 'JPEG';
      assert.deepEqual(img.warnings, [`${source}: ${GARBAGE.length} bytes after the end of the ${format} image (byte ${original.length}) ignored, as OpenCV's imread ignores them`]);
      // OpenCV's imread stops at IEND / EOI: its reference pixels (made from the file without the bytes) hold
      const ref = (await refs()).find((r) => r.source === source)!;
      const expected = new Uint8Array(await sharp(join(FIXTURES.preprocess, ref.exact)).raw().toBuffer());
      assert.deepEqual(resizeAndCrop(img, EXACT, source).data, expected);
      // in memory too
      const fromBytes = await decodeImage(new Uint8Array(Buffer.concat([original, GARBAGE])), source);
      assert.deepEqual(fromBytes.warnings, img.warnings);
      assert.equal((await decodeImage(original, source)).warnings, undefined, 'nothing said of a clean file');
    });
  }
});
