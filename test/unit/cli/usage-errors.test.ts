/**
 * commander's own usage errors read like every other error of the CLI (`pplcnet: error: …`) and keep exit
 * code 2, driven through `main` with captured streams (no model is loaded: each fails while parsing).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CliContext } from '../../../src/cli/context.js';
import { main } from '../../../src/cli/main.js';

async function run(argv: readonly string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  let stderr = '';
  let stdout = '';
  const ctx: CliContext = { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), isTTY: false };
  const code = await main(argv, ctx);
  return { code, stderr, stdout };
}

describe('usage errors', () => {
  test("commander's errors carry the pplcnet: prefix and exit 2", async () => {
    const env = { ...process.env };
    delete process.env.PPLCNET_REDIS;
    try {
      for (const [argv, message] of [
        [['predict', '--bogus'], "error: unknown option '--bogus'"],
        [['predict', '-m'], "error: option '-m, --model <name|path>' argument missing"],
        [['frobnicate'], "error: unknown command 'frobnicate'"],
        [['queue', 'add', '-m', 'textline', 'x.png'], "error: required option '--queue <name>' not specified"],
        [['queue', 'add', '--queue', 'q', '-m', 'textline', 'x.png'], 'error: no Redis given: pass --redis redis://host:6379 (rediss:// for TLS) or set PPLCNET_REDIS'],
      ] as const) {
        const r = await run(argv);
        assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
        assert.equal(r.stderr, `pplcnet: ${message}\n(run with --help for usage)\n`, argv.join(' '));
        assert.equal(r.stdout, '');
      }
    } finally {
      process.env.PPLCNET_REDIS = env.PPLCNET_REDIS;
      if (env.PPLCNET_REDIS === undefined) delete process.env.PPLCNET_REDIS;
    }
  });

  test('help and --version are not errors: no prefix, exit 0', async () => {
    const r = await run(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^\d+\.\d+\.\d+/);
    assert.equal(r.stderr, '');
  });
});
