/**
 * The head module the Node classifier and pplcnet/web share: which output holds the scores, multi-label or
 * not, PaddleClas's binary ThreshOutput, whose labels win (the caller's over the model's, in both), and a
 * request's own top-k or threshold.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { answerOf, headScores, headWith, modelHead } from '../../src/classifier/head.js';
import type { ModelMetadata } from '../../src/metadata.js';

const meta = (extra: Partial<ModelMetadata> = {}): ModelMetadata => ({ formatVersion: 1, head: 'softmax', ...extra });

describe('modelHead', () => {
  test('the scores output: scores for a sigmoid head, else probs, else the first output', () => {
    assert.equal(modelHead(meta({ head: 'sigmoid' }), ['logits', 'scores']).outputName, 'scores');
    assert.equal(modelHead(meta({ head: 'sigmoid' }), ['logits', 'scores']).multiLabel, true);
    assert.equal(modelHead(meta(), ['logits', 'probs']).outputName, 'probs');
    assert.equal(modelHead(meta(), ['logits', 'probs']).multiLabel, false);
    // a model with both outputs and no head key is a softmax model
    assert.equal(modelHead(meta(), ['logits', 'probs', 'scores']).outputName, 'probs');
    assert.equal(modelHead(meta(), ['out']).outputName, 'out');
  });

  test("the caller's labels win over the model's; the model's when none are given", () => {
    const m = meta({ labels: ['model0', 'model1'] });
    assert.deepEqual(modelHead(m, ['probs'], { labels: ['mine0', 'mine1'] }).labels, ['mine0', 'mine1']);
    assert.deepEqual(modelHead(m, ['probs']).labels, ['model0', 'model1']);
    assert.equal(modelHead(meta(), ['probs']).labels, undefined);
  });

  test('top-k and threshold: given, else the model’s, else 5 and 0.5; bad values refused by name', () => {
    const h = modelHead(meta({ topk: 3, threshold: 0.7 }), ['probs']);
    assert.deepEqual([h.topk, h.threshold, h.binaryThreshold], [3, 0.7, true]);
    const d = modelHead(meta(), ['probs']);
    assert.deepEqual([d.topk, d.threshold, d.binaryThreshold], [5, 0.5, false]);
    assert.throws(() => modelHead(meta(), ['probs'], { topk: 0 }), /'topk'/);
    assert.throws(() => modelHead(meta(), ['probs'], { threshold: 1.5 }), /'threshold'/);
    assert.throws(() => modelHead(meta(), ['probs'], { labels: 'a' as never }), /'labels'/);
  });
});

describe('answerOf', () => {
  const labels = ['a', 'b', 'c'];
  test('softmax: the top-k, highest first', () => {
    const a = answerOf(modelHead(meta(), ['probs'], { topk: 2, labels }), new Float32Array([0.2, 0.5, 0.3]));
    assert.deepEqual(a, { topk: [{ classId: 1, label: 'b', score: 0.5 }, { classId: 2, label: 'c', score: Math.fround(0.3) }] });
  });

  test('sigmoid: every class reaching the threshold, by class id, with the threshold', () => {
    const row = new Float32Array([0.6, 0.2, 0.9]);
    const a = answerOf(modelHead(meta({ head: 'sigmoid', threshold: 0.6 }), ['logits', 'scores'], { labels }), row);
    assert.deepEqual(a.labels?.map((l) => l.classId), [0, 2]);
    assert.equal(a.threshold, 0.6);
    assert.deepEqual(a.topk.map((t) => t.classId), [2, 0, 1]);
  });

  test('ThreshOutput: class 1 when its probability reaches the threshold, else class 0', () => {
    const h = modelHead(meta({ threshold: 0.8 }), ['probs']);
    assert.equal(answerOf(h, new Float32Array([0.25, 0.75])).topk[0]!.classId, 0);
    assert.equal(answerOf(headWith(h, { threshold: 0.7 }), new Float32Array([0.25, 0.75])).topk[0]!.classId, 1);
  });

  test("headWith: a request's top-k and threshold; a threshold given to a two-class softmax model is ThreshOutput's", () => {
    const h = modelHead(meta(), ['probs']);
    assert.equal(h.binaryThreshold, false);
    const w = headWith(h, { topk: 1, threshold: 0.9 });
    assert.deepEqual([w.topk, w.threshold, w.binaryThreshold], [1, 0.9, true]);
    assert.deepEqual(answerOf(w, new Float32Array([0.15, 0.85])).topk, [{ classId: 0, label: '0', score: Math.fround(0.15) }]);
    assert.throws(() => headWith(h, { topk: -1 }), /'topk'/);
  });

  test('headScores: a foreign output softmaxed, labels of another class count refused', () => {
    const h = modelHead(meta(), ['out'], { labels: ['x', 'y'] });
    const p = headScores(h, new Float32Array([0, Math.log(3)]), 1, 'm');
    assert.ok(Math.abs(p[0]! - 0.25) < 1e-7 && Math.abs(p[1]! - 0.75) < 1e-7);
    assert.throws(() => headScores(h, new Float32Array(3), 1, 'm'), /2 labels given for a model of 3 classes/);
  });
});
