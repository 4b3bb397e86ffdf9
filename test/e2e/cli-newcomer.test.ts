/**
 * What a new user meets first, through the real CLI: a bad image among compare's inputs, an output path that
 * is a folder, a misspelt model name, zoo names in inspect, untrained models, honest summaries, and a missing
 * model as a command-line error.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ZOO, buildPPLCNet, convertInferenceModel, imagenetLabels, untrainedMessage, writeFileAtomic } from '../../src/index.js';
import { FIXTURES } from '../fixtures/index.js';
import { ROOT, runCli, seededBytes, tempDir } from '../helpers.js';

const EXAMPLES = join(ROOT, 'models/examples');
/** No model from the environment: each test says which model it means. */
const NO_MODEL_ENV = { PPLCNET_MODEL: '' };

describe('newcomer paths (CLI)', () => {
  const tmp = tempDir('newcomer', { before, after });
  let textline = '';
  let untrained = '';
  before(async () => {
    textline = join(tmp.path, 'textline.onnx');
    await writeFileAtomic(textline, (await convertInferenceModel(FIXTURES.textlineModel)).bytes);
    untrained = join(tmp.path, 'untrained.onnx');
    await writeFileAtomic(untrained, buildPPLCNet({ scale: 0.25, classNum: 1000 }, { inputSize: [64, 64], description: { name: 'fresh', labels: imagenetLabels(), trained: false } }).bytes);
  });

  test('compare --images with a bad image: says which, goes on, reports the others (exit 1)', async () => {
    const dir = join(tmp.path, 'mixed');
    await mkdir(dir);
    for (const f of ['textline_upright.png', 'textline_upside_down.png']) await copyFile(join(EXAMPLES, f), join(dir, f));
    await writeFile(join(dir, 'broken.png'), seededBytes(4096, 7)); // an image name, no image inside
    const report = join(tmp.path, 'compare.html');
    const r = await runCli(['compare', textline, textline, '--images', dir, '--report', report]);
    assert.equal(r.code, 1, 'a failed image is exit 1, as in predict and bench');
    assert.match(r.stderr, /pplcnet: error: .*broken\.png/);
    assert.match(r.stdout, /^3 images, 1 failed \(left out\)\n/);
    const html = await readFile(report, 'utf8');
    assert.match(html, /<section id="failed">[\s\S]*broken\.png/);
    // the figures are those of the two good images alone
    const j = JSON.parse((await runCli(['compare', textline, textline, '--images', dir, '--json'])).stdout);
    const good = JSON.parse((await runCli(['compare', textline, textline, '--images', join(dir, 'textline_upright.png'), join(dir, 'textline_upside_down.png'), '--json'])).stdout);
    assert.equal(j.inputs, 2);
    assert.deepEqual(j.failed.map((f: { file: string }) => f.file), [join(dir, 'broken.png')]);
    assert.deepEqual([j.probs, j.top1Agreement, j.worst.map((w: { name: string }) => w.name).sort()], [good.probs, good.top1Agreement, good.worst.map((w: { name: string }) => w.name).sort()]);
    const none = await runCli(['compare', textline, textline, '--images', join(dir, 'broken.png')]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no readable images in .*broken\.png: /);
  });

  test('predict -o and embed -o naming a folder fail before any image is classified', async () => {
    const p = await runCli(['predict', '-m', textline, '-o', tmp.path, EXAMPLES]);
    assert.equal(p.code, 1);
    assert.match(p.stderr, /is a folder/);
    assert.equal(p.stdout, '', 'nothing was classified');
    assert.doesNotMatch(p.stderr, /images?, \d+ failed/);
    const npy = join(tmp.path, 'folder.npy');
    await mkdir(npy);
    const e = await runCli(['embed', '-m', textline, '-o', npy, EXAMPLES]);
    assert.equal(e.code, 1);
    assert.match(e.stderr, /folder\.npy: is a folder/);
    assert.equal(e.stdout, '');
  });

  test('a misspelt model name: the nearest zoo names, not the whole zoo', async () => {
    const r = await runCli(['predict', '-m', 'PP-LCNet_x0_25_textline', join(EXAMPLES, 'textline_upright.png')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /'PP-LCNet_x0_25_textline' is neither a file nor a zoo model; did you mean PP-LCNet_x0_25_textline_ori\? /);
    assert.match(r.stderr, new RegExp(`'pplcnet zoo list' shows all ${ZOO.length}\\)`));
    assert.ok(!r.stderr.includes('PULC_car_exists') && r.stderr.length < 300, r.stderr);
    const far = await runCli(['predict', '-m', 'qqqqqqqq', join(EXAMPLES, 'textline_upright.png')]);
    assert.doesNotMatch(far.stderr, /did you mean/);
    const alias = await runCli(['embed', '-m', 'textlin', EXAMPLES]);
    assert.match(alias.stderr, /did you mean textline \(PP-LCNet_x0_25_textline_ori\)\? /);
  });

  test('inspect takes a zoo name: the ONNX model predict runs for it', async () => {
    const byName = await runCli(['inspect', 'textline', '--json']);
    assert.equal(byName.code, 0, byName.stderr);
    const byFile = await runCli(['inspect', textline, '--json']);
    const [a, b] = [JSON.parse(byName.stdout), JSON.parse(byFile.stdout)];
    assert.deepEqual([a.inputs, a.outputs, a.nodes, a.parameters], [b.inputs, b.outputs, b.nodes, b.parameters]);
    assert.deepEqual(a.metadata['pplcnet.labels'], ['0_degree', '180_degree']);
    const text = await runCli(['inspect', 'PP-LCNet_x0_25_textline_ori']);
    // the heading names the model as given, not its file in the cache
    assert.match(text.stdout, /^PP-LCNet_x0_25_textline_ori: ONNX model from pplcnet/);
    assert.match((await runCli(['inspect', 'textline'])).stdout, /^textline \(PP-LCNet_x0_25_textline_ori\): ONNX model from pplcnet/);
    assert.match(text.stdout, /\nlabels: 2: 0_degree, 180_degree\n/);
    const typo = await runCli(['inspect', 'textlin']);
    assert.equal(typo.code, 1);
    assert.match(typo.stderr, /textlin: no such file or folder, nor a zoo model; did you mean textline \(PP-LCNet_x0_25_textline_ori\)\? /);
  });

  test('predict, embed and export-web warn once about an untrained model from build, in the words serve uses', async () => {
    const line = `pplcnet: warning: ${untrainedMessage('fresh')}\n`;
    assert.equal(line, 'pplcnet: warning: model fresh holds initialized, untrained weights (made by pplcnet build): its predictions are meaningless until it is trained\n');
    const warning = new RegExp(line.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g');
    const predict = await runCli(['predict', '-m', untrained, EXAMPLES]);
    assert.equal(predict.code, 0, predict.stderr);
    assert.equal(predict.stderr.match(warning)?.length, 1, predict.stderr);
    const embed = await runCli(['embed', '-m', untrained, EXAMPLES]);
    assert.equal(embed.code, 0, embed.stderr);
    assert.equal(embed.stderr.match(warning)?.length, 1, embed.stderr);
    const site = join(tmp.path, 'site');
    const web = await runCli(['export-web', '-m', untrained, '-o', site]);
    assert.equal(web.code, 0, web.stderr);
    assert.equal(web.stderr.match(warning)?.length, 1, web.stderr);
    const trained = await runCli(['embed', '-m', textline, EXAMPLES]);
    assert.doesNotMatch(trained.stderr, /untrained/);
    const quiet = await runCli(['embed', '-q', '-m', untrained, EXAMPLES]);
    assert.equal(quiet.stderr, '');
  });

  test('export-web -o site.zip is refused as a command-line error; nothing is written', async () => {
    for (const name of ['site.zip', 'site.tar.gz']) {
      const out = join(tmp.path, name);
      const r = await runCli(['export-web', '-m', textline, '-o', out]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /names an archive, not a folder: .*--output site/);
      assert.match(r.stderr, /--output site, then archive it/);
      assert.equal(existsSync(out), false);
    }
  });

  test('summaries: no rate when nothing was classified; a missing model is exit 2 in every command that needs one', async () => {
    const r = await runCli(['predict', '-m', textline, join(tmp.path, 'nosuch.png')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /pplcnet: 1 image, 1 failed\n$/);
    const some = await runCli(['predict', '-m', textline, join(tmp.path, 'nosuch.png'), join(EXAMPLES, 'textline_upright.png')]);
    assert.match(some.stderr, /pplcnet: 2 images, 1 failed, [\d.]+ img\/s\n$/);
    for (const args of [['predict', EXAMPLES], ['embed', EXAMPLES], ['export-web', '-o', join(tmp.path, 'nomodel')]]) {
      const m = await runCli(args, { env: NO_MODEL_ENV });
      assert.equal(m.code, 2, `${args[0]}: ${m.stderr}`);
      assert.match(m.stderr, /no model given: pass --model NAME\|PATH/);
    }
    const required = await runCli(['export-web', '-m', textline]);
    assert.equal(required.code, 2);
    assert.match(required.stderr, /required option '-o, --output <dir>' not specified/);
  });
});
