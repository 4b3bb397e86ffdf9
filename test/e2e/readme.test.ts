/**
 * Every `npx pplcnet …` line of the README and of docs/*.md (sh blocks, and the README's table of commands)
 * runs, offline, against local fixtures: each in its own folder holding the files it names (stand-ins built
 * from the fixtures), as the installed CLI. Lines that need the network, a download, a Redis server or that
 * serve until stopped are listed in SKIP with the reason; a line neither run nor skipped fails the test, so
 * a new example gets one or the other. The README's library snippet runs as written, against the built
 * package.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cp, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { buildPPLCNet, convertInferenceModel, convertPdparams, splitFolder, storeWeights, trainClassifier } from '../../src/index.js';
import { makeTar } from '../archives.js';
import { FIXTURES } from '../fixtures/index.js';
import { type CliRun, ROOT, childOutput, tempDir } from '../helpers.js';

/** Lines not run, by a substring of the line, with why. */
const SKIP: readonly [string, string][] = [
  ['pull PPLCNet_x1_0 doc_ori', 'downloads from PaddlePaddle'],
  ['pull --timeout 60 PPLCNet_x2_5', 'downloads from PaddlePaddle'],
  ['predict -m PPLCNet_x1_0 cat.jpg', 'downloads from PaddlePaddle'],
  ['bench -m PPLCNet_x0_5', 'downloads from PaddlePaddle'],
  ['serve -m PP-LCNet_x0_25_textline_ori -m ./PPLCNet_x1_0.onnx', 'serves until stopped; test/e2e/serve-cli.test.ts starts and stops it'],
  ['serve -m PP-LCNet_x0_25_textline_ori', 'serves until stopped; test/e2e/serve-cli.test.ts starts and stops it'],
  ['predict -m PULC_person_attribute', 'downloads from PaddlePaddle'],
  ['embed -m PPLCNet_x1_0', 'downloads from PaddlePaddle'],
  ['cache rm ./my_model.pdparams', "removes an earlier conversion of the reader's own file; test/unit/zoo/inventory.test.ts covers cache rm"],
  ['convert PPLCNet_x1_0_infer/inference.pdmodel', "needs PaddleClas's legacy inference model (the repository holds its program only)"],
  ['queue add --queue scans', 'needs a Redis server; test/e2e/queue/ runs the queue against a real redis-server'],
  ['train -m PPLCNet_x1_0_ssld', 'downloads from PaddlePaddle (the offline train lines use the shipped backbone)'],
];

/** Appended to lines that would run for long (the figures come from bench/, not from tests). */
const SHORTER: readonly [RegExp, string][] = [[/ bench /, ' --runs 2 --warmup 0 --no-peak']];

/**
 * The sh lines of a Markdown text that run pplcnet, continuation lines joined, the `npm ci && … &&` prefix
 * dropped; and the `npx pplcnet …` code spans of its table rows (the README's table of commands).
 */
export function readmeCommands(readme: string): string[] {
  const out: string[] = [];
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const lines = block[1]!.replace(/\\\n\s*/g, ' ').split('\n');
    for (const line of lines) {
      const code = line.replace(/\s+#.*$/, '').trim();
      if (!code.includes('npx pplcnet')) continue;
      out.push(code.replace(/^.*&& (npx pplcnet)/, '$1'));
    }
  }
  for (const row of readme.matchAll(/^\|.*$/gm)) {
    for (const span of row[0].matchAll(/`(npx pplcnet [^`]*)`/g)) out.push(span[1]!);
  }
  return out;
}

/** Every command of the README and docs/*.md, each once, with the page it came from. */
async function documentedCommands(): Promise<Map<string, string>> {
  const pages = ['README.md', ...(await readdir(join(ROOT, 'docs'))).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
  const commands = new Map<string, string>();
  for (const page of pages) {
    for (const c of readmeCommands(await readFile(join(ROOT, page), 'utf8'))) if (!commands.has(c)) commands.set(c, page);
  }
  return commands;
}

/** The README's library snippet: the js block under "## Library". */
export function librarySnippet(readme: string): string {
  const section = readme.slice(readme.indexOf('\n## Library\n'));
  const block = /```js\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README: no js block under "## Library"');
  return block[1]!;
}

describe('the README examples', () => {
  const tmp = tempDir('readme', { before, after });
  /** Stand-ins for the files the examples name, made once. */
  const inputs = new Map<string, string>();

  before(async () => {
    const shared = join(tmp.path, 'shared');
    await mkdir(join(shared, 'scans', 'day1'), { recursive: true });
    await mkdir(join(shared, 'photos'));
    await mkdir(join(shared, 'val'));
    for (const f of ['00_up.png', '01_down.png']) {
      await cp(join(FIXTURES.textlines, f), join(shared, 'scans', 'day1', f));
      await cp(join(FIXTURES.textlines, f), join(shared, 'val', f));
    }
    await cp(join(ROOT, 'models/examples/textline_upright.png'), join(shared, 'photos', 'a.png'));
    const weights = join(shared, 'PPLCNet_x1_0_pretrained.pdparams');
    await cp(join(FIXTURES.pdparams, 'x0_25.pdparams'), weights);
    await cp(join(FIXTURES.pdparams, 'stride_pairs.pdparams'), join(shared, 'PULC_textline.pdparams'));
    await writeFile(join(shared, 'exported.onnx'), (await convertPdparams(weights)).bytes);
    const x1 = buildPPLCNet({ scale: 1.0 }, { description: { name: 'PPLCNet_x1_0' } }).bytes;
    await writeFile(join(shared, 'PPLCNet_x1_0.onnx'), x1);
    await writeFile(join(shared, 'paddle2onnx_export.onnx'), x1);
    const textline = (await convertInferenceModel(FIXTURES.textlineModel)).bytes;
    for (const f of ['textline.onnx', 'a.onnx', 'b.onnx']) await writeFile(join(shared, f), textline);
    await writeFile(join(shared, 'textline-int8.onnx'), storeWeights(textline, 'int8').bytes);
    for (const name of ['scans', 'photos', 'val', 'PPLCNet_x1_0_pretrained.pdparams', 'PULC_textline.pdparams', 'exported.onnx', 'PPLCNet_x1_0.onnx', 'paddle2onnx_export.onnx', 'textline.onnx', 'textline-int8.onnx', 'a.onnx', 'b.onnx']) {
      inputs.set(name, join(shared, name));
    }
    inputs.set('models', join(ROOT, 'models'));
    // the multi-label examples: the committed synthetic model, and what the README's convert line makes of it
    inputs.set('test', join(ROOT, 'test'));
    const attrs = join(shared, 'attrs.onnx');
    await writeFile(attrs, (await convertPdparams(join(ROOT, 'test/fixtures/heads/multilabel.pdparams'), { head: 'sigmoid', inputSize: [64, 64] })).bytes);
    inputs.set('attrs.onnx', attrs);
    // a downloaded inference archive: the shipped model's files, tarred as PaddleX publishes them
    const archive = join(shared, 'PP-LCNet_x1_0_doc_ori_infer.tar');
    const folder = 'PP-LCNet_x1_0_doc_ori_infer';
    const files = await Promise.all(['inference.json', 'inference.pdiparams', 'inference.yml'].map(async (f) => ({ name: `${folder}/${f}`, data: new Uint8Array(await readFile(join(FIXTURES.textlineModel, f))) })));
    await writeFile(archive, makeTar([{ name: `${folder}/`, type: '5' }, ...files]));
    inputs.set('PP-LCNet_x1_0_doc_ori_infer.tar', archive);
    // the panda/tiger walkthrough (docs/train.md): a stand-in dataset of rendered text lines, already split, a
    // model trained on it with the shipped backbone, and a photo
    const pandatiger = join(shared, 'pandatiger');
    for (const [cls, from] of [['panda', 'sans'], ['tiger', 'script']] as const) {
      await mkdir(join(pandatiger, cls), { recursive: true });
      for (let i = 0; i < 12; i++) await cp(join(FIXTURES.fonts, from, `${String(i).padStart(3, '0')}.png`), join(pandatiger, cls, `${i}.png`));
    }
    await splitFolder(pandatiger, { val: 0.2, test: 0.1 });
    const trained = await trainClassifier({ model: 'PP-LCNet_x0_25_textline_ori', data: pandatiger, epochs: 20, cacheDir: join(tmp.path, 'home') });
    await writeFile(join(shared, 'pandatiger.onnx'), trained.bytes);
    await sharp(join(FIXTURES.fonts, 'sans', '050.png')).jpeg().toFile(join(shared, 'photo.jpg'));
    for (const name of ['pandatiger', 'pandatiger.onnx', 'photo.jpg']) inputs.set(name, join(shared, name));
  });

  test('every pplcnet line of the README and docs/ runs offline and exits 0, or is skipped for a stated reason', { timeout: 600_000 }, async () => {
    const commands = await documentedCommands();
    assert.ok(commands.size >= 40, `${commands.size} lines found`);
    const home = join(tmp.path, 'home');
    let ran = 0;
    let skipped = 0;
    for (const [i, [command, page]] of [...commands].entries()) {
      if (SKIP.some(([s]) => command.includes(s))) {
        skipped++;
        continue;
      }
      // its own folder with the inputs it names (not what it writes with -o)
      const cwd = join(tmp.path, `example-${i}`);
      await mkdir(cwd);
      const output = / -o (\S+)/.exec(command)?.[1];
      for (const [name, path] of inputs) {
        if (name !== output && new RegExp(`(^|[\\s'./])${name.replace(/\./g, '\\.')}([\\s/']|$)`).test(command)) await symlink(path, join(cwd, name));
      }
      let line = command.replaceAll('npx pplcnet', `node ${JSON.stringify(join(ROOT, 'bin/pplcnet.js'))}`);
      for (const [re, extra] of SHORTER) if (re.test(line)) line += extra;
      const r = await sh(line, cwd, { PPLCNET_HOME: home, PPLCNET_OFFLINE: '1' });
      assert.equal(r.code, 0, `${page}: ${command}\nexit ${r.code}\n${r.stderr}${r.stdout.slice(0, 2000)}`);
      ran++;
    }
    assert.equal(ran + skipped, commands.size);
    for (const [s, why] of SKIP) assert.ok([...commands.keys()].some((c) => c.includes(s)), `SKIP '${s}' (${why}) matches no line: remove it`);
  });

  test("the README's library snippet runs as written against the built package", { timeout: 120_000 }, async () => {
    const cwd = join(tmp.path, 'library');
    await mkdir(join(cwd, 'node_modules'), { recursive: true });
    await symlink(ROOT, join(cwd, 'node_modules', 'pplcnet'));
    await symlink(join(ROOT, 'models'), join(cwd, 'models'));
    await writeFile(join(cwd, 'classify.mjs'), librarySnippet(await readFile(join(ROOT, 'README.md'), 'utf8')));
    const r = await sh('node classify.mjs', cwd, { PPLCNET_HOME: join(tmp.path, 'home-library') });
    assert.equal(r.code, 0, r.stderr);
    // the shipped examples' orientations, as the quick start prints them
    assert.deepEqual(r.stdout.trim().split('\n'), [
      '0_degree 1.0000',
      'models/examples/textline_upright.png 0_degree',
      'models/examples/textline_upside_down.png 180_degree',
    ]);
  });
  test('the library page (docs/library.md) type-checks against the built package as written', { timeout: 180_000 }, async () => {
    // it names files and zoo models that are not here, so it is compiled, not run
    const cwd = join(tmp.path, 'library-page');
    await mkdir(join(cwd, 'node_modules'), { recursive: true });
    await symlink(ROOT, join(cwd, 'node_modules', 'pplcnet'));
    const page = await readFile(join(ROOT, 'docs/library.md'), 'utf8');
    const block = /```ts\n([\s\S]*?)```/.exec(page);
    assert.ok(block, 'docs/library.md: a ts block');
    await writeFile(join(cwd, 'library.mts'), `${block[1]}\nexport {};\n`);
    const types = join(ROOT, 'node_modules', '@types');
    const tsconfig = { compilerOptions: { target: 'ES2022', module: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, lib: ['ES2022', 'ESNext.Disposable'], types: ['node'], typeRoots: [types] }, files: ['library.mts'] };
    await writeFile(join(cwd, 'tsconfig.json'), JSON.stringify(tsconfig));
    const r = await sh(`node ${JSON.stringify(join(ROOT, 'node_modules/typescript/bin/tsc'))} -p tsconfig.json`, cwd, {});
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});

function sh(line: string, cwd: string, env: NodeJS.ProcessEnv): Promise<CliRun> {
  return childOutput(spawn('sh', ['-c', line], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
}
