/** inspect's summary and JSON, compare's thresholds and logits, and the help of every command. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildPPLCNet, convertInferenceModel, imagenetLabels, writeFileAtomic } from '../../src/index.js';
import { readMetadataProps } from '../../src/onnx/read.js';
import { FIXTURES } from '../fixtures/index.js';
import { ROOT, runCli, tempDir } from '../helpers.js';

describe('inspect, compare and help (CLI)', () => {
  const tmp = tempDir('inspect', { before, after });
  let textline = '';
  let built = '';
  before(async () => {
    textline = join(tmp.path, 'textline.onnx');
    await writeFileAtomic(textline, (await convertInferenceModel(FIXTURES.textlineModel)).bytes);
    built = join(tmp.path, 'built.onnx');
    await writeFileAtomic(built, buildPPLCNet({ scale: 0.25, classNum: 1000 }, { inputSize: [64, 64], description: { name: 'b', labels: imagenetLabels(), trained: false } }).bytes);
  });

  test('inspect an .onnx: a readable summary, first labels and count, architecture as key: value at float32 precision', async () => {
    const r = await runCli(['inspect', built]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^.*built\.onnx: ONNX model from pplcnet [\d.]+, opset 17, \d+ nodes, [\d,]+ parameters/);
    assert.match(r.stdout, /\nlabels: 1000: "tench, Tinca tinca", "goldfish, Carassius auratus", "great white shark, white shark, man-eater, man-eating shark, Carcharodon carcharias", "tiger shark, Galeocerdo cuvieri", "hammerhead, hammerhead shark", …\n/);
    assert.match(r.stdout, /\narchitecture:\n {2}scale: +0\.25\n {2}classNum: +1000\n/);
    assert.match(r.stdout, /\n {2}hardSigmoidSlope: +0\.1666667\n/);
    assert.match(r.stdout, /\ntrained: no/);
    assert.ok(r.stdout.split('\n').every((l) => l.length < 400), 'no line holds the whole label list');
  });

  test('inspect --json: metadata as objects; the program attributes at float32 precision', async () => {
    const r = await runCli(['inspect', textline, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    const props = readMetadataProps(await (await import('node:fs/promises')).readFile(textline));
    assert.deepEqual(j.metadata['pplcnet.labels'], JSON.parse(props['pplcnet.labels']!));
    assert.deepEqual(j.metadata['pplcnet.input_size'], [80, 160]);
    assert.equal(j.metadata['pplcnet.preprocess'].normalization, 'paddlex');
    assert.equal(typeof j.metadata['pplcnet.architecture'], 'object');
    // the program stores the slope as float32: 0.1666667f, shown as such rather than 0.16666670143604279
    assert.equal(JSON.parse(props['pplcnet.architecture']!).hardSigmoidSlope, Math.fround(0.1666667));
    assert.equal(j.metadata['pplcnet.architecture'].hardSigmoidSlope, 0.1666667);
    const folder = await runCli(['inspect', FIXTURES.textlineModel]);
    assert.match(folder.stdout, /\narchitecture:\n {2}scale: +0\.25\n[\s\S]*\n {2}bnEpsilon: +0\.00001\n/);
  });

  test('compare --images shows logits too; --max-abs-diff and --min-top1 set the exit code and say why', async () => {
    const images = join(ROOT, 'models/examples');
    const same = await runCli(['compare', textline, textline, '--images', images, '--max-abs-diff', '0', '--min-top1', '1']);
    assert.equal(same.code, 0, same.stderr);
    assert.equal(same.stderr, '', 'the execution provider is said only with --verbose');
    assert.match(same.stdout, /2 images\nlogits +max \|a-b\| 0\.00e\+0/);
    const differ = await runCli(['compare', textline, built.replace('built', 'other'), '--random', '2']);
    assert.equal(differ.code, 1, 'a missing model is exit 1');
    // the text-line model against an untrained one of the same shape: far apart
    const other = join(tmp.path, 'other.onnx');
    await writeFileAtomic(other, buildPPLCNet({ scale: 0.25, classNum: 2, useLastConv: false, strideList: [[1, 2], [2, 1], [2, 1], [2, 1], [2, 1]] }, { inputSize: [80, 160], seed: 3 }).bytes);
    const r = await runCli(['compare', textline, other, '--images', images, '--max-abs-diff', '1e-4', '--min-top1', '100%', '--json']);
    assert.equal(r.code, 1, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.ok(j.logits.maxAbs > 1e-4 && j.probs.maxAbs > 1e-4);
    assert.equal(j.pass, false);
    assert.match(r.stderr, /pplcnet: fail: probabilities differ by up to [\d.e+-]+, more than --max-abs-diff 0\.0001\n/);
    assert.match(r.stderr, /pplcnet: fail: logits differ by up to/);
    if (j.top1Agreement < 1) assert.match(r.stderr, /pplcnet: fail: top-1 agreement [\d.]+% is below --min-top1 100\.0%/);
    const bad = await runCli(['compare', textline, other, '--min-top1', '2']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Expected a fraction from 0 to 1/);
  });

  test('every command: examples in --help, each default said once; the top help names the exit codes', async () => {
    for (const cmd of ['predict', 'convert', 'inspect', 'build', 'bench', 'compare']) {
      const r = await runCli([cmd, '--help']);
      assert.equal(r.code, 0, r.stderr);
      const examples = r.stdout.split('Examples:\n')[1] ?? '';
      assert.ok(examples.split('\n').filter((l) => l.trim().startsWith(`$ pplcnet ${cmd}`) || l.includes(`| pplcnet ${cmd}`)).length >= 2, `${cmd} --help:\n${r.stdout}`);
      // each option's entry, its wrapped lines joined
      const entries = r.stdout.split(/\n(?= {2}-)/).map((e) => e.split('\n\n')[0]!.replace(/\n\s+/g, ' '));
      for (const e of entries) {
        assert.doesNotMatch(e, /\(default: false\)/, cmd);
        assert.ok((e.match(/default/g) ?? []).length <= 1, `${cmd}: a default said twice: ${e}`);
      }
    }
    const top = await runCli(['--help']);
    assert.match(top.stdout, /Exit codes: 0 success; 1 a bad file.*; 2 a bad command line/);
  });
});
