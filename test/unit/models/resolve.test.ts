import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createClassifier } from '../../../src/classifier.js';
import { convertInferenceModel } from '../../../src/convert/inference-model.js';
import { PplcnetError } from '../../../src/errors.js';
import { resolveModel } from '../../../src/models/resolve.js';
import { makeTar } from '../../archives.js';
import { FIXTURES } from '../../fixtures/index.js';
import { tempDir } from '../../helpers.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const FILES = ['inference.json', 'inference.pdiparams', 'inference.yml'];

describe('resolveModel: what the user gave → a model', () => {
  const dir = tempDir('models', { before, after });
  let tarPath = '';
  before(async () => {
    const files = await Promise.all(FILES.map(async (f) => ({ name: `PP-LCNet_x0_25_textline_ori_infer/${f}`, data: new Uint8Array(await readFile(join(FIXTURES.textlineModel, f))) })));
    tarPath = join(dir.path, 'PP-LCNet_x0_25_textline_ori_infer.tar');
    await writeFile(tarPath, makeTar([{ name: 'PP-LCNet_x0_25_textline_ori_infer/', type: '5' }, ...files]));
  });

  test('a *_infer.tar converts in memory to the same ONNX as its folder; nothing is extracted', async () => {
    const cacheA = join(dir.path, 'cache-a');
    const fromTar = await resolveModel(tarPath, { cacheDir: cacheA });
    assert.equal(fromTar.origin, 'converted');
    assert.equal(fromTar.name, 'PP-LCNet_x0_25_textline_ori_infer');
    const fromFolder = await convertInferenceModel(FIXTURES.textlineModel);
    assert.equal(sha(fromTar.bytes), sha(fromFolder.bytes), 'the archive and the folder give byte-identical ONNX');
    assert.deepEqual(await readdir(cacheA), ['onnx'], 'only the converted model is written');
    assert.deepEqual(await readdir(dir.path).then((f) => f.filter((x) => x !== 'cache-a').sort()), ['PP-LCNet_x0_25_textline_ori_infer.tar']);
    // the record beside it names the archive, its size and mtime
    const record = JSON.parse(await readFile(`${fromTar.path!}.json`, 'utf8'));
    const st = await stat(tarPath);
    assert.deepEqual([record.kind, record.sources], ['tar', [{ source: resolve(tarPath), file: resolve(tarPath), size: st.size, mtimeMs: Math.round(st.mtimeMs) }]]);
    // the same content from the folder is the same cached model; the record gains the second source
    const again = await resolveModel(FIXTURES.textlineModel, { cacheDir: cacheA });
    assert.equal(again.origin, 'cache');
    assert.equal(again.path, fromTar.path);
    const both = JSON.parse(await readFile(`${fromTar.path!}.json`, 'utf8'));
    assert.deepEqual(both.sources.map((s: { source: string }) => s.source), [resolve(tarPath), resolve(FIXTURES.textlineModel)]);
  });

  test('convertInferenceModel takes the archive too, naming the files inside it', async () => {
    const m = await convertInferenceModel(tarPath);
    assert.equal(m.files.program, `${tarPath}:PP-LCNet_x0_25_textline_ori_infer/inference.json`);
    assert.equal(m.files.config, `${tarPath}:PP-LCNet_x0_25_textline_ori_infer/inference.yml`);
  });

  test('a hostile or incomplete archive is refused before anything is written', async () => {
    const cache = join(dir.path, 'cache-bad');
    const evil = join(dir.path, 'evil_infer.tar');
    await writeFile(evil, makeTar([{ name: 'm/inference.json', data: new Uint8Array([1]) }, { name: '../../escaped.txt', data: new Uint8Array([1]) }]));
    await assert.rejects(resolveModel(evil, { cacheDir: cache }), (e: unknown) => e instanceof PplcnetError && e.code === 'E_FORMAT' && /refusing the path "\.\.\/\.\.\/escaped\.txt"/.test(e.message));
    const link = join(dir.path, 'link_infer.tar');
    await writeFile(link, makeTar([{ name: 'inference.json', type: '2', linkname: '/etc/passwd' }]));
    await assert.rejects(resolveModel(link, { cacheDir: cache }), /links and devices are not extracted/);
    const half = join(dir.path, 'half_infer.tar');
    await writeFile(half, makeTar([{ name: 'x/inference.json', data: await readFile(join(FIXTURES.textlineModel, 'inference.json')) }]));
    await assert.rejects(resolveModel(half, { cacheDir: cache }), /x\/inference\.json is in the archive but its parameters x\/inference\.pdiparams are not/);
    const none = join(dir.path, 'none.tar');
    await writeFile(none, makeTar([{ name: 'readme.txt', data: new Uint8Array([65]) }]));
    await assert.rejects(resolveModel(none, { cacheDir: cache }), /no inference\.json or inference\.pdmodel in the archive \(it holds readme\.txt\)/);
    assert.ok(!existsSync(cache) && !existsSync(join(dir.path, '..', 'escaped.txt')));
  });

  test('a .pdparams is converted once and its source recorded; ONNX bytes are taken as they are', async () => {
    const cache = join(dir.path, 'cache-w');
    const src = join(dir.path, 'my weights.pdparams');
    await writeFile(src, await readFile(join(FIXTURES.pdparams, 'x0_25.pdparams')));
    const r = await resolveModel(src, { cacheDir: cache, build: { inputSize: [64, 64] } });
    assert.equal(r.origin, 'converted');
    const record = JSON.parse(await readFile(`${r.path!}.json`, 'utf8'));
    assert.deepEqual([record.kind, record.name, record.sources[0].source, record.sources[0].size], ['pdparams', 'my weights', resolve(src), (await stat(src)).size]);
    const bytes = await resolveModel(r.bytes);
    assert.equal(bytes.origin, 'bytes');
    assert.equal(bytes.bytes, r.bytes);
    await assert.rejects(resolveModel(new Uint8Array(64).fill(0x50)), (e: unknown) => e instanceof PplcnetError && e.code === 'E_FORMAT' && /model bytes \(64 bytes, starting 50505050\): not an ONNX model/.test(e.message));
  });

  test('createClassifier takes ONNX model bytes and classifies exactly as from the file', async () => {
    const cache = join(dir.path, 'cache-c');
    const byName = await createClassifier({ model: 'textline', cacheDir: cache, ep: 'cpu', workers: 0 });
    const bytes = new Uint8Array(await readFile((await resolveModel('textline', { cacheDir: cache })).path!));
    const byBytes = await createClassifier({ model: bytes, ep: 'cpu', workers: 0 });
    const img = join(FIXTURES.textlines, '02_down.png');
    const [a, b] = [await byName.classify(img), await byBytes.classify(img)];
    assert.equal(b.topk[0]!.label, '180_degree');
    assert.deepEqual(Array.from(b.probs), Array.from(a.probs));
    assert.equal(byBytes.name, 'PP-LCNet_x0_25_textline_ori', 'the name comes from the metadata');
    await byName.close();
    await byBytes.close();
    await assert.rejects(byBytes.classify(img), (e: unknown) => e instanceof PplcnetError && e.code === 'E_CLOSED');
    await assert.rejects(createClassifier({ model: 42 as unknown as string }), TypeError);
  });
});
