/**
 * Weight storage (fp32, fp16, int8) of the text-line model and x1_0, in one run: file sizes, accuracy
 * against fp32 on the fixture images (max |Δprob|, top-1 changes), session creation p50 and batch-1
 * inference p50 at 1 and 2 threads, the storages alternating round by round so drift hits them alike.
 *
 *   node dist/bench/weights.js [--runs 200] [--rounds 4] [--creates 7] [--json]
 *
 * x1_0 has seeded PaddleClas weights with fc scaled ×1e5, so its logits spread as a trained model's do.
 */
import { readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveArchitecture } from '../src/builder/architecture.js';
import { initParameters } from '../src/builder/init.js';
import { buildPPLCNet } from '../src/builder/pplcnet.js';
import { createClassifier } from '../src/classifier.js';
import { convertInferenceModel } from '../src/convert/inference-model.js';
import { type WeightStorage, WEIGHT_STORAGES, storeWeights } from '../src/onnx/weight-storage.js';
import { percentile, timeRuns } from '../src/runtime/bench.js';
import { createSession, ort } from '../src/runtime/session.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const TEXTLINES = join(ROOT, 'test/fixtures/textlines');
const PHOTOS = join(ROOT, 'test/fixtures/preprocess');
const IMAGES = [
  ...readdirSync(TEXTLINES).map((f) => join(TEXTLINES, f)),
  ...readdirSync(PHOTOS).filter((f) => /\.(png|jpg|bmp|webp|tif)$/.test(f) && !/\.(exact|short)\.png$/.test(f)).map((f) => join(PHOTOS, f)),
];

interface Subject {
  name: string;
  input: [number, number];
  bytes: Map<WeightStorage, Uint8Array>;
}

async function subjects(): Promise<Subject[]> {
  const arch = resolveArchitecture({ scale: 1.0 });
  const weights = initParameters(arch, 1);
  const fc = weights.get('fc.weight')!;
  for (let i = 0; i < fc.length; i++) fc[i]! *= 1e5;
  const all = (fp32: Uint8Array) => new Map(WEIGHT_STORAGES.map((s) => [s, storeWeights(fp32, s).bytes] as const));
  return [
    { name: 'textline', input: [80, 160], bytes: all((await convertInferenceModel(join(ROOT, 'models/PP-LCNet_x0_25_textline_ori'))).bytes) },
    { name: 'x1_0', input: [224, 224], bytes: all(buildPPLCNet(arch, { weights }).bytes) },
  ];
}

async function probabilities(model: Uint8Array): Promise<Float32Array[]> {
  const clf = await createClassifier({ model, threads: 1 });
  const out: Float32Array[] = [];
  for (const image of IMAGES) out.push((await clf.classify(image)).probs);
  await clf.close();
  return out;
}

const argmax = (p: Float32Array): number => p.reduce((b, v, i) => (v > p[b]! ? i : b), 0);

/** max |Δprob| over all images and over the text lines only, and how many top-1 classes changed. */
function accuracy(base: Float32Array[], other: Float32Array[]): { maxDelta: number; maxDeltaText: number; top1Changed: number } {
  let maxDelta = 0;
  let maxDeltaText = 0;
  let top1Changed = 0;
  base.forEach((row, k) => {
    let d = 0;
    for (let j = 0; j < row.length; j++) d = Math.max(d, Math.abs(row[j]! - other[k]![j]!));
    maxDelta = Math.max(maxDelta, d);
    if (IMAGES[k]!.startsWith(TEXTLINES)) maxDeltaText = Math.max(maxDeltaText, d);
    if (argmax(row) !== argmax(other[k]!)) top1Changed++;
  });
  return { maxDelta, maxDeltaText, top1Changed };
}

/** Session creation p50 (ms) and inference p50 (ms) per storage and thread count, alternating storages. */
async function speed(s: Subject, runs: number, rounds: number, creates: number): Promise<Map<string, number[]>> {
  const samples = new Map<string, number[]>();
  const add = (k: string, v: number[]): void => void samples.set(k, [...(samples.get(k) ?? []), ...v]);
  const x = { image: new ort.Tensor('float32', new Float32Array(3 * s.input[0] * s.input[1]).map((_, i) => Math.sin(i)), [1, 3, ...s.input]) };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? [...WEIGHT_STORAGES].reverse() : WEIGHT_STORAGES;
    for (const storage of order) {
      for (const threads of [1, 2]) {
        const create: number[] = [];
        let session!: ort.InferenceSession;
        for (let i = 0; i < (threads === 1 ? creates : 1); i++) {
          const t0 = performance.now();
          session = (await createSession(s.bytes.get(storage)!, { ep: 'cpu', threads })).session;
          create.push(performance.now() - t0);
          if (i < creates - 1 && threads === 1) await session.release();
        }
        if (threads === 1) add(`${storage} create`, create);
        add(`${storage} t${threads}`, await timeRuns(session, x, Math.ceil(runs / rounds), 10));
        await session.release();
      }
    }
  }
  return samples;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '200' }, rounds: { type: 'string', default: '4' }, creates: { type: 'string', default: '7' }, json: { type: 'boolean', default: false } } });
  const rows: Record<string, unknown>[] = [];
  const load = [loadavg()[0]!];
  for (const s of await subjects()) {
    const base = await probabilities(s.bytes.get('fp32')!);
    const samples = await speed(s, Number(values.runs), Number(values.rounds), Number(values.creates));
    const p50 = (k: string): number => percentile([...samples.get(k)!].sort((a, b) => a - b), 50);
    for (const storage of WEIGHT_STORAGES) {
      const acc = storage === 'fp32' ? { maxDelta: 0, maxDeltaText: 0, top1Changed: 0 } : accuracy(base, await probabilities(s.bytes.get(storage)!));
      rows.push({
        model: s.name,
        storage,
        bytes: s.bytes.get(storage)!.length,
        ratio: s.bytes.get(storage)!.length / s.bytes.get('fp32')!.length,
        ...acc,
        createMs: p50(`${storage} create`),
        createRatio: p50(`${storage} create`) / p50('fp32 create'),
        t1Ms: p50(`${storage} t1`),
        t1Ratio: p50(`${storage} t1`) / p50('fp32 t1'),
        t2Ms: p50(`${storage} t2`),
        t2Ratio: p50(`${storage} t2`) / p50('fp32 t2'),
      });
    }
    load.push(loadavg()[0]!);
  }
  if (values.json) {
    console.log(JSON.stringify({ images: IMAGES.length, load, rows }));
    return;
  }
  console.log(`${IMAGES.length} fixture images (${readdirSync(TEXTLINES).length} text lines); load average (1 min) during the run: ${load.map((l) => l.toFixed(2)).join(', ')}`);
  console.log('model     storage  bytes      ratio  max|Δprob| (text lines)  top-1 changed  create ms (ratio)  1 thread ms (ratio)  2 threads ms (ratio)');
  for (const r of rows) {
    const n = (k: string, d = 2): string => (r[k] as number).toFixed(d);
    console.log(
      `${String(r.model).padEnd(9)} ${String(r.storage).padEnd(8)} ${String(r.bytes).padStart(9)}  ${n('ratio', 3)}  ${(r.maxDelta as number).toExponential(2)} (${(r.maxDeltaText as number).toExponential(2)})     ${String(r.top1Changed).padStart(2)}/${IMAGES.length}          ${n('createMs', 1)} (${n('createRatio')})        ${n('t1Ms')} (${n('t1Ratio')})          ${n('t2Ms')} (${n('t2Ratio')})`,
    );
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) await main();
