import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { CliContext } from '../../../src/cli/context.js';
import { createProgram } from '../../../src/cli/program.js';
import { noticeFrom, warnFrom } from '../../../src/cli/options.js';

function capture(): { ctx: CliContext; err: string[] } {
  const err: string[] = [];
  return { ctx: { stdout: () => {}, stderr: (s) => err.push(s), isTTY: false }, err };
}

describe('CLI notices and shared options', () => {
  const provider = "execution provider: cpu (oneDNN 'dnnl' is not in this onnxruntime-node binding, which offers cpu; pass --ep cpu to silence this)";
  const rebuilt = '/c/onnx/k.onnx: the cached model does not match its recorded sha256; converting again from the source';

  test('the provider notice only with --verbose; other notices by default; -q silences every notice and warning', () => {
    for (const [flags, expected] of [
      [{}, [`pplcnet: ${rebuilt}\n`]],
      [{ verbose: true }, [`pplcnet: ${provider}\n`, `pplcnet: ${rebuilt}\n`]],
      [{ quiet: true, verbose: true }, []],
    ] as const) {
      const { ctx, err } = capture();
      const say = noticeFrom(flags, ctx);
      say(provider);
      say(rebuilt);
      assert.deepEqual(err, expected, JSON.stringify(flags));
    }
    const { ctx, err } = capture();
    warnFrom({}, ctx)("w.pdparams: 'fc.weight' holds 3 NaN values");
    warnFrom({ quiet: true }, ctx)('never shown');
    assert.deepEqual(err, ["pplcnet: warning: w.pdparams: 'fc.weight' holds 3 NaN values\n"]);
  });

  test('every command that pulls a model takes --offline, --mirror, --timeout, -q; every command that runs one takes --verbose', async () => {
    const program = await createProgram(capture().ctx);
    const flags = (name: string): string[] => program.commands.find((c) => c.name() === name)!.options.map((o) => o.long!);
    for (const name of ['predict', 'bench', 'compare']) {
      for (const f of ['--offline', '--mirror', '--timeout', '--quiet', '--cache-dir', '--verbose', '--ep', '--threads']) assert.ok(flags(name).includes(f), `${name} ${f}`);
    }
    for (const name of ['convert', 'build']) assert.ok(flags(name).includes('--force'), `${name} --force`);
  });
});
