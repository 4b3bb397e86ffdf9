/**
 * PaddleClas's attribute post-processing (attr_rec.py) on score vectors built by hand; each expectation is
 * read off the source's rules (written beside it), not computed by the code under test.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildPPLCNet } from '../../src/builder/pplcnet.js';
import { createClassifier, paddleClasAttributes } from '../../src/classifier.js';
import { parseMetadata } from '../../src/metadata.js';
import { readMetadataProps } from '../../src/onnx/read.js';
import { FIXTURES } from '../fixtures/index.js';
import { tempDir } from '../helpers.js';

/** 26 scores of 0.1 with the given ones set. */
const scores = (n: number, set: Record<number, number>): number[] => Array.from({ length: n }, (_, i) => set[i] ?? 0.1);

describe("PaddleClas's attribute post-processing", () => {
  test('PersonAttribute: gender, age, direction, glasses 0.3, hat, hold 0.6, bag, upper, lower, boots', () => {
    // female (22 > 0.5); age argmax of 19..21 is 20 → 'Age18-60'; direction argmax of 23..25 is 25 → 'Back';
    // glasses 0.35 > 0.3; hat 0.2; hold 0.55 ≤ 0.6; bags 15..17 argmax 16 at 0.7 → ShoulderBag;
    // long sleeve (3 > 2) with UpperLogo (5); lower: Trousers (11) and Shorts (12); boots (14)
    const r = paddleClasAttributes('PersonAttribute', scores(26, { 0: 0.2, 1: 0.35, 2: 0.3, 3: 0.6, 5: 0.9, 11: 0.8, 12: 0.51, 14: 0.7, 16: 0.7, 18: 0.55, 20: 0.6, 22: 0.9, 25: 0.4 }));
    assert.deepEqual(r.attributes, ['Female', 'Age18-60', 'Back', 'Glasses: True', 'Hat: False', 'HoldObjectsInFront: False', 'ShoulderBag', 'Upper: LongSleeve UpperLogo', 'Lower:  Trousers Shorts', 'Boots']);
    // output: > 0.5 except glasses (0.3) and hold (0.6)
    const expected = Array(26).fill(0);
    for (const i of [1, 3, 5, 11, 12, 14, 16, 20, 22]) expected[i] = 1;
    assert.deepEqual(r.output, expected);
    // male at exactly 0.5 (strict >); age index 19 is 'AgeLess18' in the source's list; no lower over 0.5: the
    // argmax of 8..13 (10, LongCoat); no bag over 0.5; short sleeve on a tie; hold 0.61 > 0.6
    const m = paddleClasAttributes('PersonAttribute', scores(26, { 22: 0.5, 19: 0.9, 10: 0.45, 17: 0.5, 18: 0.61, 23: 0.3 }));
    assert.deepEqual(m.attributes, ['Male', 'AgeLess18', 'Front', 'Glasses: False', 'Hat: False', 'HoldObjectsInFront: True', 'No bag', 'Upper: ShortSleeve', 'Lower:  LongCoat', 'No boots']);
  });

  test('VehicleAttribute: argmax colour and type, each shown when >= 0.5, probabilities as Python prints them', () => {
    const v = scores(19, { 4: 0.75, 12: 0.5 });
    assert.deepEqual(paddleClasAttributes('VehicleAttribute', v).attributes, ['Color: (red, prob: 0.75), Type: (van, prob: 0.5)']);
    assert.deepEqual(paddleClasAttributes('VehicleAttribute', v).output, v.map((x) => (x > 0.5 ? 1 : 0)));
    const f = Math.fround(0.987654321);
    assert.deepEqual(paddleClasAttributes('VehicleAttribute', scores(19, { 9: f, 18: 0.3 })).attributes, [`Color: (black, prob: ${f}), Type unknown`]);
    assert.equal(String(f), '0.9876543283462524');
  });

  test('TableAttribute: one yes/no per index', () => {
    const r = paddleClasAttributes('TableAttribute', [0.9, 0.2, 0.6, 0.5, 0.51, 0.1]);
    assert.deepEqual(r.attributes, ['Scanned', 'Numerous', 'Black-and-White', 'Blurry', 'Without-Obstacles', 'Tilted']);
    assert.deepEqual(r.output, [1, 0, 1, 0, 1, 0]);
  });

  test('a wrong score count or kind is refused', () => {
    assert.throws(() => paddleClasAttributes('PersonAttribute', scores(19, {})), /26 scores for PersonAttribute/);
    assert.throws(() => paddleClasAttributes('Other' as never, []), /'postprocess'/);
  });
});

describe('a model that records its post-processing', () => {
  const tmp = tempDir('attrs', { before, after });
  test('classify returns PaddleClas attributes from its scores; the metadata carries the name', async () => {
    const m = buildPPLCNet({ scale: 0.25, classNum: 26 }, { inputSize: 64, seed: 2, head: 'sigmoid', description: { postprocess: 'PersonAttribute' } });
    assert.equal(parseMetadata(readMetadataProps(m.bytes)).postprocess, 'PersonAttribute');
    assert.equal(parseMetadata({ 'pplcnet.postprocess': 'Future' }).postprocess, undefined);
    const path = join(tmp.path, 'person.onnx');
    await writeFile(path, m.bytes);
    await using clf = await createClassifier({ model: path, workers: 0 });
    const r = await clf.classify(join(FIXTURES.heads, 'img0.bmp'));
    assert.deepEqual(r.attributes, paddleClasAttributes('PersonAttribute', r.probs));
    assert.equal(r.attributes!.attributes.length, 10);
  });
});
