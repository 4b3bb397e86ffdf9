/**
 * TIFF variants against OpenCV 4.6's cv2.imread(IMREAD_COLOR) (make_tiff_variants.py): the variants it can
 * reproduce decode to identical bytes; the others are refused with the file, the variant and what to do.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { PplcnetError } from '../../../src/errors.js';
import { decodeImage } from '../../../src/image/decode.js';
import { readTiffLayout } from '../../../src/image/tiff.js';
import { FIXTURES } from '../../fixtures/index.js';

interface Ref {
  source: string;
  variant: string;
  opencv: { width: number; height: number; rgb: string } | null;
}

/** The variants pplcnet decodes (the others are refused): a refusal of any of these is a regression. */
const DECODED = ['rgb8', 'rgb8_be', 'gray8', 'gray16', 'rgb16', 'rgb16_be', 'rgba8_unassoc', 'rgba16_unassoc', 'cmyk8', 'palette8'];
const REFUSED: Record<string, RegExp> = {
  rgba8_assoc: /a TIFF with associated \(premultiplied\) alpha: its colours cannot be read back exactly as stored/,
  float32: /a TIFF with 32-bit float samples, 3 per pixel: OpenCV's cv2\.imread does not read float TIFFs into 8-bit colour/,
  int16: /a TIFF with 16-bit signed integer samples, 3 per pixel: OpenCV's cv2\.imread gives other pixels/,
};

describe('TIFF variants against OpenCV 4.6', async () => {
  const refs: { opencv: string; images: Ref[] } = JSON.parse(await readFile(join(FIXTURES.tiff, 'refs.json'), 'utf8'));

  test('the references come from OpenCV 4.6 and cover every variant', () => {
    assert.match(refs.opencv, /^4\.6\./);
    const names = refs.images.map((r) => r.source.replace(/\.tif$/, '')).sort();
    assert.deepEqual(names, [...DECODED, ...Object.keys(REFUSED)].sort());
  });

  for (const ref of refs.images) {
    const name = ref.source.replace(/\.tif$/, '');
    const file = join(FIXTURES.tiff, ref.source);
    if (DECODED.includes(name)) {
      test(`${ref.variant} (${ref.source}): the same bytes as cv2.imread`, async () => {
        assert.ok(ref.opencv, 'OpenCV reads it');
        const expected = new Uint8Array(await readFile(join(FIXTURES.tiff, ref.opencv.rgb)));
        const got = await decodeImage(file);
        assert.deepEqual([got.width, got.height, got.channels], [ref.opencv.width, ref.opencv.height, 3]);
        const at = got.data.findIndex((v, i) => v !== expected[i]);
        assert.equal(at, -1, at < 0 ? '' : `byte ${at}: ${got.data[at]} vs OpenCV ${expected[at]}`);
      });
    } else {
      test(`${ref.variant} (${ref.source}): refused, naming the file, the variant and what to do`, async () => {
        await assert.rejects(decodeImage(file), (err: unknown) => {
          assert.ok(err instanceof PplcnetError);
          assert.equal(err.code, 'E_IMAGE');
          assert.ok(err.message.startsWith(`${file}: `), err.message);
          assert.match(err.message, REFUSED[name]!);
          assert.match(err.message, /convert it to an 8-bit RGB PNG/);
          return true;
        });
        // from bytes too (serve and the queue decode either)
        await assert.rejects(decodeImage(new Uint8Array(await readFile(file)), 'upload.tif'), /^PplcnetError: upload\.tif: a TIFF with/);
      });
    }
  }

  test('the layout reader: both byte orders, ExtraSamples, a truncated directory', async () => {
    const le = readTiffLayout(new Uint8Array(await readFile(join(FIXTURES.tiff, 'rgba16_unassoc.tif'))));
    assert.deepEqual(le, { bitsPerSample: 16, samplesPerPixel: 4, photometric: 2, sampleFormat: 1, extraSamples: [2], inkSet: 1 });
    const be = readTiffLayout(new Uint8Array(await readFile(join(FIXTURES.tiff, 'rgb16_be.tif'))));
    assert.deepEqual(be, { bitsPerSample: 16, samplesPerPixel: 3, photometric: 2, sampleFormat: 1, extraSamples: [], inkSet: 1 });
    const bytes = new Uint8Array(await readFile(join(FIXTURES.tiff, 'cmyk8.tif')));
    assert.equal(readTiffLayout(bytes.subarray(0, 20)), undefined);
    await assert.rejects(decodeImage(bytes.subarray(0, 20), 'cut.tif'), /^PplcnetError: cut\.tif: /);
  });
});
