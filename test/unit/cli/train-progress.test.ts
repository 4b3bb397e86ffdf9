/** `train`'s epoch lines: every epoch on a terminal; the first, every 10th and the last one otherwise. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EPOCH_LINE_EVERY, epochPrinter } from '../../../src/cli/commands/train.js';

/** The epochs whose lines a run of `n` epochs prints. */
function printed(n: number, isTTY: boolean): number[] {
  const lines: string[] = [];
  const p = epochPrinter((l) => lines.push(l), isTTY);
  for (let epoch = 1; epoch <= n; epoch++) p.onEpoch({ epoch, loss: 1 / epoch, trainAccuracy: 0.5, valLoss: 1, valAccuracy: 0.5, best: epoch % 7 === 0 });
  p.finish();
  p.finish(); // a second finish says nothing more
  return lines.map((l) => Number(/^epoch +(\d+) /.exec(l)![1]));
}

describe('train progress lines', () => {
  test('a terminal gets every epoch', () => {
    assert.deepEqual(printed(23, true), Array.from({ length: 23 }, (_, i) => i + 1));
  });

  test('a log gets the first, every 10th and the last epoch, each once', () => {
    assert.equal(EPOCH_LINE_EVERY, 10);
    assert.deepEqual(printed(23, false), [1, 10, 20, 23]);
    assert.deepEqual(printed(30, false), [1, 10, 20, 30]);
    assert.deepEqual(printed(1, false), [1]);
    assert.deepEqual(printed(2, false), [1, 2]);
  });

  test('a line is the epoch line, with * on a best epoch', () => {
    const lines: string[] = [];
    const p = epochPrinter((l) => lines.push(l), false);
    p.onEpoch({ epoch: 1, loss: 0.12346, trainAccuracy: 0.975, valLoss: 0.2345, valAccuracy: 0.95, best: true });
    assert.deepEqual(lines, ['epoch   1  loss 0.1235  train 97.5%  val loss 0.2345  val 95.0%  *\n']);
  });
});
