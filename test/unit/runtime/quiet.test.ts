/** The library writes nothing to stderr by itself: notices reach the caller through `notice` only. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { type CliRun, ROOT, childOutput } from '../../helpers.js';

function runNode(code: string, env: NodeJS.ProcessEnv): Promise<CliRun> {
  return childOutput(spawn(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
}

describe('a library user', () => {
  test('sees no stderr output from createClassifier/classify; the provider notice comes through the callback', async () => {
    const home = await mkdtemp(join(tmpdir(), 'pplcnet-quiet-'));
    try {
      const code = `
        import { createClassifier } from './dist/src/index.js';
        const notices = [];
        const a = await createClassifier({ model: 'PP-LCNet_x0_25_textline_ori', threads: 1 });
        const r = await a.classify('models/examples/textline_upright.png');
        await a.close();
        const b = await createClassifier({ model: 'PP-LCNet_x0_25_textline_ori', threads: 1, notice: (m) => notices.push(m) });
        await b.close();
        process.stdout.write(JSON.stringify({ label: r.topk[0].label, notices }));`;
      const out = await runNode(code, { PPLCNET_HOME: home });
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stderr, '');
      const { label, notices } = JSON.parse(out.stdout) as { label: string; notices: string[] };
      assert.equal(label, '0_degree');
      assert.equal(notices.length, 1);
      assert.match(notices[0]!, /^execution provider: /);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
