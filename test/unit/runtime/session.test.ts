import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildPPLCNet } from '../../../src/builder/pplcnet.js';
import { PplcnetError } from '../../../src/errors.js';
import { availableProviders, chooseProvider, createSession, toOrtOptions } from '../../../src/runtime/session.js';

describe('execution providers and session options', () => {
  test('auto takes oneDNN when offered, cpu otherwise, and says why', () => {
    assert.deepEqual(chooseProvider('auto', ['cpu', 'dnnl']), { provider: 'dnnl', notice: 'execution provider: oneDNN (dnnl), offered by this onnxruntime-node binding' });
    const d = chooseProvider('auto', ['cpu', 'webgpu']);
    assert.equal(d.provider, 'cpu');
    assert.match(d.notice!, /oneDNN 'dnnl' is not in this onnxruntime-node binding, which offers cpu, webgpu/);
  });

  test('an explicit provider the binding lacks is an error, not a fallback', () => {
    assert.throws(() => chooseProvider('dnnl', ['cpu']), (e: unknown) => e instanceof PplcnetError && e.code === 'E_PROVIDER' && /'dnnl' is not available: this onnxruntime-node binding offers cpu/.test(e.message));
    assert.deepEqual(chooseProvider('cpu', ['cpu']), { provider: 'cpu' });
  });

  test('the real binding: cpu is there, and auto decides without throwing', () => {
    const real = availableProviders();
    assert.ok(real.includes('cpu'), `providers: ${real.join(', ')}`);
    assert.equal(chooseProvider('auto', real).provider, real.includes('dnnl') ? 'dnnl' : 'cpu');
  });

  test('thread and graph flags reach the session options', () => {
    assert.deepEqual(toOrtOptions({ threads: 2, interThreads: 1, graphOpt: 'basic' }, 'cpu'), {
      executionProviders: ['cpu'],
      intraOpNumThreads: 2,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'basic',
      enableMemPattern: false,
    });
    assert.deepEqual(toOrtOptions({}, 'cpu'), { executionProviders: ['cpu'], graphOptimizationLevel: 'all', enableMemPattern: false });
    assert.throws(() => toOrtOptions({ threads: -1 }, 'cpu'), /'threads'/);
    assert.throws(() => toOrtOptions({ graphOpt: 'max' as never }, 'cpu'), /'graphOpt'/);
  });

  test('a session is created with those options, and the notice is said once', async () => {
    const notices: string[] = [];
    const { bytes } = buildPPLCNet({ scale: 0.25, classNum: 3 }, { inputSize: 32 });
    for (let i = 0; i < 2; i++) {
      const { session, provider, ortOptions } = await createSession(bytes, { ep: 'auto', threads: 1, graphOpt: 'extended', notice: (m) => notices.push(m) }, ['cpu', 'webgpu']);
      assert.equal(provider, 'cpu');
      assert.equal(ortOptions.intraOpNumThreads, 1);
      assert.deepEqual(session.inputNames, ['image']);
      await session.release();
    }
    assert.equal(notices.length, 1);
    await assert.rejects(createSession(new Uint8Array([1, 2, 3]), { ep: 'cpu' }), (e: unknown) => e instanceof PplcnetError && e.code === 'E_MODEL');
  });
});
