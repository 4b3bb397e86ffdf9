/**
 * The WebAssembly resize + normalize loop against the JavaScript one (itself checked against OpenCV's bytes
 * in preprocess.test.ts): bit-identical float32 output over seeded random images, sizes, windows, channel
 * orders and both normalizations; and the committed module is what linear.wat assembles to.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LINEAR_WASM } from '../../../src/image/linear-wasm-bytes.js';
import { wasmResizeNormalize } from '../../../src/image/linear-wasm.js';
import { preparedSize, prepareInto } from '../../../src/image/pipeline.js';
import { useJavaScriptLoops } from '../../../src/image/resize.js';
import { IMAGENET_PREPROCESS, type Preprocess } from '../../../src/metadata.js';
import { seededBytes, xorshift32 } from '../../helpers.js';

const root = new URL('../../../../', import.meta.url); // dist/test/unit/image → the project

function both(img: { width: number; height: number; channels: number; data: Uint8Array }, p: Preprocess): [Float32Array, Float32Array] {
  const { width, height } = preparedSize(img.width, img.height, p);
  const wasm = new Float32Array(3 * width * height);
  const js = new Float32Array(3 * width * height);
  prepareInto(img, p, wasm);
  useJavaScriptLoops(true);
  try {
    prepareInto(img, p, js);
  } finally {
    useJavaScriptLoops(false);
  }
  return [wasm, js];
}

describe('WebAssembly resize + normalize', () => {
  test('the committed module is what src/image/linear.wat assembles to (run `npm run wasm` after editing it)', async () => {
    const { assembleLinear } = (await import(fileURLToPath(new URL('scripts/wasm.mjs', root)))) as { assembleLinear(p: string): Promise<Buffer> };
    const bytes = await assembleLinear(fileURLToPath(new URL('src/image/linear.wat', root)));
    assert.equal(LINEAR_WASM, bytes.toString('base64'));
  });

  test('runs here (Node 20 has WebAssembly SIMD): the fallback is not what the other tests check', () => {
    const job = { data: new Uint8Array(12), width: 2, xtab: Int32Array.of(0, 3, 2048, 0), ytab: Int32Array.of(0, 1, 2048, 0), divide: false, channels: [0, 1, 2].map((plane) => ({ plane, a: 1, b: 0, c: 1 })) as never };
    job.data.set([10, 20, 30, 40, 50, 60]);
    const out = new Float32Array(3);
    assert.equal(wasmResizeNormalize(job, out, 0), true);
    assert.deepEqual([...out], [10, 20, 30]);
  });

  test('identical to the JavaScript loops: 60 seeded images, down and up, resize_short + crop and exact sizes, RGB/BGR, Paddle/PaddleX', () => {
    const next = xorshift32(20261126);
    const pick = (lo: number, hi: number): number => lo + (next() % (hi - lo + 1));
    for (let k = 0; k < 60; k++) {
      const width = pick(3, 700);
      const height = pick(3, 500);
      const img = { width, height, channels: 3, data: seededBytes(width * height * 3, k + 1) };
      const short = pick(2, 300);
      const crop = Math.min(short, pick(1, 280));
      const shortCrop: Preprocess = { ...IMAGENET_PREPROCESS, resize: { mode: 'short', size: short }, crop: { width: crop, height: crop } };
      const exact: Preprocess = { ...IMAGENET_PREPROCESS, resize: { mode: 'exact', width: pick(1, 400), height: pick(1, 300) }, crop: undefined };
      for (const base of [shortCrop, exact]) {
        const p: Preprocess = { ...base, channelOrder: k % 2 ? 'bgr' : 'rgb', normalization: k % 3 ? 'paddleclas' : 'paddlex', mean: [0.1 * (k % 7), 0.45, 0.5], std: [0.2, 0.3 + k / 100, 1] };
        const [wasm, js] = both(img, p);
        const at = wasm.findIndex((v, i) => !Object.is(v, js[i]));
        assert.equal(at, -1, `${width}x${height} → ${JSON.stringify(p.resize)} ${JSON.stringify(p.crop)}: value ${at}: ${wasm[at]} vs ${js[at]}`);
      }
    }
  });

  test('every byte value 0..255 meets the normalization in each channel (a ramp image)', () => {
    // each value four columns wide, equal rows: 1024 → 1021 columns blends mostly equal neighbours
    const width = 1024;
    const height = 4;
    const data = new Uint8Array(width * height * 3);
    for (let x = 0; x < width; x++) for (let y = 0; y < height; y++) data.set([x >> 2, 255 - (x >> 2), ((x >> 2) * 7) & 255], (y * width + x) * 3);
    const p: Preprocess = { ...IMAGENET_PREPROCESS, resize: { mode: 'exact', width: 1021, height: 3 }, crop: undefined };
    const [wasm, js] = both({ width, height, channels: 3, data }, p);
    assert.equal(wasm.findIndex((v, i) => !Object.is(v, js[i])), -1);
    for (let c = 0; c < 3; c++) assert.equal(new Set(wasm.subarray(c * 3 * 1021, c * 3 * 1021 + 1021)).size, 256, `plane ${c} meets all 256 byte values`);
  });

  test('a large source: only the rows read are copied in (same result); past 48 MB of rows, JavaScript runs', () => {
    const width = 4200;
    const height = 4000; // 50 MB of RGB, of which 122 rows (1.5 MB) are read
    const img = { width, height, channels: 3, data: seededBytes(width * height * 3, 7) };
    const p: Preprocess = { ...IMAGENET_PREPROCESS, resize: { mode: 'exact', width: 97, height: 61 }, crop: undefined };
    const [wasm, js] = both(img, p);
    assert.equal(wasm.findIndex((v, i) => !Object.is(v, js[i])), -1);
    // 1200 distinct rows of a 16383-wide image: 59 MB to copy in, over 48 MiB: the module declines (nothing written)
    const rows = 600;
    const ytab = new Int32Array(4 * rows);
    for (let j = 0; j < rows; j++) ytab.set([2 * j, 2 * j + 1, 1024, 1024], 4 * j);
    const job = { data: new Uint8Array(0), width: 16383, xtab: Int32Array.of(0, 3, 2048, 0), ytab, divide: false, channels: [0, 1, 2].map((plane) => ({ plane, a: 1, b: 0, c: 1 })) as never };
    const out = new Float32Array(3 * rows).fill(-1);
    assert.equal(wasmResizeNormalize(job, out, 0), false);
    assert.ok(out.every((v) => v === -1));
  });
});
