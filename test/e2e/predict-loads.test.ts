/**
 * What a one-image `predict` loads. With its model converted already (the shipped model, cached by a first
 * run), it needs sharp, onnxruntime and the classifier: not the converter, the graph builder, the download
 * code or any other command's packages. The installed CLI runs `predict` from its one-file build
 * (dist/src/cli/predict-bundle.js); the modules it is built from are checked through `main()`, unbundled.
 * Every module a process loads is recorded: ES modules by a module hook, CommonJS ones from require's cache
 * at exit.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ROOT, childOutput, tempDir } from '../helpers.js';

const IMAGE = join(ROOT, 'models', 'examples', 'textline_upright.png');
const MODEL = 'PP-LCNet_x0_25_textline_ori';

/** Our modules and packages a converted model's `predict` has no use for. */
const NOT_NEEDED = [
  /\/dist\/src\/convert\/(?!inference-files\.js)/,
  /\/dist\/src\/builder\/(?!architecture\.js)/,
  /\/dist\/src\/zoo\/(pull|download|inventory|catalog|lock)\.js/,
  /\/dist\/src\/onnx\/weight-storage\.js/,
  /\/dist\/src\/(train|serve|queue|report|web|web-export|compare|inspect|bench)[/.]/,
  /\/node_modules\/(fastify|@fastify|bullmq|ioredis|yaml|esbuild|puppeteer-core|onnx-proto|protobufjs|@grpc|prom-client|tinyglobby)\//,
];

describe('predict: a one-image run loads only what it uses', () => {
  const dir = tempDir('loads', { before, after });
  const home = (): string => join(dir.path, 'home');
  const args = ['predict', '-q', '--json', '-m', MODEL, IMAGE];

  /** Run `node [--import recorder] ...argv` with the test's cache; the modules loaded, when recorded. */
  async function run(argv: readonly string[], record: boolean): Promise<{ stdout: string; loaded: string[] }> {
    const log = join(dir.path, `loaded-${Math.random().toString(36).slice(2)}.txt`);
    const hooks = join(dir.path, 'hooks.mjs');
    // the hooks run on their own thread; each module's URL is appended to the log as it loads
    await writeFile(hooks, `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) {\n  appendFileSync(process.env.LOADED_LOG, url + '\\n');\n  return next(url, context);\n}\n`);
    // CommonJS packages loaded through require (sharp, onnxruntime-node, commander) are in require's cache at exit
    const register = join(dir.path, 'register.mjs');
    await writeFile(
      register,
      `import { appendFileSync } from 'node:fs';\nimport { createRequire, register } from 'node:module';\nimport { pathToFileURL } from 'node:url';\n` +
        `register(${JSON.stringify(pathToFileURL(hooks).href)});\nconst cache = createRequire(import.meta.url).cache;\n` +
        `process.on('exit', () => appendFileSync(process.env.LOADED_LOG, Object.keys(cache).map((f) => pathToFileURL(f).href + '\\n').join('')));\n`,
    );
    const child = spawn(process.execPath, [...(record ? ['--import', pathToFileURL(register).href] : []), ...argv], {
      cwd: ROOT,
      env: { ...process.env, PPLCNET_HOME: home(), LOADED_LOG: log },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = await childOutput(child, 60_000);
    assert.equal(out.code, 0, out.stderr);
    return { stdout: out.stdout, loaded: record ? (await readFile(log, 'utf8')).split('\n').filter(Boolean) : [] };
  }
  const row = (out: string): unknown => ({ ...JSON.parse(out), timings: undefined });
  const assertLoads = (loaded: readonly string[], needed: readonly string[]): void => {
    for (const n of needed) assert.ok(loaded.some((u) => u.includes(n)), `${n} is not among the ${loaded.length} modules loaded: the hook saw nothing useful`);
    assert.deepEqual(
      loaded.filter((u) => NOT_NEEDED.some((re) => re.test(u))),
      [],
      'modules a converted model does not need',
    );
  };

  before(async () => {
    await run([join(ROOT, 'bin', 'pplcnet.js'), ...args], false); // converts the shipped model into the cache
  });

  test('the installed CLI: the one-file predict, sharp and onnxruntime, and no other module of pplcnet but the respawn check', async () => {
    const plain = await run([join(ROOT, 'bin', 'pplcnet.js'), ...args], false);
    const { stdout, loaded } = await run([join(ROOT, 'bin', 'pplcnet.js'), ...args], true);
    assert.deepEqual(row(stdout), row(plain.stdout), 'the same row either way (timings aside)');
    assertLoads(loaded, ['/node_modules/sharp/', '/node_modules/onnxruntime-node/', '/dist/src/cli/predict-bundle.js']);
    const ours = loaded.filter((u) => u.includes('/dist/src/')).map((u) => u.slice(u.indexOf('/dist/src/')));
    assert.deepEqual([...new Set(ours)].sort(), ['/dist/src/cli/predict-bundle.js', '/dist/src/cli/respawn.js']);
  });

  test('the modules the one-file predict is built from, run unbundled through main(): no converter, builder or download code', async () => {
    const code = `const { main } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/src/cli/main.js')).href)}); process.exitCode = await main(${JSON.stringify(args)});`;
    const { stdout, loaded } = await run(['--input-type=module', '-e', code], true);
    const bundled = await run([join(ROOT, 'bin', 'pplcnet.js'), ...args], false);
    assert.deepEqual(row(stdout), row(bundled.stdout), 'the same row bundled and not (timings aside)');
    assertLoads(loaded, ['/node_modules/sharp/', '/node_modules/onnxruntime-node/', '/dist/src/classifier.js', '/dist/src/cli/commands/predict.js']);
  });
});
