import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { inferenceModelFromTar } from '../../../src/convert/inference-model.js';
import { PplcnetError } from '../../../src/errors.js';
import { makeTar } from '../../archives.js';
import { FIXTURES } from '../../fixtures/index.js';

const file = (f: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES.textlineModel, f)));
const model = (dir: string, program = 'inference.json'): { name: string; data: Uint8Array }[] => [
  { name: `${dir}${program}`, data: file('inference.json') },
  { name: `${dir}${program.replace(/\.(json|pdmodel)$/, '.pdiparams')}`, data: file('inference.pdiparams') },
];

describe('an inference archive holds one model', () => {
  test('two models in two folders are refused, both listed (the first one used to be converted)', async () => {
    const tar = makeTar([...model('first/'), ...model('second/')]);
    await assert.rejects(inferenceModelFromTar(tar, 'two_infer.tar'), (e: unknown) => e instanceof PplcnetError && e.code === 'E_FORMAT' && /two_infer\.tar: the archive holds 2 inference models \(first\/inference\.json; second\/inference\.json\), expected one/.test(e.message));
  });

  test('a model at the root and one under a folder, or inference.* beside model.*, are two models', async () => {
    await assert.rejects(inferenceModelFromTar(makeTar([...model(''), ...model('x/')]), 't.tar'), /holds 2 inference models \(inference\.json; x\/inference\.json\)/);
    await assert.rejects(inferenceModelFromTar(makeTar([...model('m/'), ...model('m/', 'model.json')]), 't.tar'), /holds 2 inference models \(m\/inference\.json; m\/model\.json\)/);
  });

  test('one model is read; a program without its parameters is not a second model', async () => {
    const one = await inferenceModelFromTar(makeTar([...model('m/'), { name: 'other/inference.json', data: file('inference.json') }]), 't.tar');
    assert.equal(one.files.program, 't.tar:m/inference.json');
    assert.equal(one.files.params, 't.tar:m/inference.pdiparams');
  });
});
