/** What `npm pack` ships and how installs are kept from running dependency install scripts. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from '../helpers.js';

const run = promisify(execFile);

describe('the package', () => {
  it('ships the license, the shipped model with its attribution, the compiled CLI and library', async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, env: { ...process.env, npm_config_loglevel: 'silent' } });
    const [pack] = JSON.parse(stdout) as { files: { path: string }[] }[];
    const files = new Set(pack!.files.map((f) => f.path));
    for (const f of [
      'LICENSE',
      'README.md',
      'docs/predict.md',
      'bin/pplcnet.js',
      'dist/src/index.js',
      'dist/src/cli/main.js',
      // the gRPC service's definition, loaded at run time
      'dist/src/serve/grpc/inference.proto',
      'models/PP-LCNet_x0_25_textline_ori/SOURCE.md',
      'models/PP-LCNet_x0_25_textline_ori/inference.pdiparams',
    ]) {
      assert.ok(files.has(f), `npm pack leaves out ${f}`);
    }
    assert.ok(![...files].some((f) => f.startsWith('dist/test/') || f.startsWith('test/')), 'tests are not shipped');
    const license = await readFile(`${ROOT}LICENSE`, 'utf8');
    assert.match(license, /Apache License\s+Version 2\.0/);
    const pkg = JSON.parse(await readFile(`${ROOT}package.json`, 'utf8')) as { license: string };
    assert.equal(pkg.license, 'Apache-2.0');
  });

  it('keeps dependency install scripts (onnxruntime-node\'s CUDA download) from running, with no unknown npm setting', async () => {
    const npmrc = (await readFile(`${ROOT}.npmrc`, 'utf8')).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    assert.deepEqual(npmrc, ['ignore-scripts=true']);
    const pkg = JSON.parse(await readFile(`${ROOT}package.json`, 'utf8')) as { allowScripts: Record<string, boolean> };
    assert.equal(pkg.allowScripts['onnxruntime-node'], false);
    // npm reads the setting (a known key: no "Unknown project config" warning)
    const { stdout, stderr } = await run('npm', ['config', 'get', 'ignore-scripts'], { cwd: ROOT });
    assert.equal(stdout.trim(), 'true');
    assert.doesNotMatch(stderr, /Unknown project config/);
  });

  it('is installed into a project as docs/install.md says, which is what .ci/consumer.sh checks; the runtime is the version pinned', async () => {
    const doc = await readFile(`${ROOT}docs/install.md`, 'utf8');
    const ci = await readFile(`${ROOT}.ci/consumer.sh`, 'utf8');
    assert.ok(doc.includes('echo "ignore-scripts=true" >> .npmrc'), 'docs/install.md gives the .npmrc line');
    assert.match(ci, /echo 'ignore-scripts=true' > \.npmrc/);
    assert.match(await readFile(`${ROOT}.ci/run`, 'utf8'), /^\.ci\/consumer\.sh$/m);
    const pkg = JSON.parse(await readFile(`${ROOT}package.json`, 'utf8')) as { dependencies: Record<string, string>; overrides: Record<string, string> };
    for (const name of ['onnxruntime-node', 'onnxruntime-web']) {
      assert.equal(pkg.dependencies[name], '~1.30.0', `${name} pinned to the tested minor`);
      assert.match(doc, new RegExp(`\`${name}\``));
    }
    const { onnxruntimeVersion } = await import('../../src/index.js');
    assert.match(onnxruntimeVersion(), /^1\.30\./, 'the tests run on the pinned onnxruntime');
    // the lock holds no package whose engines exclude Node 20 (npm ci would warn EBADENGINE)
    const lock = JSON.parse(await readFile(`${ROOT}package-lock.json`, 'utf8')) as { packages: Record<string, { engines?: { node?: string } }> };
    const node22 = Object.entries(lock.packages).filter(([, p]) => /^>=\s*2[2-9]/.test(p.engines?.node ?? '')).map(([k]) => k);
    assert.deepEqual(node22, []);
  });
});
