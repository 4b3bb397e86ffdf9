/** The CLI over multi-label heads, label files and embeddings, against make_heads.py's numpy reference. */
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveArchitecture } from '../../src/builder/architecture.js';
import { writePdiparams } from '../../src/convert/pdiparams.js';
import { readPdparams } from '../../src/convert/pdparams.js';
import { pdiparamsOrder } from '../../src/convert/program.js';
import { FIXTURES } from '../fixtures/index.js';
import { assertAllClose, runCli, tempDir } from '../helpers.js';
import { toPirJson } from '../pir-writer.js';
import { writeProgram } from '../program-writer.js';

interface Reference {
  labels: string[];
  size: number;
  images: { file: string; scores: number[]; attributes: { classId: number; label: string }[]; gap: number[]; embedding: number[] }[];
}

/** A float32 .npy matrix read back: its header fields and rows. */
function readNpy(b: Buffer): { shape: number[]; rows: Float32Array[] } {
  assert.deepEqual([...b.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const len = b.readUInt16LE(8);
  assert.equal((10 + len) % 64, 0, 'data aligned to 64 bytes');
  const header = b.subarray(10, 10 + len).toString('latin1');
  assert.match(header, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(\d+, \d+\), \} *\n$/);
  const shape = /\((\d+), (\d+)\)/.exec(header)!.slice(1, 3).map(Number);
  const data = new Float32Array(b.buffer.slice(b.byteOffset + 10 + len, b.byteOffset + b.length));
  assert.equal(data.length, shape[0]! * shape[1]!);
  return { shape, rows: Array.from({ length: shape[0]! }, (_, i) => data.slice(i * shape[1]!, (i + 1) * shape[1]!)) };
}

/** Attribute names per image from predict's text output. */
function attributes(stdout: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let current = '';
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(' ') && line) out[(current = line.split('/').at(-1)!)] = [];
    else if (line.trim() && !line.includes('no class reaches')) out[current]!.push(line.trim().split(/\s+/)[0]!);
  }
  return out;
}

describe('multi-label heads, labels and embeddings (CLI)', () => {
  const tmp = tempDir('heads-cli', { before, after });
  const cpu = ['--ep', 'cpu', '--threads', '1'];
  const images = (ref: Reference): string[] => ref.images.map((i) => join(FIXTURES.heads, i.file));
  const reference = async (): Promise<Reference> => JSON.parse(await readFile(join(FIXTURES.heads, 'reference.json'), 'utf8'));

  test('convert --head sigmoid, then predict --labels prints every attribute over the threshold, as the reference', async () => {
    const ref = await reference();
    const model = join(tmp.path, 'ml.onnx');
    const c = await runCli(['convert', join(FIXTURES.heads, 'multilabel.pdparams'), '--head', 'sigmoid', '--input-size', '64', '-o', model]);
    assert.equal(c.code, 0, c.stderr);
    const p = await runCli(['predict', '-m', model, '--labels', join(FIXTURES.heads, 'labels.txt'), ...cpu, ...images(ref)]);
    assert.equal(p.code, 0, p.stderr);
    const expected = Object.fromEntries(ref.images.map((i) => [i.file, i.attributes.map((a) => a.label)]));
    assert.deepEqual(attributes(p.stdout), expected);
    // --json rows carry labels [{classId,label,score}] besides topk; --class_id_map_file is the same flag
    const j = await runCli(['predict', '-m', model, '--class_id_map_file', join(FIXTURES.heads, 'labels.txt'), '--json', ...cpu, ...images(ref)]);
    assert.equal(j.code, 0, j.stderr);
    const rows = j.stdout.trim().split('\n').map((l) => JSON.parse(l));
    rows.forEach((row, k) => {
      assert.deepEqual(row.labels.map((l: { classId: number; label: string }) => [l.classId, l.label]), ref.images[k]!.attributes.map((a) => [a.classId, a.label]));
      assertAllClose(row.labels.map((l: { score: number }) => l.score), ref.images[k]!.attributes.map((a) => ref.images[k]!.scores[a.classId]!), { atol: 1e-5, what: 'scores' });
      assert.equal(row.threshold, 0.5);
      assert.ok(row.topk.length > 0);
    });
    // --threshold 0.99: no class of these images reaches it
    const hi = await runCli(['predict', '-m', model, '--threshold', '0.99', ...cpu, images(ref)[0]!]);
    assert.equal(hi.code, 0, hi.stderr);
    assert.match(hi.stdout, /no class reaches 0\.99/);
    // a label file of the wrong length is refused, naming both counts
    const two = join(tmp.path, 'two.txt');
    await writeFile(two, 'a\nb\n');
    const bad = await runCli(['predict', '-m', model, '--labels', two, ...cpu, images(ref)[0]!]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /2 labels given for a model of 6 classes/);
  });

  test('an inference program ending in sigmoid converts as multi-label without --head and predicts the same attributes', async () => {
    const ref = await reference();
    const contents = readPdparams(new Uint8Array(await readFile(join(FIXTURES.heads, 'multilabel.pdparams'))), 'multilabel.pdparams');
    const { program, names } = writeProgram(resolveArchitecture({ scale: 0.25, classNum: 6, classExpand: 64 }), { head: 'sigmoid', inputSize: [64, 64] });
    const dir = join(tmp.path, 'ml_infer');
    await mkdir(dir);
    const byName = new Map([...names].map(([key, name]) => [name, contents.tensors.get(key)!]));
    await writeFile(join(dir, 'inference.json'), toPirJson(program));
    await writeFile(join(dir, 'inference.pdiparams'), writePdiparams(pdiparamsOrder(byName.keys()).map((n) => ({ shape: byName.get(n)!.shape, data: byName.get(n)!.data }))));
    const model = join(tmp.path, 'ml_infer.onnx');
    const c = await runCli(['convert', dir, '-o', model, '--labels', join(FIXTURES.heads, 'labels.txt'), '--json']);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(JSON.parse(c.stdout).outputs.map((o: { name: string }) => o.name), ['logits', 'scores']);
    const p = await runCli(['predict', '-m', model, ...cpu, ...images(ref)]);
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual(attributes(p.stdout), Object.fromEntries(ref.images.map((i) => [i.file, i.attributes.map((a) => a.label)])));
  });

  test('build --head sigmoid and --head none: the outputs say so', async () => {
    for (const [head, outputs] of [['sigmoid', ['logits', 'scores']], ['none', ['logits']]] as const) {
      const r = await runCli(['build', '--scale', '0.25', '--class-num', '4', '--input-size', '32', '--head', head, '-o', join(tmp.path, `b_${head}.onnx`), '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).outputs.map((o: { name: string }) => o.name), outputs);
    }
    const bad = await runCli(['build', '--head', 'tanh']);
    assert.equal(bad.code, 2);
  });

  test('embed: NDJSON and .npy equal the numpy reference within 1e-5; --layer gap; --normalize; bad images left out', async () => {
    const ref = await reference();
    const model = join(tmp.path, 'emb.onnx');
    assert.equal((await runCli(['convert', join(FIXTURES.heads, 'multilabel.pdparams'), '--input-size', '64', '-o', model])).code, 0);
    const nd = await runCli(['embed', '-m', model, ...cpu, ...images(ref)]);
    assert.equal(nd.code, 0, nd.stderr);
    const lines = nd.stdout.trim().split('\n').map((l) => JSON.parse(l));
    lines.forEach((o, k) => assertAllClose(o.embedding, ref.images[k]!.embedding, { atol: 1e-5, what: `${o.file} embedding` }));
    const broken = join(tmp.path, 'broken.png');
    await writeFile(broken, 'not an image');
    const npy = join(tmp.path, 'gap.npy');
    const g = await runCli(['embed', '-m', model, '--layer', 'gap', '--normalize', '-o', npy, ...cpu, images(ref)[0]!, broken, ...images(ref).slice(1)]);
    assert.equal(g.code, 1, g.stderr);
    assert.match(g.stderr, /broken\.png/);
    assert.deepEqual(g.stdout.trim().split('\n').map((l) => JSON.parse(l).row), [0, 1, 2]);
    const m = readNpy(await readFile(npy));
    assert.deepEqual(m.shape, [3, 128]);
    m.rows.forEach((row, k) => {
      const gap = ref.images[k]!.gap;
      const n = Math.hypot(...gap);
      assertAllClose(row, gap.map((v) => v / n), { atol: 1e-5, what: `row ${k}` });
    });
    assert.deepEqual((await readdir(tmp.path)).filter((f) => f.includes('.tmp.')), [], 'no temporary file left');
    // a zoo model needs no --features conversion: the shipped text-line model (no last conv: 128 GAP features)
    const zoo = await runCli(['embed', '-m', 'PP-LCNet_x0_25_textline_ori', ...cpu, 'models/examples/textline_upright.png']);
    assert.equal(zoo.code, 0, zoo.stderr);
    const z = JSON.parse(zoo.stdout).embedding as number[];
    assert.equal(z.length, 128);
    assert.ok(z.every(Number.isFinite) && z.some((v) => v !== 0));
    const wrong = await runCli(['embed', '-m', model, '-o', join(tmp.path, 'x.txt'), images(ref)[0]!]);
    assert.equal(wrong.code, 2);
    assert.match(wrong.stderr, /\.npy/);
  });
});
