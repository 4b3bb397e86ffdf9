/** The zoo's records against what their sources publish (the values checked here are copied in registry.ts's comments). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PERSON_ATTRIBUTES, TABLE_ATTRIBUTES, VEHICLE_ATTRIBUTES, ZOO, findZooEntry } from '../../../src/zoo/registry.js';
import { imagenetLabels } from '../../../src/labels.js';

const entry = (name: string) => {
  const e = findZooEntry(name, ZOO);
  assert.ok(e, name);
  return e;
};

describe('the zoo against its sources', () => {
  test('multi-label attribute models: sigmoid head, 0.5 threshold, attribute names in output order', () => {
    for (const [name, labels, count] of [
      ['PULC_person_attribute', PERSON_ATTRIBUTES, 26],
      ['PP-LCNet_x1_0_pedestrian_attribute', PERSON_ATTRIBUTES, 26],
      ['PULC_vehicle_attribute', VEHICLE_ATTRIBUTES, 19],
      ['PP-LCNet_x1_0_vehicle_attribute', VEHICLE_ATTRIBUTES, 19],
      ['PULC_table_attribute', TABLE_ATTRIBUTES, 6],
    ] as const) {
      const e = entry(name);
      assert.equal(e.head, 'sigmoid', name);
      assert.equal(e.threshold, 0.5, name);
      assert.equal(e.labels, labels, name);
      assert.equal(labels.length, count, name);
      assert.equal(new Set(labels).size, count, name);
    }
    // attr_rec.py PersonAttribute's groups: gender at 22, age 19..21, direction 23..25, bags 15..17
    assert.deepEqual([PERSON_ATTRIBUTES[22], PERSON_ATTRIBUTES.slice(23)], ['Female', ['Front', 'Side', 'Back']]);
    assert.deepEqual(PERSON_ATTRIBUTES.slice(15, 19), ['HandBag', 'ShoulderBag', 'Backpack', 'HoldObjectsInFront']);
    // PULC person 192x256 (w x h), vehicle 256x192
    assert.deepEqual(entry('PULC_person_attribute').inputSize, [256, 192]);
    assert.deepEqual(entry('PULC_vehicle_attribute').inputSize, [192, 256]);
  });

  test('class names the sources give, and ThreshOutput thresholds of binary PULC tasks', () => {
    assert.deepEqual(entry('PP-LCNet_x1_0_table_cls').labels, ['wired_table', 'wireless_table']);
    assert.deepEqual(entry('PULC_car_exists').labels, ['no_car', 'contains_car']);
    assert.deepEqual(entry('PULC_safety_helmet').labels, ['wearing_helmet', 'unwearing_helmet']);
    assert.deepEqual(entry('PULC_language_classification').labels, ['arabic', 'chinese_cht', 'cyrillic', 'devanagari', 'japan', 'ka', 'korean', 'ta', 'te', 'latin']);
    const signs = entry('PULC_traffic_sign').labels as readonly string[];
    assert.equal(signs.length, 232);
    assert.equal(new Set(signs).size, 232);
    assert.deepEqual([signs[0], signs[3], signs[211], signs[231]], ['pl80', 'ph4.2', 'pn-2', 'pw4']);
    // "id code\n" lines of the source file: 1,823 bytes
    assert.equal(signs.reduce((n, s, i) => n + `${i} ${s}\n`.length, 0), 1823);
    for (const n of ['PULC_person_exists', 'PULC_car_exists', 'PULC_safety_helmet', 'PULC_code_exists', 'PULC_clarity_assessment']) {
      assert.equal(entry(n).threshold, 0.5, n);
      assert.equal((entry(n).labels as readonly string[]).length, 2, n);
    }
  });

  test('the shipped text-line model quotes its own version; ImageNet label 107 is PaddleClas\'s', () => {
    const t = entry('PP-LCNet_x0_25_textline_ori');
    assert.equal(t.metrics.top1, 95.54);
    assert.match(t.version!, /before the 2025-05-26 upgrade/);
    assert.equal(imagenetLabels()[107], 'jellyfish');
    assert.equal(imagenetLabels().length, 1000);
  });

  test('ImageNet inference archives for every published scale, SSLD included; latency sources recorded', () => {
    const archives = ZOO.filter((e) => e.name.endsWith('_infer'));
    assert.equal(archives.length, 11);
    for (const e of archives) {
      assert.equal(e.format, 'inference');
      assert.match(e.urls[0]!, /^https:\/\/paddle-imagenet-models-name\.bj\.bcebos\.com\/dygraph\/inference\/PPLCNet_x\d_\d+(_ssld)?_infer\.tar$/);
      assert.ok(findZooEntry(e.name.replace(/_infer$/, ''), ZOO), `${e.name} has a .pdparams twin`);
    }
    for (const n of ['PULC_person_exists', 'PULC_car_exists']) assert.match(entry(n).metrics.source!, /model list.*task page.*2\.12 ms/);
  });
});
