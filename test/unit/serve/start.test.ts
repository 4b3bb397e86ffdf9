/** How `serve` names, aliases and starts its models, and what it says when it cannot listen. */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildPPLCNet } from '../../../src/builder/pplcnet.js';
import type { Classifier } from '../../../src/classifier.js';
import { PplcnetError } from '../../../src/errors.js';
import { isLoopback, modelServeName, startServer } from '../../../src/serve/start.js';
import { FIXTURES } from '../../fixtures/index.js';
import { tempDir } from '../../helpers.js';
import { MODEL } from './common.js';

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

describe('serve: starting a server', () => {
  const tmp = tempDir('serve-start', { before, after });

  test('the zoo alias the CLI accepts answers too: POST /v1/models/textline/classify equals the full name; /v1/models lists the aliases', async () => {
    const server = await startServer({ models: ['textline'], port: 0, cacheDir: join(tmp.path, 'cache'), ep: 'cpu', threads: 1, workers: 1, processMetrics: false, browser: false });
    try {
      const bytes = await readFile(join(FIXTURES.textlines, '05_down.png'));
      const post = async (name: string) => {
        const res = await fetch(`${server.url}v1/models/${name}/classify?topk=2`, { method: 'POST', body: new Uint8Array(bytes), headers: { 'content-type': 'image/png' } });
        assert.equal(res.status, 200, name);
        return (await res.json()) as { model: string; results: { topk: unknown[] }[] };
      };
      const [full, alias] = [await post(MODEL), await post('textline')];
      assert.equal(alias.model, MODEL);
      assert.deepEqual(alias.results[0]!.topk, full.results[0]!.topk);
      const v2 = await fetch(`${server.url}v2/models/textline_ori`);
      assert.equal(((await v2.json()) as { name: string }).name, MODEL);
      const listed = (await (await fetch(`${server.url}v1/models`)).json()) as { models: { name: string; aliases: string[]; trained: unknown }[] };
      assert.deepEqual(listed.models.map((m) => [m.name, [...m.aliases].sort()]), [[MODEL, ['textline', 'textline_ori']]]);
      assert.equal(listed.models[0]!.trained, null);
      assert.deepEqual(server.warnings, []);
    } finally {
      await server.close();
    }
  });

  test('lanes: an integer from 0 to 64, checked before any model is loaded', async () => {
    for (const lanes of [-1, 1.5, 65]) {
      // a model that does not exist: had it been loaded first, the error would name it
      await assert.rejects(startServer({ models: ['no-such-model'], lanes, port: 0 }), (err: unknown) => err instanceof RangeError && err.message === `Expected an integer from 0 to 64 for 'lanes' but received ${lanes}`);
    }
  });

  test('a port in use: an error naming the port and suggesting --port 0; nothing left open', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    try {
      await assert.rejects(
        startServer({ models: [FIXTURES.textlineModel], port, cacheDir: join(tmp.path, 'cache'), ep: 'cpu', threads: 1, workers: 0, processMetrics: false, browser: false }),
        (err: unknown) => err instanceof PplcnetError && err.code === 'E_IO' && err.message === `port ${port} on 127.0.0.1 is already in use: stop what listens there, choose another --port, or --port 0 for any free port`,
      );
    } finally {
      taken.close();
    }
  });

  test('an untrained model (pplcnet build) is said at start and in /v1/models', async () => {
    const built = buildPPLCNet({ scale: 0.25, classNum: 3 }, { inputSize: 32, seed: 5, description: { name: 'fresh', labels: ['a', 'b', 'c'], trained: false } });
    const path = join(tmp.path, 'fresh.onnx');
    await writeFile(path, built.bytes);
    const server = await startServer({ models: [path], port: 0, ep: 'cpu', threads: 1, workers: 0, processMetrics: false, browser: false });
    try {
      assert.deepEqual(server.warnings, ['model fresh holds initialized, untrained weights (made by pplcnet build): its predictions are meaningless until it is trained']);
      const listed = (await (await fetch(`${server.url}v1/models`)).json()) as { models: { name: string; trained: unknown }[] };
      assert.deepEqual(listed.models.map((m) => [m.name, m.trained]), [['fresh', false]]);
    } finally {
      await server.close();
    }
  });
});
