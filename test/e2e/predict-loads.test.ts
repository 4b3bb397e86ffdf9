/**
 * What a one-image `predict` loads. With its model converted already (the shipped model, cached by a first
 * run), it needs sharp, onnxruntime and the classifier: not the converter, the graph builder, the download
 * code or any other command's packages. Every module the process loads is recorded: ES modules by a module
 * hook, CommonJS ones from require's cache at exit.
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

  test('the shipped model, converted by a first run: sharp, onnxruntime, no converter, builder or download code', async () => {
    const home = join(dir.path, 'home');
    const log = join(dir.path, 'loaded.txt');
    const hooks = join(dir.path, 'hooks.mjs');
    // the hooks run on their own thread; each module's URL is appended to the log as it loads
    await writeFile(hooks, `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) {\n  appendFileSync(${JSON.stringify(log)}, url + '\\n');\n  return next(url, context);\n}\n`);
    // CommonJS packages loaded through require (sharp, onnxruntime-node, commander) are in require's cache at exit
    const register = join(dir.path, 'register.mjs');
    await writeFile(
      register,
      `import { appendFileSync } from 'node:fs';\nimport { createRequire, register } from 'node:module';\nimport { pathToFileURL } from 'node:url';\n` +
        `register(${JSON.stringify(pathToFileURL(hooks).href)});\nconst cache = createRequire(import.meta.url).cache;\n` +
        `process.on('exit', () => appendFileSync(${JSON.stringify(log)}, Object.keys(cache).map((f) => pathToFileURL(f).href + '\\n').join('')));\n`,
    );
    const run = (importHook: boolean) => {
      const child = spawn(process.execPath, [...(importHook ? ['--import', pathToFileURL(register).href] : []), join(ROOT, 'bin', 'pplcnet.js'), 'predict', '-q', '--json', '-m', MODEL, IMAGE], {
        cwd: ROOT,
        env: { ...process.env, PPLCNET_HOME: home },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      return childOutput(child, 60_000);
    };
    const first = await run(false); // converts the shipped model into the cache
    assert.equal(first.code, 0, first.stderr);
    const second = await run(true);
    assert.equal(second.code, 0, second.stderr);
    const row = (out: string): unknown => ({ ...JSON.parse(out), timings: undefined });
    assert.deepEqual(row(second.stdout), row(first.stdout), 'the same row either way (timings aside)');
    const loaded = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    for (const needed of ['/node_modules/sharp/', '/node_modules/onnxruntime-node/', '/dist/src/classifier.js', '/dist/src/cli/commands/predict.js']) {
      assert.ok(loaded.some((u) => u.includes(needed)), `${needed} is not among the ${loaded.length} modules loaded: the hook saw nothing useful`);
    }
    const extra = loaded.filter((u) => NOT_NEEDED.some((re) => re.test(u)));
    assert.deepEqual(extra, [], 'modules a converted model does not need');
  });
});
