import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { progressBar } from '../../../src/cli/progress.js';

describe('progress bar', () => {
  const events = [
    { status: 'initiate', name: 'm', url: 'u' },
    { status: 'download', name: 'm', url: 'u', resumeFrom: 1000, total: 4000 },
    { status: 'progress', name: 'm', loaded: 4000, total: 4000 },
    { status: 'done', name: 'm', loaded: 4000, sha256: 'x' },
  ] as const;

  test('on a terminal: resume notice, bytes of total, a final line', () => {
    let out = '';
    const bar = progressBar((s) => (out += s), true, false);
    for (const e of events) bar(e);
    assert.match(out, /m: resuming at 1 kB\n/);
    assert.match(out, /\rm \[#{24}\] 100% 4 kB \/ 4 kB [\d.]+ (B|kB|MB)\/s/);
    assert.ok(out.endsWith('\n'));
  });

  test('quiet, or not a terminal: nothing', () => {
    for (const [tty, quiet] of [[false, false], [true, true]] as const) {
      let out = '';
      const bar = progressBar((s) => (out += s), tty, quiet);
      for (const e of events) bar(e);
      assert.equal(out, '');
    }
  });
});
