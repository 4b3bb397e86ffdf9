/**
 * The one rule for named files (readFileBounded and friends): a regular file, checked with fstat on the
 * opened descriptor, of at most its kind's limit; streams capped. Hostile files are made here: sparse files
 * (truncate: no disk used), FIFOs (mkfifo), /dev/zero.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { parameterShapes, resolveArchitecture } from '../../../src/builder/architecture.js';
import { LARGEST_PPLCNET_VALUES, WEIGHT_LIMITS } from '../../../src/convert/architecture-check.js';
import { CONFIG_LIMITS } from '../../../src/convert/inference-config.js';
import { PplcnetError } from '../../../src/errors.js';
import { readLabelFile } from '../../../src/labels.js';
import { inspectModel } from '../../../src/inspect.js';
import { resolveModel } from '../../../src/models/resolve.js';
import { createSession } from '../../../src/runtime/session.js';
import { acquireLock } from '../../../src/zoo/lock.js';
import { loadZoo } from '../../../src/zoo/registry.js';
import {
  ARCHIVE_FILE_BYTES,
  CONFIG_FILE_BYTES,
  FILE_LIMITS,
  LARGEST_PPLCNET_PARAMETERS,
  MODEL_FILE_BYTES,
  PDPARAMS_FILE_BYTES,
} from '../../../src/util/file-limits.js';
import { type FileLimit, readFileBounded, readStreamBounded, readTextBoundedSync } from '../../../src/util/fs.js';
import { tempDir } from '../../helpers.js';

const LIMIT: FileLimit = { what: 'a test file', maxBytes: 1000, code: 'E_FORMAT', advice: 'Make it smaller' };

/** A FIFO at `path`, or undefined where mkfifo is missing (the tests using it are skipped there). */
function fifo(path: string): string | undefined {
  const r = spawnSync('mkfifo', [path]);
  return r.status === 0 ? path : undefined;
}

const refused = (code: string, pattern: RegExp) => (e: unknown) => e instanceof PplcnetError && e.code === code && pattern.test(e.message);

describe('readFileBounded: regular files only, at most the limit, refused before reading', () => {
  const tmp = tempDir('bounded', { before, after });

  test('a file up to the limit is read whole; one byte more is refused, naming the file, its size, the limit and what to do', async () => {
    const ok = join(tmp.path, 'ok.bin');
    const bytes = new Uint8Array(1000).map((_, i) => (i * 7) & 0xff);
    await writeFile(ok, bytes);
    assert.deepEqual(await readFileBounded(ok, LIMIT), bytes);
    const big = join(tmp.path, 'big.bin');
    await writeFile(big, new Uint8Array(1001));
    await assert.rejects(readFileBounded(big, LIMIT), refused('E_FORMAT', /big\.bin: 1001 bytes \(1 kB\), more than the 1000 bytes \(1 kB\) pplcnet reads of a test file; not read\. Make it smaller$/));
  });

  test('a sparse file of 1.9 GB is refused from its size alone (nothing of it is read)', async () => {
    const sparse = join(tmp.path, 'sparse.bin');
    await writeFile(sparse, 'x');
    await truncate(sparse, 1_900_000_000);
    await assert.rejects(readFileBounded(sparse, LIMIT), refused('E_FORMAT', /sparse\.bin: 1900000000 bytes \(1\.90 GB\), more than the 1000 bytes/));
  });

  test('a FIFO is refused at once, with no writer (it never blocks)', async (t) => {
    const p = fifo(join(tmp.path, 'pipe'));
    if (!p) return t.skip('no mkfifo here');
    await assert.rejects(readFileBounded(p, LIMIT), refused('E_FORMAT', /pipe: is a FIFO \(named pipe\), not a regular file; pplcnet reads a test file from a regular file only/));
    assert.throws(() => readTextBoundedSync(p, LIMIT), refused('E_FORMAT', /is a FIFO/));
  });

  test('a device (/dev/zero) and a folder are refused; a missing file is E_IO (readCode)', async (t) => {
    await assert.rejects(readFileBounded(tmp.path, LIMIT), refused('E_FORMAT', /is a folder, not a regular file/));
    await assert.rejects(readFileBounded(join(tmp.path, 'absent'), LIMIT), refused('E_IO', /absent: no such file$/));
    if (!existsSync('/dev/zero')) return t.skip('no /dev/zero here');
    await assert.rejects(readFileBounded('/dev/zero', LIMIT), refused('E_FORMAT', /\/dev\/zero: is a character device, not a regular file/));
    assert.throws(() => readTextBoundedSync('/dev/zero', LIMIT), refused('E_FORMAT', /is a character device/));
  });

  test('a stream is read up to the limit and refused past it, reading no further', async () => {
    let pulled = 0;
    const endless = new Readable({
      read() {
        pulled += 256;
        this.push(Buffer.alloc(256));
      },
    });
    await assert.rejects(readStreamBounded(endless, LIMIT, 'standard input'), refused('E_FORMAT', /standard input: more than 1000 bytes \(1 kB\), the most pplcnet reads of a test file; stopped reading\. Make it smaller/));
    assert.ok(pulled < 64 * 1024, `read ${pulled} bytes of an endless stream`);
    const exact = await readStreamBounded(Readable.from([Buffer.from([1, 2, 3]), Buffer.alloc(997, 9)]), LIMIT, 'stdin');
    assert.equal(exact.length, 1000);
    assert.deepEqual([...exact.subarray(0, 4)], [1, 2, 3, 9]);
  });
});

describe('the limits per kind', () => {
  test('a model file may be 1.5 x the float32 bytes of the largest PP-LCNet (x2.5), counted from the architecture', () => {
    const x25 = parameterShapes(resolveArchitecture({ scale: 2.5 })).reduce((n, [, s]) => n + s.reduce((a, b) => a * b, 1), 0);
    assert.equal(LARGEST_PPLCNET_PARAMETERS, x25);
    assert.equal(LARGEST_PPLCNET_PARAMETERS, LARGEST_PPLCNET_VALUES);
    // PaddleClas publishes 9.0 M parameters for x2.5 (its count leaves out BatchNorm's running statistics)
    assert.ok(Math.abs(x25 - 9.0e6) / 9.0e6 < 0.01, `x2.5 has ${x25} parameters`);
    assert.equal(MODEL_FILE_BYTES, Math.ceil(1.5 * 4 * x25));
    assert.equal(MODEL_FILE_BYTES, 54_269_520);
    for (const k of ['onnx', 'pdiparams', 'program'] as const) assert.equal(FILE_LIMITS[k].maxBytes, MODEL_FILE_BYTES);
  });

  test('the limits written out agree with the readers that check them again', () => {
    assert.equal(CONFIG_FILE_BYTES, CONFIG_LIMITS.maxBytes);
    assert.equal(PDPARAMS_FILE_BYTES, WEIGHT_LIMITS.maxFileBytes);
    assert.equal(FILE_LIMITS.pdparams.maxBytes, 161_495_936);
    assert.equal(ARCHIVE_FILE_BYTES, 2 * MODEL_FILE_BYTES + (2 << 20));
  });
});

describe('every named file goes through the rule (library)', () => {
  const tmp = tempDir('bounded-lib', { before, after });
  // an ONNX ModelProto's first fields, or a pickle's protocol opcode
  const sparse = async (name: string, size: number, head = [0x08, 0x07, 0x12, 0x07]): Promise<string> => {
    const p = join(tmp.path, name);
    await writeFile(p, Buffer.from(head));
    await truncate(p, size);
    return p;
  };

  test('an .onnx larger than the limit: inspect, resolveModel and createSession refuse it before reading', async () => {
    const p = await sparse('sparse.onnx', 1_900_000_000);
    const message = /sparse\.onnx: 1900000000 bytes \(1\.90 GB\), more than the 54269520 bytes \(54\.3 MB\) pplcnet reads of an ONNX model; not read/;
    await assert.rejects(inspectModel(p), refused('E_MODEL', message));
    await assert.rejects(resolveModel(p, { cacheDir: join(tmp.path, 'cache') }), refused('E_MODEL', message));
    await assert.rejects(createSession(p), refused('E_MODEL', message));
    const over = await sparse('over.onnx', MODEL_FILE_BYTES + 1);
    await assert.rejects(inspectModel(over), refused('E_MODEL', /over\.onnx: 54269521 bytes/));
  });

  test('.pdparams, *_infer.tar and inference model files beyond their limits are refused', async () => {
    const pdparams = await sparse('w.pdparams', PDPARAMS_FILE_BYTES + 1, [0x80, 0x02]);
    await assert.rejects(resolveModel(pdparams, { cacheDir: join(tmp.path, 'cache') }), refused('E_WEIGHTS', /w\.pdparams: 161495937 bytes .*of a \.pdparams file/));
    await assert.rejects(inspectModel(pdparams), refused('E_WEIGHTS', /161495937 bytes/));
    const tar = await sparse('m_infer.tar', ARCHIVE_FILE_BYTES + 1);
    await assert.rejects(resolveModel(tar, { cacheDir: join(tmp.path, 'cache') }), refused('E_FORMAT', /m_infer\.tar: \d+ bytes .*of an inference model archive/));
    const dir = join(tmp.path, 'infer');
    await mkdir(dir);
    await writeFile(join(dir, 'inference.json'), '{"program": {}}');
    await writeFile(join(dir, 'inference.pdiparams'), '');
    await truncate(join(dir, 'inference.pdiparams'), MODEL_FILE_BYTES + 1);
    await assert.rejects(resolveModel(dir, { cacheDir: join(tmp.path, 'cache') }), refused('E_WEIGHTS', /inference\.pdiparams: 54269521 bytes .*of the parameters of an inference model/));
  });

  test('FIFOs named as a label file, a .pdparams or an *_infer.tar are refused at once', async (t) => {
    if (!fifo(join(tmp.path, 'labels.txt'))) return t.skip('no mkfifo here');
    await assert.rejects(readLabelFile(join(tmp.path, 'labels.txt')), refused('E_IO', /labels\.txt: is a FIFO \(named pipe\), not a regular file; pplcnet reads a label file/));
    fifo(join(tmp.path, 'p.pdparams'));
    await assert.rejects(resolveModel(join(tmp.path, 'p.pdparams'), { cacheDir: join(tmp.path, 'cache') }), refused('E_WEIGHTS', /p\.pdparams: is a FIFO/));
    fifo(join(tmp.path, 'p_infer.tar'));
    await assert.rejects(resolveModel(join(tmp.path, 'p_infer.tar'), { cacheDir: join(tmp.path, 'cache') }), refused('E_FORMAT', /p_infer\.tar: is a FIFO/));
  });

  test('PPLCNET_REGISTRY: /dev/zero, a FIFO and a sparse file beyond 4 MiB are refused', async (t) => {
    const big = join(tmp.path, 'registry.json');
    await writeFile(big, '[');
    await truncate(big, FILE_LIMITS.registry.maxBytes + 1);
    assert.throws(() => loadZoo({ PPLCNET_REGISTRY: big }), refused('E_IO', /PPLCNET_REGISTRY=.*registry\.json: 4194305 bytes \(4\.2 MB\), more than the 4194304 bytes \(4\.2 MB\) pplcnet reads of a model registry/));
    if (existsSync('/dev/zero')) assert.throws(() => loadZoo({ PPLCNET_REGISTRY: '/dev/zero' }), refused('E_IO', /PPLCNET_REGISTRY=\/dev\/zero: is a character device/));
    const p = fifo(join(tmp.path, 'registry.fifo'));
    if (!p) return t.skip('no mkfifo here');
    assert.throws(() => loadZoo({ PPLCNET_REGISTRY: p }), refused('E_IO', /registry\.fifo: is a FIFO/));
  });

  test('a FIFO where a pull lock should be is an error naming it, not a wait or a busy loop', async (t) => {
    const p = fifo(join(tmp.path, '.lock'));
    if (!p) return t.skip('no mkfifo here');
    await assert.rejects(acquireLock(p, { waitMs: 2000 }), refused('E_IO', /\.lock: is a FIFO \(named pipe\), not a regular file; pplcnet reads a cache record from a regular file only .*: remove it/));
  });
});
