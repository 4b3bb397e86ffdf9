import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type BenchSubject, benchmarkModel, countMultiplyAdds, resolveArchitecture } from '../../src/index.js';

describe('benchmarkModel (what `pplcnet bench` runs)', () => {
  test('builds the model in memory, reads its multiply-adds, reports the subject before the first result', async () => {
    const events: string[] = [];
    let subject: BenchSubject | undefined;
    const report = await benchmarkModel(
      { scale: 0.25, threads: [1], batches: [1, 2], runs: 2, warmup: 0, peak: false, ep: 'cpu', graphOpt: 'basic', interThreads: 1 },
      {
        onReady: (s) => {
          events.push('ready');
          subject = s;
        },
        onResult: (r) => events.push(`result ${r.threads}x${r.batch}`),
      },
    );
    assert.deepEqual(events, ['ready', 'result 1x1', 'result 1x2']);
    assert.equal(subject?.name, 'PP-LCNet x0.25 (built in memory)');
    assert.deepEqual(report.inputSize, [224, 224]);
    assert.equal(report.multiplyAdds, countMultiplyAdds(resolveArchitecture({ scale: 0.25 }), [224, 224]));
    assert.equal(report.peak.size, 0);
    assert.deepEqual(report.results.map((r) => [r.batch, r.runs]), [[1, 2], [2, 2]]);
    for (const r of report.results) assert.ok(r.gflops! > 0 && r.peakRatio === undefined);
  });

  test('session options reach onnxruntime: an out-of-range inter-op thread count is refused', async () => {
    await assert.rejects(benchmarkModel({ scale: 0.25, threads: [1], runs: 1, warmup: 0, peak: false, ep: 'cpu', interThreads: 2000 }), {
      name: 'RangeError',
      message: /for 'interThreads' but received 2000/,
    });
  });
});
