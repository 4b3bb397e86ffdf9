/**
 * The library's main entry: `createClassifier({ model })` → `classify(imageOrPath)`.
 * Resolves the model (zoo name, .onnx, or a Paddle model converted on first use), reads its metadata
 * (preprocessing, labels), and runs it on onnxruntime-node.
 */
import { PplcnetError, invalidOption } from './errors.js';
import { type ImageInput, decodeImage } from './image/decode.js';
import { normalizeInto, resizeAndCrop } from './image/preprocess.js';
import type { Image8 } from './image/resize.js';
import { imagenetLabels } from './labels.js';
import { IMAGENET_PREPROCESS, type ModelMetadata, type Preprocess, parseMetadata } from './metadata.js';
import { readMetadataProps } from './onnx/metadata-props.js';
import { type SessionOptions, createSession, ort } from './runtime/session.js';
import { type ResolveOptions, resolveModel } from './zoo/resolve.js';

export interface ClassifierOptions extends SessionOptions, ResolveOptions {
  /** A zoo name (`PP-LCNet_x0_25_textline_ori`), an `.onnx` file, or a Paddle model to convert. */
  model: string;
  /** How many classes to return. [the model's `topk`, else 5] */
  topk?: number;
}

export interface TopClass {
  readonly classId: number;
  readonly label: string;
  readonly score: number;
}

export interface Classification {
  /** The file name, or `<n bytes>` for an in-memory image. */
  readonly input: string;
  readonly topk: readonly TopClass[];
  /** Every class's probability. */
  readonly probs: Float32Array;
  readonly timings: { readonly decodeMs: number; readonly preprocessMs: number; readonly inferenceMs: number; readonly batchSize: number };
}

export interface Classifier {
  readonly name: string;
  readonly provider: string;
  readonly metadata: ModelMetadata;
  readonly preprocess: Preprocess;
  readonly labels: readonly string[] | undefined;
  readonly inputName: string;
  /** Classify one image (a path or encoded bytes). */
  classify(input: ImageInput): Promise<Classification>;
  /** Classify several images in one batch; an image that fails yields its Error in its place. */
  classifyBatch(inputs: readonly ImageInput[]): Promise<(Classification | PplcnetError)[]>;
  /** Run on an already preprocessed [N,3,H,W] tensor; returns probabilities [N, classes]. */
  run(data: Float32Array, n: number, height: number, width: number): Promise<Float32Array>;
  close(): Promise<void>;
}

function label(labels: readonly string[] | undefined, id: number): string {
  return labels?.[id] ?? String(id);
}

/** The k best classes, highest first (ties by class id). */
export function topK(probs: ArrayLike<number>, k: number, labels?: readonly string[]): TopClass[] {
  const idx = Array.from({ length: probs.length }, (_, i) => i);
  idx.sort((a, b) => probs[b]! - probs[a]! || a - b);
  return idx.slice(0, Math.min(k, probs.length)).map((i) => ({ classId: i, label: label(labels, i), score: probs[i]! }));
}

function softmaxRows(x: Float32Array, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    let m = -Infinity;
    for (let c = 0; c < cols; c++) m = Math.max(m, x[r * cols + c]!);
    let s = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(x[r * cols + c]! - m);
    for (let c = 0; c < cols; c++) out[r * cols + c] = Math.exp(x[r * cols + c]! - m) / s;
  }
  return out;
}

export async function createClassifier(options: ClassifierOptions): Promise<Classifier> {
  if (!options || typeof options.model !== 'string' || options.model === '') {
    throw invalidOption('model', 'a zoo name or a model path', options?.model, 'type');
  }
  const resolved = await resolveModel(options.model, options);
  const metadata = parseMetadata(readMetadataProps(resolved.bytes, resolved.path ?? resolved.name));
  const { session, provider } = await createSession(resolved.bytes, options);
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames.includes('probs') ? 'probs' : session.outputNames[0]!;
  const preprocess = metadata.preprocess ?? IMAGENET_PREPROCESS;
  const topk = options.topk ?? metadata.topk ?? 5;
  if (!Number.isInteger(topk) || topk < 1) throw invalidOption('topk', 'a positive integer', topk);
  // labels from the metadata; a 1000-class model without any gets the ImageNet-1k names on first run
  let resolvedLabels = metadata.labels;

  const run = async (data: Float32Array, n: number, h: number, w: number): Promise<Float32Array> => {
    const out = await session.run({ [inputName]: new ort.Tensor('float32', data, [n, 3, h, w]) });
    const t = out[outputName]!;
    const values = t.data as Float32Array;
    const cols = values.length / n;
    if (!resolvedLabels && cols === 1000) resolvedLabels = imagenetLabels();
    if (outputName === 'probs') return values;
    // A foreign model: use its output as probabilities when it already is a distribution, else softmax it.
    let isDist = true;
    for (let r = 0; r < n && isDist; r++) {
      let s = 0;
      for (let c = 0; c < cols; c++) {
        const v = values[r * cols + c]!;
        if (v < 0) isDist = false;
        s += v;
      }
      if (Math.abs(s - 1) > 1e-3) isDist = false;
    }
    return isDist ? values : softmaxRows(values, cols);
  };

  const prepare = async (input: ImageInput): Promise<{ img: Image8; decodeMs: number; preprocessMs: number; name: string }> => {
    const name = typeof input === 'string' ? input : `<${input.length} bytes>`;
    const t0 = performance.now();
    const decoded = await decodeImage(input, name);
    const t1 = performance.now();
    let img: Image8;
    try {
      img = resizeAndCrop(decoded, preprocess, name);
    } catch (err) {
      throw new PplcnetError('E_IMAGE', (err as Error).message);
    }
    return { img, decodeMs: t1 - t0, preprocessMs: performance.now() - t1, name };
  };

  const classifyBatch = async (inputs: readonly ImageInput[]): Promise<(Classification | PplcnetError)[]> => {
    const prepared = await Promise.all(
      inputs.map((i) =>
        prepare(i).catch((err: unknown) =>
          err instanceof PplcnetError ? err : new PplcnetError('E_IMAGE', `${typeof i === 'string' ? i : 'image'}: ${(err as Error).message}`),
        ),
      ),
    );
    const results: (Classification | PplcnetError)[] = prepared.map((p) => (p instanceof PplcnetError ? p : (undefined as never)));
    // group images of the same size (always one group when the pipeline fixes the size)
    const groups = new Map<string, number[]>();
    prepared.forEach((p, i) => {
      if (p instanceof PplcnetError) return;
      const key = `${p.img.width}x${p.img.height}`;
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    for (const idx of groups.values()) {
      const first = prepared[idx[0]!] as Exclude<(typeof prepared)[number], PplcnetError>;
      const { width: w, height: h } = first.img;
      const plane = 3 * w * h;
      const t0 = performance.now();
      const data = new Float32Array(idx.length * plane);
      idx.forEach((i, k) => normalizeInto((prepared[i] as typeof first).img, preprocess, data, k * plane));
      const normMs = (performance.now() - t0) / idx.length;
      const t1 = performance.now();
      const probs = await run(data, idx.length, h, w);
      const inferenceMs = performance.now() - t1;
      const cols = probs.length / idx.length;
      idx.forEach((i, k) => {
        const p = prepared[i] as typeof first;
        const row = probs.slice(k * cols, (k + 1) * cols);
        results[i] = {
          input: p.name,
          topk: topK(row, topk, resolvedLabels),
          probs: row,
          timings: { decodeMs: p.decodeMs, preprocessMs: p.preprocessMs + normMs, inferenceMs, batchSize: idx.length },
        };
      });
    }
    return results;
  };

  return {
    name: metadata.name ?? resolved.name,
    provider,
    metadata,
    preprocess,
    get labels() {
      return resolvedLabels;
    },
    inputName,
    classifyBatch,
    async classify(input: ImageInput): Promise<Classification> {
      const [r] = await classifyBatch([input]);
      if (r instanceof Error) throw r;
      return r!;
    },
    run,
    close: () => session.release(),
  };
}
