import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatDuration, formatImageProgress, formatImageSummary, formatRate, imageProgress } from '../../../src/cli/progress.js';

/** A clock the test moves by hand. */
function fakeClock(start = 5000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('predict progress and summary', () => {
  test('rates, durations, the progress line and the summary line', () => {
    assert.equal(formatRate(183.4), '183');
    assert.equal(formatRate(12.44), '12.4');
    assert.equal(formatRate(0.523), '0.52');
    assert.equal(formatDuration(42.4), '42s');
    assert.equal(formatDuration(185), '3m05s');
    assert.equal(formatDuration(3720), '1h02m');
    // 120 of 400 in 2 s: 60 img/s, 280 left → 4.7 s
    assert.equal(formatImageProgress(120, 400, 2000), '120/400 images, 60.0 img/s, ETA 5s');
    assert.equal(formatImageProgress(0, 400, 2000), '0/400 images, - img/s');
    assert.equal(formatImageProgress(400, 400, 2000), '400/400 images, 200 img/s');
    assert.equal(formatImageSummary(400, 2, 2186), '400 images, 2 failed, 183 img/s');
    assert.equal(formatImageSummary(1, 0, 500), '1 image, 0 failed, 2.0 img/s');
    // nothing classified: no rate (it would time the failures)
    assert.equal(formatImageSummary(1, 1, 6), '1 image, 1 failed');
    assert.equal(formatImageSummary(3, 3, 6000), '3 images, 3 failed');
  });

  test('on a terminal: nothing in the first second, then a line redrawn at most every 100 ms, cleared before the summary', () => {
    const clock = fakeClock();
    const written: string[] = [];
    const text = (): string => written.join('');
    const p = imageProgress((s) => written.push(s), { total: 400, isTTY: true, quiet: false, now: clock.now });
    clock.advance(900);
    p.update(100);
    assert.equal(text(), '', 'a run under a second shows no progress');
    clock.advance(100);
    p.update(120);
    assert.equal(text(), '\r120/400 images, 120 img/s, ETA 2s\x1b[K');
    clock.advance(50);
    p.update(130);
    assert.equal(text().split('\r').length, 2, 'not redrawn within 100 ms');
    clock.advance(50);
    p.update(140);
    assert.ok(text().endsWith('\r140/400 images, 127 img/s, ETA 2s\x1b[K'), JSON.stringify(text()));
    // a line written meanwhile (an image's error) clears the progress first; the next update draws it again
    const before = written.length;
    p.clear();
    written.push('pplcnet: error: x.png: no such file\n');
    clock.advance(10);
    p.update(141);
    assert.deepEqual(written.slice(before), ['\r\x1b[K', 'pplcnet: error: x.png: no such file\n', '\r141/400 images, 127 img/s, ETA 2s\x1b[K']);
    clock.advance(990);
    p.finish(400, 2);
    assert.ok(text().endsWith('\r\x1b[Kpplcnet: 400 images, 2 failed, 190 img/s\n'), JSON.stringify(text()));
  });

  test('not a terminal: only the summary; quiet: nothing', () => {
    for (const [isTTY, quiet, expected] of [
      [false, false, 'pplcnet: 10 images, 1 failed, 5.0 img/s\n'],
      [true, true, ''],
      [false, true, ''],
    ] as const) {
      const clock = fakeClock();
      let out = '';
      const p = imageProgress((s) => (out += s), { total: 10, isTTY, quiet, now: clock.now });
      clock.advance(1500);
      p.update(5);
      clock.advance(500);
      p.finish(10, 1);
      assert.equal(out, expected, `isTTY ${isTTY}, quiet ${quiet}`);
    }
  });
});
