import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildPPLCNet } from '../../../src/index.js';
import { shortestFloat32 } from '../../../src/util/float.js';
import { onnxNameFor } from '../../../src/util/fs.js';
import { checkModelFile, sniffBytes, sniffFile } from '../../../src/util/sniff.js';
import { makeTar } from '../../archives.js';
import { FIXTURES } from '../../fixtures/index.js';
import { ROOT } from '../../helpers.js';

describe('sniffing what a file is', () => {
  let dir = '';
  let onnx = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pplcnet-sniff-'));
    onnx = join(dir, 'tiny.onnx');
    await writeFile(onnx, buildPPLCNet({ scale: 0.25, classNum: 2 }, { inputSize: [32, 32] }).bytes);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the real files of each kind, by their first bytes', async () => {
    const cases: [string, string, string?][] = [
      [join(FIXTURES.pdparams, 'p2_numpy1.pdparams'), 'pickle'],
      [join(FIXTURES.pdparams, 'p4_numpy2.pdparams'), 'pickle'],
      [join(FIXTURES.textlineModel, 'inference.json'), 'pir-json'],
      [FIXTURES.legacyProgram, 'paddle-program'],
      [FIXTURES.textlineModel, 'folder'],
      [join(ROOT, 'models/examples/textline_upright.png'), 'image', 'PNG'],
      [join(FIXTURES.preprocess, 'exif6_320x240.jpg'), 'image', 'JPEG'],
      [join(FIXTURES.preprocess, 'bitmap_123x97.bmp'), 'image', 'BMP'],
      [join(ROOT, 'package.json'), 'unknown'],
    ];
    for (const [path, kind, format] of cases) {
      const s = await sniffFile(path);
      assert.equal(s.kind, kind, path);
      if (format) assert.equal(s.format, format, path);
    }
    assert.deepEqual(await sniffFile(onnx), { kind: 'onnx', description: 'an ONNX model' });
  });

  test('archives, documents and SVG from their magic bytes; a missing path is E_IO', async () => {
    assert.equal(sniffBytes(makeTar([{ name: 'a/inference.json', data: new Uint8Array(3) }])).kind, 'tar');
    assert.equal(sniffBytes(new Uint8Array([0x1f, 0x8b, 8, 0])).kind, 'gzip');
    assert.equal(sniffBytes(new TextEncoder().encode('PK\x03\x04rest')).kind, 'zip');
    assert.equal(sniffBytes(new TextEncoder().encode('%PDF-1.7\n')).kind, 'pdf');
    assert.equal(sniffBytes(new TextEncoder().encode('<?xml version="1.0"?>\n<svg width="9"/>')).format, 'SVG');
    assert.equal(sniffBytes(new Uint8Array(0)).kind, 'unknown');
    await assert.rejects(sniffFile(join(dir, 'absent.onnx')), { code: 'E_IO', message: /absent\.onnx: no such file or folder/ });
  });

  test('checkModelFile says what the file is and what the command takes', async () => {
    const png = join(ROOT, 'models/examples/textline_upright.png');
    await assert.rejects(checkModelFile(png, 'convert'), {
      code: 'E_FORMAT',
      message: `${png} is a PNG image, not a model; convert takes a .pdparams file, or a Paddle inference model (folder, inference.json, inference.pdmodel or a *_infer.tar archive); to classify it use pplcnet predict -m MODEL ${png}`,
    });
    await assert.rejects(checkModelFile(png, 'model'), { message: /--model takes a zoo name.*the images go after the options/ });
    await assert.rejects(checkModelFile(onnx, 'convert'), { code: 'E_FORMAT', message: /is already an ONNX model: nothing to convert; use it directly with pplcnet predict -m .*tiny\.onnx, or look inside with pplcnet inspect/ });
    assert.equal((await checkModelFile(onnx, 'inspect'))?.kind, 'onnx');
    assert.equal(await checkModelFile('PP-LCNet_x0_25_textline_ori', 'model'), undefined, 'a zoo name is nothing on disk');
    const zip = join(dir, 'model.pth');
    await writeFile(zip, 'PK\x03\x04....');
    await assert.rejects(checkModelFile(zip, 'model'), { message: /is a zip archive, not a model/ });
  });

  test('float32 values print at float32 precision; doubles stay as they are', async () => {
    assert.equal(shortestFloat32(Math.fround(0.2)), 0.2);
    assert.equal(Math.fround(0.2), 0.20000000298023224);
    assert.equal(shortestFloat32(Math.fround(1 / 6)), 0.16666667);
    assert.equal(shortestFloat32(Math.fround(0.1666667)), 0.1666667);
    assert.equal(shortestFloat32(Math.fround(1e-5)), 0.00001);
    assert.equal(shortestFloat32(0.1), 0.1);
    assert.equal(shortestFloat32(1 / 3), 1 / 3, 'not a float32: unchanged');
    assert.equal(shortestFloat32(3), 3);
    // the shortest decimal always reads back to the same float32
    const bytes = await readFile(FIXTURES.legacyProgram);
    for (let i = 0; i + 4 <= 4000; i += 4) {
      const x = new DataView(bytes.buffer, bytes.byteOffset).getFloat32(i, true);
      if (Number.isFinite(x)) assert.equal(Math.fround(shortestFloat32(x)), x);
    }
  });

  test('converted files are named after the input', () => {
    assert.equal(onnxNameFor('PULC_textline.pdparams'), 'PULC_textline.onnx');
    assert.equal(onnxNameFor('dl/PPLCNet_x1_0_pretrained.pdparams'), 'PPLCNet_x1_0_pretrained.onnx');
    assert.equal(onnxNameFor('models/PP-LCNet_x0_25_textline_ori/'), 'PP-LCNet_x0_25_textline_ori.onnx');
    assert.equal(onnxNameFor('PPLCNet_x1_0_infer/inference.pdmodel'), 'PPLCNet_x1_0_infer.onnx');
    assert.equal(onnxNameFor('x/doc_ori/inference.json'), 'doc_ori.onnx');
    assert.equal(onnxNameFor('PP-LCNet_x1_0_doc_ori_infer.tar'), 'PP-LCNet_x1_0_doc_ori_infer.onnx');
  });
});
