import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { convertInferenceModel } from '../../../src/convert/inference-model.js';
import { interpretProgram } from '../../../src/convert/interpret.js';
import { readPdiparams, writePdiparams } from '../../../src/convert/pdiparams.js';
import { readProgramDesc } from '../../../src/convert/pdmodel.js';
import { readPirProgram } from '../../../src/convert/pir.js';
import { pdiparamsOrder } from '../../../src/convert/program.js';
import { PplcnetError } from '../../../src/errors.js';
import { readMetadataProps } from '../../../src/onnx/read.js';
import { FIXTURES } from '../../fixtures/index.js';
import { assertAllClose, runOnnx, seededFloats, tempDir } from '../../helpers.js';
import { toPirJson } from '../../pir-writer.js';
import { runProgram } from '../../program-runner.js';

/** Plausible weights for every parameter of a program (BatchNorm variances positive), in a Map by name. */
function makeWeights(program: ReturnType<typeof readProgramDesc>, seed: number): Map<string, Float32Array> {
  const w = new Map<string, Float32Array>();
  let s = seed;
  for (const p of program.parameters) {
    const n = p.shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (/batch_norm.*\.w_2$/.test(p.name)) data = seededFloats(n, ++s, 0.5, 1.5); // variance
    else if (/batch_norm.*\.w_0$/.test(p.name)) data = seededFloats(n, ++s, 0.6, 1.4); // gamma
    else if (p.shape.length === 4) {
      const fanIn = p.shape[1]! * p.shape[2]! * p.shape[3]!;
      const lim = Math.sqrt(3 / fanIn) * 1.4;
      data = seededFloats(n, ++s, -lim, lim);
    } else data = seededFloats(n, ++s, -0.2, 0.2);
    w.set(p.name, data);
  }
  return w;
}

function pdiparamsFor(program: ReturnType<typeof readProgramDesc>, weights: Map<string, Float32Array>): Uint8Array {
  const shapes = new Map(program.parameters.map((p) => [p.name, p.shape]));
  return writePdiparams(pdiparamsOrder(weights.keys()).map((n) => ({ shape: shapes.get(n)!, data: weights.get(n)! })));
}

describe('Paddle inference models', () => {
  const tmp = tempDir('infer', { before, after });

  test('the shipped PIR model: the program gives the architecture, strides included', async () => {
    const program = readPirProgram(await readFile(join(FIXTURES.textlineModel, 'inference.json'), 'utf8'), 'inference.json');
    assert.equal(program.parameters.length, 145);
    const r = interpretProgram(program, 'inference.json');
    assert.deepEqual(r.architecture.strideList, [[1, 2], [2, 1], [2, 1], [2, 1], [2, 1]]);
    assert.equal(r.architecture.scale, 0.25);
    assert.equal(r.architecture.classNum, 2);
    assert.equal(r.architecture.useLastConv, false);
    assert.equal(r.architecture.hardSigmoidSlope, Math.fround(0.1666667));
    assert.deepEqual(r.inputSize, [80, 160]);
    assert.equal(r.softmax, true);
    assert.equal(r.keys.get('blocks6.1.se.conv2.bias'), 'conv2d_29.b_0');
    assert.equal(r.keys.get('conv1.bn._variance'), 'batch_norm2d_0.w_2');
  });

  test('the shipped PIR model converts; logits match the numpy reference within 1e-4 on a fixed input', async () => {
    const ref = JSON.parse(await readFile(FIXTURES.textlineReference, 'utf8'));
    const m = await convertInferenceModel(FIXTURES.textlineModel);
    const n = 2 * 3 * 80 * 160;
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = Math.sin(0.001 * i * 7.3) * 2;
    const out = await runOnnx(m.bytes, { image: { data: x, dims: [2, 3, 80, 160] } });
    assertAllClose(out.logits!.data, ref.fixed.logits.flat(), { atol: 1e-4, what: 'logits' });
    assertAllClose(out.probs!.data, ref.fixed.probs.flat(), { atol: 1e-6, what: 'probs' });
    const props = readMetadataProps(m.bytes);
    assert.deepEqual(JSON.parse(props['pplcnet.labels']!), ['0_degree', '180_degree']);
    assert.equal(props['pplcnet.name'], 'PP-LCNet_x0_25_textline_ori');
    assert.equal(JSON.parse(props['pplcnet.preprocess']!).normalization, 'paddlex');
  });

  test('legacy ProgramDesc with test-made weights: converts and matches the program executed op by op', async () => {
    const program = readProgramDesc(new Uint8Array(await readFile(FIXTURES.legacyProgram)), 'inference.pdmodel');
    assert.equal(program.version, '2.2.0');
    assert.equal(program.parameters.length, 146);
    const weights = makeWeights(program, 11);
    const d = join(tmp.path, 'legacy');
    await mkdir(d);
    await copyFile(FIXTURES.legacyProgram, join(d, 'inference.pdmodel'));
    await writeFile(join(d, 'inference.pdiparams'), pdiparamsFor(program, weights));
    const m = await convertInferenceModel(d);
    assert.equal(m.reading.architecture.scale, 0.75);
    assert.equal(m.reading.architecture.dropoutProb, Math.fround(0.2));
    const x = seededFloats(3 * 224 * 224, 5, -2, 2);
    const expected = runProgram(program, weights, { data: x, shape: [1, 3, 224, 224] });
    const out = await runOnnx(m.bytes, { image: { data: x, dims: [1, 3, 224, 224] } });
    const spread = Math.max(...out.probs!.data) - Math.min(...out.probs!.data);
    assert.ok(spread > 1e-3, `probabilities should not be flat (spread ${spread})`);
    assertAllClose(out.probs!.data, expected.data, { atol: 1e-6, rtol: 1e-4, what: 'probs' });
    // the converted model keeps the full BatchNorm/dropout layout with --keep-bn too
    const kept = await convertInferenceModel(d, { fold: false });
    const out2 = await runOnnx(kept.bytes, { image: { data: x, dims: [1, 3, 224, 224] } });
    assertAllClose(out2.probs!.data, expected.data, { atol: 1e-6, rtol: 1e-4, what: 'probs (BatchNorm kept)' });
  });

  test('the same network and weights in PIR JSON and in a ProgramDesc give byte-identical ONNX', async () => {
    const program = readProgramDesc(new Uint8Array(await readFile(FIXTURES.legacyProgram)), 'inference.pdmodel');
    const weights = makeWeights(program, 3);
    const params = pdiparamsFor(program, weights);
    const a = join(tmp.path, 'same-legacy');
    const b = join(tmp.path, 'same-pir');
    await mkdir(a);
    await mkdir(b);
    await copyFile(FIXTURES.legacyProgram, join(a, 'inference.pdmodel'));
    await writeFile(join(a, 'inference.pdiparams'), params);
    await writeFile(join(b, 'inference.json'), toPirJson(program));
    await writeFile(join(b, 'inference.pdiparams'), params);
    const ma = await convertInferenceModel(a);
    const mb = await convertInferenceModel(b);
    assert.equal(mb.files.format, 'pir-json');
    assert.equal(ma.files.format, 'program-desc');
    assert.ok(Buffer.from(ma.bytes).equals(Buffer.from(mb.bytes)), 'ONNX bytes differ between formats');
  });

  test('files that do not belong together, or are cut short, are refused with the file named', async () => {
    const d = join(tmp.path, 'broken');
    await mkdir(d);
    const params = await readFile(join(FIXTURES.textlineModel, 'inference.pdiparams'));
    await copyFile(join(FIXTURES.textlineModel, 'inference.json'), join(d, 'inference.json'));
    await writeFile(join(d, 'inference.pdiparams'), params.subarray(0, params.length - 100));
    await assert.rejects(convertInferenceModel(d), (e: unknown) => e instanceof PplcnetError && e.code === 'E_TRUNCATED' && /inference\.pdiparams: tensor 144/.test(e.message));
    const tensors = readPdiparams(new Uint8Array(params), 'p');
    await writeFile(join(d, 'inference.pdiparams'), writePdiparams(tensors.slice(1).map((t) => ({ shape: t.shape, data: new Float32Array(t.bytes.length / 4) }))));
    await assert.rejects(convertInferenceModel(d), /holds 144 tensors but the program declares 145 parameters/);
    await rm(join(d, 'inference.pdiparams'));
    await assert.rejects(convertInferenceModel(d), /inference\.pdiparams are missing beside it/);
    await assert.rejects(convertInferenceModel(join(tmp.path, 'nowhere')), /no such file or folder/);
    assert.deepEqual((await readdir(d)).sort(), ['inference.json']);
  });

  test('a program the builder cannot express is refused, naming the op and where it sits', async () => {
    const text = await readFile(join(FIXTURES.textlineModel, 'inference.json'), 'utf8');
    // an extra activation between two blocks
    const swapped = text.replace('"1.relu"', '"1.sigmoid"');
    assert.throws(() => interpretProgram(readPirProgram(swapped, 'm.json'), 'm.json'), (e: unknown) => e instanceof PplcnetError && e.code === 'E_PROGRAM' && /m\.json: op \d+ '1\.sigmoid'.*SEModule.*expected the SE ReLU/.test(e.message));
    // a dilated conv
    const dilated = text.replace('"N":"dilations"}', '"N":"dilations"}').replace(/\{"AT":\{"#":"0.a_array","D":\[\{"#":"0.a_i32","D":1\},\{"#":"0.a_i32","D":1\}\]\},"N":"dilations"\}/, '{"AT":{"#":"0.a_array","D":[{"#":"0.a_i32","D":2},{"#":"0.a_i32","D":2}]},"N":"dilations"}');
    assert.notEqual(dilated, text);
    assert.throws(() => interpretProgram(readPirProgram(dilated, 'm.json'), 'm.json'), /dilations \[2,2\] are not supported/);
    assert.throws(() => readPirProgram('{"base_code":{"magic":"x"}}', 'm.json'), /not a Paddle PIR program/);
    assert.throws(() => readPirProgram('{', 'm.json'), /m\.json: not valid JSON/);
    assert.throws(() => readProgramDesc(new Uint8Array([0x0a, 0xff]), 'm.pdmodel'), (e: unknown) => e instanceof PplcnetError && /m\.pdmodel/.test(e.message));
  });
});
