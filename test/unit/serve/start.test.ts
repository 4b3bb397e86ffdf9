import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Classifier } from '../../../src/classifier.js';
import { isLoopback, modelServeName } from '../../../src/serve/start.js';
import { FIXTURES } from '../../fixtures/index.js';

describe('serve: names and addresses', () => {
  const fake = { name: 'from-metadata' } as Classifier;
  test('a model given by path is named after its file or folder without extension; a zoo name keeps the classifier name', () => {
    assert.equal(modelServeName(FIXTURES.textlineModel, fake), 'PP-LCNet_x0_25_textline_ori');
    assert.equal(modelServeName(`${FIXTURES.textlineModel}/`, fake), 'PP-LCNet_x0_25_textline_ori');
    assert.equal(modelServeName(`${FIXTURES.textlineModel}/inference.json`, fake), 'inference');
    assert.equal(modelServeName('textline', fake), 'from-metadata');
  });
  test('loopback addresses are told from public ones', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1']) assert.equal(isLoopback(h), true, h);
    for (const h of ['0.0.0.0', '::', '192.168.1.10', 'example.com']) assert.equal(isLoopback(h), false, h);
  });
});
