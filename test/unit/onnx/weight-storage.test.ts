/**
 * Weight storage (fp16, int8) against numpy's rounding and quantization, against the fp32 model on the
 * fixture images, and against onnxruntime's optimized graph (every restoring node folded away at load).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import ort from 'onnxruntime-node';
import {
  type WeightStorage,
  buildPPLCNet,
  convertInferenceModel,
  createClassifier,
  exportWebSite,
  inspectModel,
  initParameters,
  pullZooModel,
  recordedStorage,
  resolveArchitecture,
  storeWeights,
  writeFileAtomic,
} from '../../../src/index.js';
import { countParameters } from '../../../src/builder/architecture.js';
import { viewModel } from '../../../src/onnx/read.js';
import { exposeOutputs } from '../../../src/onnx/expose-outputs.js';
import { readMetadataProps } from '../../../src/onnx/metadata-props.js';
import { onnx } from '../../../src/onnx/proto.js';
import { quantizePerChannel, roundFloat16PerChannel } from '../../../src/onnx/weight-storage.js';
import { float16Bits, float16Value } from '../../../src/util/float16.js';
import { FIXTURES } from '../../fixtures/index.js';
import { ROOT, runCli, tempDir } from '../../helpers.js';

interface Reference {
  float16: { input: number[]; bits: number[] };
  int8: { name: string; dims: number[]; axis: number; weight: number[]; q: number[]; scale: number[] }[];
}
const REF = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/weight_storage.json'), 'utf8')) as Reference;
const fromBits = (bits: number[]): Float32Array => new Float32Array(Uint32Array.from(bits).buffer);

/** Every fixture image: the rendered text lines, the preprocessing set (photos and odd formats), the shipped examples. */
const IMAGES = [
  ...readdirSync(FIXTURES.textlines).map((f) => join(FIXTURES.textlines, f)),
  ...readdirSync(FIXTURES.preprocess).filter((f) => /\.(png|jpg|bmp|webp|tif)$/.test(f) && !/\.(exact|short)\.png$/.test(f)).map((f) => join(FIXTURES.preprocess, f)),
  ...readdirSync(join(ROOT, 'models/examples')).map((f) => join(ROOT, 'models/examples', f)),
];
const inDomain = (path: string): boolean => !path.startsWith(FIXTURES.preprocess);

async function probabilities(model: Uint8Array): Promise<Float32Array[]> {
  const clf = await createClassifier({ model, threads: 1 });
  try {
    const out: Float32Array[] = [];
    for (const image of IMAGES) out.push((await clf.classify(image)).probs);
    return out;
  } finally {
    await clf.close();
  }
}

const argmax = (p: Float32Array): number => p.reduce((best, v, i) => (v > p[best]! ? i : best), 0);

function compare(base: Float32Array[], other: Float32Array[], which: (i: number) => boolean = () => true): { maxDelta: number; flipped: string[] } {
  let maxDelta = 0;
  const flipped: string[] = [];
  base.forEach((row, k) => {
    if (!which(k)) return;
    for (let j = 0; j < row.length; j++) maxDelta = Math.max(maxDelta, Math.abs(row[j]! - other[k]![j]!));
    if (argmax(row) !== argmax(other[k]!)) flipped.push(IMAGES[k]!);
  });
  return { maxDelta, flipped };
}

/** x1_0 with seeded PaddleClas initialization, fc scaled ×1e5 so its logits spread as a trained model's do (std ≈ 1 rather than 1e-5). */
function seededX1(weightStorage: WeightStorage = 'fp32'): Uint8Array {
  const arch = resolveArchitecture({ scale: 1.0 });
  const weights = initParameters(arch, 1);
  const fc = weights.get('fc.weight')!;
  for (let i = 0; i < fc.length; i++) fc[i]! *= 1e5;
  return buildPPLCNet(arch, { weights, weightStorage }).bytes;
}

describe('float16 and int8 against numpy', () => {
  test('float16Bits rounds as numpy does: ties to even, subnormals, overflow, infinities, NaN, signed zero', () => {
    const input = fromBits(REF.float16.input);
    const bad: string[] = [];
    input.forEach((x, i) => {
      if (float16Bits(x) !== REF.float16.bits[i]) bad.push(`${x}: ${float16Bits(x).toString(16)} vs numpy ${REF.float16.bits[i]!.toString(16)}`);
    });
    assert.equal(input.length, 425);
    assert.deepEqual(bad, []);
    assert.equal(float16Value(0x3c00), 1);
    assert.equal(float16Value(0x0001), 2 ** -24);
    assert.equal(float16Value(0x7bff), 65504);
  });

  test('quantizePerChannel gives numpy\'s scales and int8 values, channels on axis 0 (conv) and 1 (fc)', () => {
    for (const r of REF.int8) {
      const w = fromBits(r.weight);
      const { q, scales, maxError } = quantizePerChannel(w, r.dims, r.axis);
      assert.deepEqual([...scales], [...fromBits(r.scale)], `${r.name} scales`);
      assert.deepEqual([...q], r.q, `${r.name} values`);
      let expected = 0;
      const inner = r.dims.slice(r.axis + 1).reduce((a, b) => a * b, 1);
      w.forEach((v, i) => {
        const c = Math.floor(i / inner) % r.dims[r.axis]!;
        expected = Math.max(expected, Math.abs(Math.fround(r.q[i]! * scales[c]!) - v));
      });
      assert.equal(maxError, expected);
      // the reference moved some values off the nearest integer (so plain rounding would fail this test), and
      // each channel's rounding errors then sum to at most half a step
      const moved = r.q.filter((v, i) => v !== Math.sign(w[i]! / scales[Math.floor(i / inner) % r.dims[r.axis]!]!) * Math.round(Math.abs(w[i]! / scales[Math.floor(i / inner) % r.dims[r.axis]!]!)));
      assert.ok(moved.length > 0, `${r.name}: no value moved`);
      const sums = new Float64Array(r.dims[r.axis]!);
      w.forEach((v, i) => (sums[Math.floor(i / inner) % r.dims[r.axis]!]! += r.q[i]! - v / scales[Math.floor(i / inner) % r.dims[r.axis]!]!));
      for (const sum of sums) assert.ok(Math.abs(sum) <= 0.5 + 1e-9, `${r.name}: a channel's errors sum to ${sum} steps`);
      // the scales are float16 values, none smaller than max|w| / 127
      for (const sc of scales) assert.equal(float16Value(float16Bits(sc)), sc);
    }
  });
});

describe('float16 rounding that cancels, and bias correction', () => {
  /** Seeded values over many magnitudes, float16 subnormals included. */
  const seeded = (n: number, seed: number): Float32Array => {
    let x = seed;
    const next = (): number => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    return Float32Array.from({ length: n }, () => (next() - 0.5) * 2 ** (Math.floor(next() * 30) - 22));
  };

  test('roundFloat16PerChannel: each value is one of its two float16 neighbours, each channel\'s error sum no larger than nearest rounding\'s', () => {
    for (const [dims, axis] of [[[6, 2, 3, 3], 0], [[5, 40], 1], [[16, 1, 5, 5], 0]] as [number[], number][]) {
      const w = seeded(dims.reduce((a, b) => a * b, 1), 11 + axis);
      const { bits, maxError } = roundFloat16PerChannel(w, dims, axis);
      const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
      const channel = (i: number): number => Math.floor(i / inner) % dims[axis]!;
      const [nearestSum, sum] = [new Float64Array(dims[axis]!), new Float64Array(dims[axis]!)];
      let moved = 0;
      let largest = 0;
      w.forEach((v, i) => {
        const near = float16Value(float16Bits(v));
        const got = float16Value(bits[i]!);
        // the float16 values on either side of v: the stored one must be one of them, so within one step of v
        const below = [near, float16Value(float16Bits(v) + 1), float16Value(float16Bits(v) - 1)].filter((h) => h <= v).reduce((a, b) => Math.max(a, b), -Infinity);
        const above = [near, float16Value(float16Bits(v) + 1), float16Value(float16Bits(v) - 1)].filter((h) => h >= v).reduce((a, b) => Math.min(a, b), Infinity);
        assert.ok(got === below || got === above, `${v}: stored ${got}, neighbours ${below} and ${above}`);
        if (got !== near) moved++;
        nearestSum[channel(i)]! += near - v;
        sum[channel(i)]! += got - v;
        largest = Math.max(largest, Math.abs(got - v));
      });
      assert.equal(maxError, largest);
      assert.ok(moved > 0, `${dims}: no value moved off the nearest float16 (the test would pass for plain rounding)`);
      sum.forEach((e, c) => assert.ok(Math.abs(e) <= Math.abs(nearestSum[c]!), `${dims} channel ${c}: |${e}| > nearest's |${nearestSum[c]}|`));
      assert.ok(sum.some((e, c) => Math.abs(e) < Math.abs(nearestSum[c]!) / 2), `${dims}: no channel's error sum shrank`);
    }
  });

  test("bias correction: a Conv after Relu(N(m, s²)) gets b − Σ (stored − w)·E[relu], E from the normal's closed form; a Conv whose input's expectation is not exact, or unknown, keeps its bias", () => {
    const T = onnx.TensorProto.DataType;
    const [wa, ba, wb, bb] = [seeded(6, 3), Float32Array.of(0.5, -1, 2), Float32Array.of(1000.3, -2047.7, 513.13, 777.77, -1500.1, 123.456), Float32Array.of(0.25, -0.75)];
    const [wc, bc] = [Float32Array.of(300.7, -1200.3, 45.678, 999.9), Float32Array.of(1.5, -2.5)];
    const mean = [0.5, -1, 2];
    const std = [1, 2, 0.5];
    const vi = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: T.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
    const init = (name: string, dims: number[], data: Float32Array) => ({ name, dims, dataType: T.FLOAT, rawData: new Uint8Array(Float32Array.from(data).buffer) });
    // A → (a: N(mean, std²), given as statistics, or by a BatchNormalization node) → Relu → B → Relu → C. C's input
    // is the Relu of a value whose distribution is not known (only its mean), so C gets no correction
    const model = (batchNorm: boolean): Uint8Array => onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'three',
        node: [
          ...(batchNorm
            ? [{ name: 'A', opType: 'Conv', input: ['x', 'wa'], output: ['conv'] }, { name: 'bn', opType: 'BatchNormalization', input: ['conv', 'scale', 'shift', 'zeros', 'ones'], output: ['a'] }]
            : [{ name: 'A', opType: 'Conv', input: ['x', 'wa', 'ba'], output: ['a'] }]),
          { name: 'r', opType: 'Relu', input: ['a'], output: ['r'] },
          { name: 'B', opType: 'Conv', input: ['r', 'wb', 'bb'], output: ['y'] },
          { name: 'r2', opType: 'Relu', input: ['y'], output: ['r2'] },
          { name: 'C', opType: 'Conv', input: ['r2', 'wc', 'bc'], output: ['z'] },
        ],
        initializer: [
          init('wa', [3, 2, 1, 1], wa), init('wb', [2, 3, 1, 1], wb), init('bb', [2], bb), init('wc', [2, 2, 1, 1], wc), init('bc', [2], bc),
          ...(batchNorm ? [init('scale', [3], Float32Array.from(std)), init('shift', [3], Float32Array.from(mean)), init('zeros', [3], new Float32Array(3)), init('ones', [3], new Float32Array(3).fill(1))] : [init('ba', [3], ba)]),
        ],
        input: [vi('x', [1, 2, 2, 2])],
        output: [vi('z', [1, 2, 2, 2])],
      },
    }).finish();
    // E[max(0, z)] for z ~ N(m, s²) = m·Φ(m/s) + s·φ(m/s); erf by Abramowitz and Stegun 7.1.26 (error < 1.5e-7).
    // storeWeights integrates numerically (relative error about 1e-6 here), hence the tolerance
    const erf = (z: number): number => {
      const t = 1 / (1 + 0.3275911 * Math.abs(z));
      const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
      return Math.sign(z) * y;
    };
    const relu = mean.map((m, c) => m * 0.5 * (1 + erf(m / std[c]! / Math.SQRT2)) + (std[c]! * Math.exp(-0.5 * (m / std[c]!) ** 2)) / Math.sqrt(2 * Math.PI));
    const statistics = new Map([['a', { mean: Float32Array.from(mean), std: Float32Array.from(std) }]]);
    const biases = (bytes: Uint8Array): Map<string, number[]> => {
      const m = viewModel(bytes);
      const node = (name: string) => m.nodes.find((n) => n.name === name)!;
      return new Map(['A', 'B', 'C'].filter((n) => node(n).inputs[2]).map((n) => [n, [...m.initializers.find((t) => t.name === node(n).inputs[2])!.data]]));
    };
    for (const storage of ['int8', 'fp16'] as const) {
      const restored = (w: Float32Array, dims: number[]): Float32Array => {
        if (storage === 'fp16') return Float32Array.from(roundFloat16PerChannel(w, dims, 0).bits, float16Value);
        const { q, scales } = quantizePerChannel(w, dims, 0);
        return Float32Array.from(q, (v, i) => v * scales[Math.floor(i / 3)]!);
      };
      const rb = restored(wb, [2, 3, 1, 1]);
      const want = [...bb].map((b, c) => Math.fround(b - [0, 1, 2].reduce((acc, i) => acc + (rb[c * 3 + i]! - wb[c * 3 + i]!) * relu[i]!, 0)));
      assert.ok(want.some((v, c) => Math.abs(v - bb[c]!) > 1e-4), `${storage}: the correction is too small to tell`);
      for (const [how, bytes, options] of [['statistics', model(false), { statistics }], ['a BatchNormalization node', model(true), {}]] as const) {
        const got = biases(storeWeights(bytes, storage, { ...options, others: 'fp32' }).bytes);
        got.get('B')!.forEach((v, c) => assert.ok(Math.abs(v - want[c]!) <= 1e-5 * (1 + Math.abs(want[c]!)), `${storage}, ${how}: B bias ${c}: ${v} vs ${want[c]}`));
        assert.deepEqual(got.get('C'), [...bc], `${storage}, ${how}: C's input expectation is only approximate`);
        if (!options.statistics) continue;
        assert.deepEqual(got.get('A'), [...ba], `${storage}: A's input (the graph's) has no expectation`);
        assert.deepEqual(biases(storeWeights(bytes, storage, { ...options, others: 'fp32', correctBiases: false }).bytes).get('B'), [...bb]);
        assert.deepEqual(biases(storeWeights(bytes, storage, { others: 'fp32' }).bytes).get('B'), [...bb], `${storage}: no statistics, no correction`);
      }
    }
  });
});

describe('storeWeights on the text-line model and a seeded x1_0', () => {
  const dir = tempDir('weights', { before, after });
  const models = new Map<string, Uint8Array>();
  const stored = new Map<string, Uint8Array>();
  before(async () => {
    models.set('textline', (await convertInferenceModel(FIXTURES.textlineModel)).bytes);
    models.set('x1_0', seededX1());
    // as convert and build store them: with the BatchNorm statistics that correct the biases
    for (const s of ['fp16', 'int8'] as const) {
      stored.set(`textline.${s}`, (await convertInferenceModel(FIXTURES.textlineModel, { weightStorage: s })).bytes);
      stored.set(`x1_0.${s}`, seededX1(s));
    }
  });

  test('sizes: fp16 ≤ 0.52x and int8 ≤ 0.30x of the fp32 file, for x1_0 and the text-line model', () => {
    for (const m of ['x1_0', 'textline']) {
      const ratio = (s: string): number => stored.get(`${m}.${s}`)!.length / models.get(m)!.length;
      assert.ok(ratio('fp16') <= 0.52, `${m} fp16 ${ratio('fp16')}`);
      assert.ok(ratio('int8') <= 0.3, `${m} int8 ${ratio('int8')}`);
    }
  });

  test('the metadata records the storage and the largest weight change; storing again is refused or a no-op', () => {
    for (const [key, bytes] of stored) {
      const props = readMetadataProps(bytes);
      const storage = key.split('.')[1] as WeightStorage;
      assert.equal(recordedStorage(props), storage);
      const err = Number(props['pplcnet.weights_max_error']);
      assert.ok(err > 0 && Number.isFinite(err), key);
      assert.equal(storeWeights(bytes, storage).bytes, bytes);
      assert.throws(() => storeWeights(bytes, storage === 'fp16' ? 'int8' : 'fp16'), (e: Error & { code?: string }) => e.code === 'E_MODEL' && /made from the fp32 model/.test(e.message));
    }
    assert.equal(recordedStorage(readMetadataProps(models.get('x1_0')!)), 'fp32');
    assert.equal(storeWeights(models.get('x1_0')!, 'fp32').bytes, models.get('x1_0'));
  });

  test('every conv and fc weight comes from an int8 tensor with float16 scales, or a float16 tensor; biases float32 (int8: float16 after the first third)', () => {
    for (const storage of ['int8', 'fp16'] as const) {
      const m = viewModel(stored.get(`textline.${storage}`)!);
      const T = onnx.TensorProto.DataType;
      const producer = new Map(m.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
      const init = new Map(m.initializers.map((t) => [t.name, t]));
      // the stored tensors a value is restored from (through Split, Mul and Cast)
      const sources = (value: string): number[] => {
        if (init.has(value)) return [init.get(value)!.dataType];
        const n = producer.get(value)!;
        if (n.opType === 'Split') return sources(n.inputs[0]!);
        return n.inputs.flatMap(sources);
      };
      const computes = m.nodes.filter((n) => n.name !== '');
      assert.equal(computes.length, 71, 'the fp32 graph\'s nodes keep their names');
      const first = new Map<string, number>();
      computes.forEach((n, k) => n.inputs.forEach((i) => first.has(i) || first.set(i, k)));
      for (const n of computes.filter((c) => c.opType === 'Conv' || c.opType === 'Gemm')) {
        assert.deepEqual(sources(n.inputs[1]!), storage === 'int8' ? [T.INT8, T.FLOAT16] : [T.FLOAT16], `${n.name} weight`);
        const late: boolean = storage === 'int8' && first.get(n.inputs[2]!)! >= computes.length / 3;
        assert.deepEqual(sources(n.inputs[2]!), [late ? T.FLOAT16 : T.FLOAT], `${n.name} bias`);
      }
      // restoring nodes: one Cast (and for int8 one Cast of the scales and one Mul) per stored tensor, one Split per group
      const restore = m.nodes.filter((n) => n.name === '');
      const stores = m.initializers.filter((t) => t.dataType === (storage === 'int8' ? T.INT8 : T.FLOAT16) && !/^s/.test(t.name)).length;
      assert.ok(restore.length < 40, `${restore.length} restoring nodes`);
      assert.ok(restore.every((n) => ['Cast', 'Mul', 'Split'].includes(n.opType)));
      assert.ok(stores <= 12, `${stores} stored tensors`);
    }
  });

  test('stored models keep value_info only for the values pplcnet exposes, and those can still be exposed', async () => {
    for (const [key, bytes] of stored) {
      const infos = (onnx.ModelProto.decode(bytes).graph?.valueInfo ?? []).map((v) => v.name).sort();
      assert.deepEqual(infos, ['avg_pool', 'flatten'], key);
      assert.ok((onnx.ModelProto.decode(models.get(key.split('.')[0]!)!).graph?.valueInfo ?? []).length > 50, `${key}: the fp32 model lists every intermediate`);
    }
    const session = await ort.InferenceSession.create(exposeOutputs(stored.get('textline.fp16')!, ['flatten', 'avg_pool']), { logSeverityLevel: 3 });
    const out = await session.run({ image: new ort.Tensor('float32', new Float32Array(3 * 80 * 160).fill(0.25), [1, 3, 80, 160]) });
    await session.release();
    assert.deepEqual(out.flatten!.dims, [1, 128]);
    assert.deepEqual(out.avg_pool!.dims, [1, 128, 1, 1]);
  });

  test("onnxruntime folds the restoring nodes at load: its optimized graph has the fp32 graph's ops and no int8 or float16 tensor", async () => {
    const opsOf = async (bytes: Uint8Array, level: 'basic' | 'all', name: string): Promise<{ ops: string[]; types: Set<number> }> => {
      const path = join(dir.path, `${name}.${level}.opt.onnx`);
      const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: level, optimizedModelFilePath: path, intraOpNumThreads: 1, logSeverityLevel: 3 });
      await session.release();
      const m = viewModel(new Uint8Array(readFileSync(path)));
      return { ops: m.nodes.map((n) => n.opType).sort(), types: new Set(m.initializers.map((t) => t.dataType)) };
    };
    for (const level of ['basic', 'all'] as const) {
      for (const [name, bytes] of models) {
        const fp32 = await opsOf(bytes, level, name);
        for (const s of ['fp16', 'int8']) {
          const got = await opsOf(stored.get(`${name}.${s}`)!, level, `${name}.${s}`);
          assert.deepEqual(got.ops, fp32.ops, `${name} ${s} at ${level}`);
          assert.ok(!got.ops.includes('Cast') && !got.types.has(onnx.TensorProto.DataType.INT8) && !got.types.has(onnx.TensorProto.DataType.FLOAT16), `${name} ${s} at ${level}`);
        }
      }
    }
  });

  test('onnxruntime-web runs no restoring node either: the nodes its profiler times are the fp32 model\'s', async () => {
    // onnxruntime-web cannot write its optimized model outside its in-memory file system, so its profile (printed
    // on stdout under Node) is read instead: every node one run executed, with its op
    const script = `import * as ort from 'onnxruntime-web';
      import { readFileSync } from 'node:fs';
      ort.env.wasm.numThreads = 1;
      const [file, h, w] = process.argv.slice(1);
      const s = await ort.InferenceSession.create(readFileSync(file), { enableProfiling: true, logSeverityLevel: 3 });
      await s.run({ image: new ort.Tensor('float32', new Float32Array(3 * h * w).fill(0.5), [1, 3, +h, +w]) });
      s.endProfiling();`;
    const executed = async (name: string, bytes: Uint8Array, size: readonly [number, number]): Promise<string[]> => {
      const file = join(dir.path, `${name}.web.onnx`);
      await writeFileAtomic(file, bytes);
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, file, String(size[0]), String(size[1])], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      const nodes = [...r.stdout.matchAll(/\{"cat" : "Node".*$/gm)].map((m) => {
        const name = /"name" :"([^"]+)_kernel_time"/.exec(m[0])?.[1] ?? '';
        const op = /"op_name" : "([^"]+)"/.exec(m[0])?.[1] ?? '';
        // nodes the optimizer made (HardSwish split into HardSigmoid and Mul) are named by op and index: the
        // index moves with the nodes added before them, so only the op is compared
        return `${op} ${/^[A-Za-z]+_\d+$/.test(name) ? '(made by the optimizer)' : name}`;
      });
      assert.ok(nodes.length > 30, `${name}: ${nodes.length} nodes in the profile`);
      return nodes.sort();
    };
    for (const [name, size] of [['textline', [80, 160]], ['x1_0', [224, 224]]] as const) {
      const fp32 = await executed(name, models.get(name)!, size);
      for (const s of name === 'textline' ? ['fp16', 'int8'] : ['int8']) {
        const got = await executed(`${name}.${s}`, stored.get(`${name}.${s}`)!, size);
        assert.deepEqual(got, fp32, `${name} ${s}`);
        assert.ok(!got.some((n) => /^Cast |\.(cast|dequantize)$/.test(n)), `${name} ${s}`);
      }
    }
  });

  test('text-line model: top-1 unchanged on every fixture image and example; |Δprob| ≤ 1e-3 (fp16), 2e-2 (int8) on all of them', async () => {
    const base = await probabilities(models.get('textline')!);
    const half = await probabilities(stored.get('textline.fp16')!);
    const int8 = await probabilities(stored.get('textline.int8')!);
    const text = (k: number): boolean => inDomain(IMAGES[k]!);
    for (const [s, p, goal] of [['fp16', half, 1e-3], ['int8', int8, 2e-2]] as const) {
      assert.deepEqual(compare(base, p).flipped, [], s);
      assert.ok(compare(base, p, text).maxDelta <= goal, `${s}: ${compare(base, p, text).maxDelta} on text lines`);
    }
    // the photos of the preprocessing set are not text lines: the model is unsure there (p ≈ 0.3-0.7) and
    // amplifies every weight change; the goals hold there too (measured 9.4e-4 and 1.3e-2)
    assert.ok(compare(base, half).maxDelta <= 1e-3, `fp16 ${compare(base, half).maxDelta}`);
    assert.ok(compare(base, int8).maxDelta <= 2e-2, `int8 ${compare(base, int8).maxDelta}`);
    // without the bias correction (no BatchNorm statistics: an fp32 .onnx stored on its own), both miss them
    for (const [s, goal] of [['fp16', 1e-3], ['int8', 2e-2]] as const) {
      const uncorrected = compare(base, await probabilities(storeWeights(models.get('textline')!, s).bytes));
      assert.ok(uncorrected.maxDelta > goal, `${s} without bias correction ${uncorrected.maxDelta}`);
    }
  });

  test('seeded x1_0: fp16 keeps top-1 and |Δprob| ≤ 1e-3; int8 |Δprob| ≤ 2e-2, top-1 changes only between near-ties', async () => {
    const base = await probabilities(models.get('x1_0')!);
    const half = compare(base, await probabilities(stored.get('x1_0.fp16')!));
    const int8 = compare(base, await probabilities(stored.get('x1_0.int8')!));
    assert.deepEqual(half.flipped, []);
    assert.ok(half.maxDelta <= 1e-3, `fp16 ${half.maxDelta}`);
    assert.ok(int8.maxDelta <= 2e-2, `int8 ${int8.maxDelta}`);
    for (const f of int8.flipped) {
      const row = base[IMAGES.indexOf(f)]!;
      const [a, b] = [...row].sort((x, y) => y - x);
      assert.ok(a! - b! <= 2 * int8.maxDelta, `${f}: top-1 changed with a margin of ${a! - b!}`);
    }
  });

  test('inspect shows the storage; convert and build write it with --weights', async () => {
    const inspect = async (name: string, bytes: Uint8Array) => {
      const file = join(dir.path, name);
      await writeFileAtomic(file, bytes);
      const r = await inspectModel(file);
      assert.equal(r.kind, 'onnx');
      return r.kind === 'onnx' ? r.report : assert.fail('not inspected as ONNX');
    };
    const int8 = await inspect('tl8.onnx', stored.get('textline.int8')!);
    const fp32 = await inspect('tl32.onnx', models.get('textline')!);
    assert.equal(int8.metadata['pplcnet.weights'], 'int8');
    assert.equal(fp32.metadata['pplcnet.weights'], undefined);
    assert.equal(int8.parameters, fp32.parameters, 'the per-channel scales are not counted as parameters');
    // the values an fp32 model holds, counted here from its initializers: every one is a parameter
    assert.equal(fp32.parameters, viewModel(models.get('textline')!).initializers.reduce((a, t) => a + t.dims.reduce((x, y) => x * y, 1), 0));
    // convert prints the count inspect gives, for every storage; with BatchNorm kept, PaddleClas's count
    // (the builder's count from the architecture), running statistics left out
    const paddleClas = countParameters(resolveArchitecture(fp32.metadata['pplcnet.architecture'] as Parameters<typeof resolveArchitecture>[0]));
    const cases: [string, string[], number][] = [['int8', [], fp32.parameters], ['fp16', [], fp32.parameters], ['int8', ['--keep-bn'], paddleClas]];
    assert.equal(paddleClas - fp32.parameters, 1376, 'folding leaves one value per channel of each of its BatchNorms');
    for (const [weights, extra, expected] of cases) {
      const file = join(dir.path, `count-${weights}${extra.length ? '-bn' : ''}.onnx`);
      const converted = await runCli(['convert', FIXTURES.textlineModel, '-o', file, '--weights', weights, '--json', ...extra]);
      assert.equal(converted.code, 0, converted.stderr);
      const shown = await inspectModel(file);
      assert.ok(shown.kind === 'onnx');
      assert.equal(JSON.parse(converted.stdout).parameters, expected, `convert --weights ${weights} ${extra.join(' ')}`);
      assert.equal(shown.report.parameters, expected, `inspect of --weights ${weights} ${extra.join(' ')}`);
    }
    const out = join(dir.path, 'cli.onnx');
    const run = await runCli(['convert', FIXTURES.textlineModel, '-o', out, '--weights', 'fp16']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /weights\s+fp16 \(largest weight change/);
    assert.equal(recordedStorage(readMetadataProps(new Uint8Array(readFileSync(out)))), 'fp16');
    const shown = await runCli(['inspect', out]);
    assert.match(shown.stdout, /^weights: fp16$/m);
    const bad = await runCli(['build', '--weights', 'int4', '-o', join(dir.path, 'x.onnx')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /int4/);
  });
});

describe('grouping along the channel axis', () => {
  test('two MatMul weights [4,3] and [4,5] (channels on axis 1) are stored as one [4,8] tensor and restored exactly', async () => {
    const T = onnx.TensorProto.DataType;
    let seed = 7;
    const random = (n: number): Float32Array => Float32Array.from({ length: n }, () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 4);
    const a = random(12);
    const b = random(20);
    const vi = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: T.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
    const fp32 = onnx.ModelProto.encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'two',
        node: [
          { name: 'ya', opType: 'MatMul', input: ['x', 'a'], output: ['ya'] },
          { name: 'yb', opType: 'MatMul', input: ['x', 'b'], output: ['yb'] },
        ],
        initializer: [
          { name: 'a', dims: [4, 3], dataType: T.FLOAT, rawData: new Uint8Array(a.buffer) },
          { name: 'b', dims: [4, 5], dataType: T.FLOAT, rawData: new Uint8Array(b.buffer) },
        ],
        input: [vi('x', [1, 4])],
        output: [vi('ya', [1, 3]), vi('yb', [1, 5])],
      },
    }).finish();
    const x = Float32Array.of(1, -2, 0.5, 3);
    // x · w in float64 over the restored weights, computed apart from the stored model
    const product = (w: Float32Array, n: number): number[] => Array.from({ length: n }, (_, j) => x.reduce((acc, v, k) => acc + v * w[k * n + j]!, 0));
    for (const storage of ['int8', 'fp16'] as const) {
      const m = viewModel(storeWeights(fp32, storage).bytes);
      const stored = m.initializers.filter((t) => t.dataType === (storage === 'int8' ? T.INT8 : T.FLOAT16) && t.dims.length === 2);
      assert.deepEqual(stored.map((t) => t.dims), [[4, 8]], storage);
      assert.deepEqual(m.nodes.filter((n) => n.opType === 'Split').map((n) => n.attributes.axis), [1], storage);
      const restore = (w: Float32Array, dims: number[]): Float32Array => {
        if (storage === 'fp16') return Float32Array.from(roundFloat16PerChannel(w, dims, 1).bits, float16Value);
        const { q, scales } = quantizePerChannel(w, dims, 1);
        return Float32Array.from(q, (v, i) => Math.fround(v * scales[i % dims[1]!]!));
      };
      const session = await ort.InferenceSession.create(storeWeights(fp32, storage).bytes, { logSeverityLevel: 3 });
      const out = await session.run({ x: new ort.Tensor('float32', x, [1, 4]) });
      await session.release();
      for (const [name, w, n] of [['ya', a, 3], ['yb', b, 5]] as const) {
        const want = product(restore(w, [4, n]), n);
        const got = [...(out[name]!.data as Float32Array)];
        got.forEach((v, j) => assert.ok(Math.abs(v - want[j]!) <= 1e-5 * (1 + Math.abs(want[j]!)), `${storage} ${name}[${j}]: ${v} vs ${want[j]}`));
        // and the stored weights are not the float32 ones (the test would pass on an unchanged model otherwise)
        assert.ok(product(w, n).some((v, j) => Math.abs(v - want[j]!) > 1e-6), `${storage} ${name}: restored weights equal float32`);
      }
    }
  });
});

describe('the zoo cache and export-web keep one converted model per storage', () => {
  const dir = tempDir('weights-zoo', { before, after });

  test('pull: fp32, fp16 and int8 are cached side by side, each found again', async () => {
    const cacheDir = join(dir.path, 'cache');
    const paths = new Set<string>();
    for (const s of ['fp32', 'fp16', 'int8'] as const) {
      const options = { cacheDir, ...(s === 'fp32' ? {} : { build: { weightStorage: s } }) };
      const first = await pullZooModel('textline', options);
      assert.equal(first.origin, 'converted', s);
      assert.equal(recordedStorage(readMetadataProps(first.bytes)), s);
      paths.add(first.path!);
      const again = await pullZooModel('textline', options);
      assert.equal(again.origin, 'cache', s);
      assert.equal(again.path, first.path);
    }
    assert.equal(paths.size, 3);
  });

  test('export-web --weights int8: the site\'s model is int8, from a zoo name and from an fp32 .onnx', async () => {
    const cacheDir = join(dir.path, 'cache');
    const fromZoo = await exportWebSite({ model: 'textline', outDir: join(dir.path, 'site1'), cacheDir, weightStorage: 'int8' });
    const zooModel = new Uint8Array(readFileSync(join(fromZoo.outDir, 'model.onnx')));
    assert.equal(recordedStorage(readMetadataProps(zooModel)), 'int8');
    assert.equal(fromZoo.modelBytes, zooModel.length);
    const fp32 = join(dir.path, 'textline.onnx');
    await writeFileAtomic(fp32, (await convertInferenceModel(FIXTURES.textlineModel)).bytes);
    const fromFile = await exportWebSite({ model: fp32, outDir: join(dir.path, 'site2'), cacheDir, weightStorage: 'int8', precompress: false });
    assert.ok(!fromFile.files.some((f) => /\.(br|gz)$/.test(f.path)) && fromFile.brotliBytes === 0);
    assert.equal(recordedStorage(readMetadataProps(new Uint8Array(readFileSync(join(fromFile.outDir, 'model.onnx'))))), 'int8');
    assert.ok(fromFile.modelBytes < 0.4 * readFileSync(fp32).length);
  });

  test('export-web writes .br and .gz copies that decompress to the originals, and _headers for each', async () => {
    const site = join(dir.path, 'site1');
    const files = readdirSync(site, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(site.length + 1)).sort();
    const originals = files.filter((f) => !/\.(br|gz)$/.test(f) && !['_headers', 'README.txt'].includes(f) && readFileSync(join(site, f)).length >= 1024);
    assert.ok(originals.includes('model.onnx') && originals.includes('ort/ort-wasm-simd-threaded.wasm') && originals.includes('app.js'), originals.join(', '));
    const headers = readFileSync(join(site, '_headers'), 'utf8');
    assert.match(headers, /^\/\*\n {2}Cross-Origin-Opener-Policy: same-origin\n {2}Cross-Origin-Embedder-Policy: require-corp\n/);
    for (const f of originals) {
      const original = readFileSync(join(site, f));
      for (const [ext, decode, encoding] of [['br', brotliDecompressSync, 'br'], ['gz', gunzipSync, 'gzip']] as const) {
        const copy = readFileSync(join(site, `${f}.${ext}`));
        assert.ok(copy.length < original.length, `${f}.${ext}`);
        assert.ok(decode(copy).equals(original), `${f}.${ext} decompresses to ${f}`);
        assert.ok(headers.includes(`/${f}.${ext}\n  Content-Encoding: ${encoding}\n  Content-Type: `), `_headers lists /${f}.${ext}`);
      }
    }
    assert.match(headers, /\/ort\/ort-wasm-simd-threaded\.wasm\.br\n {2}Content-Encoding: br\n {2}Content-Type: application\/wasm\n/);
    const wasm = readFileSync(join(site, 'ort/ort-wasm-simd-threaded.wasm.br')).length;
    assert.ok(wasm < 0.25 * readFileSync(join(site, 'ort/ort-wasm-simd-threaded.wasm')).length, `wasm.br ${wasm}`);
  });
});
