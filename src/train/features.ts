/**
 * Backbone features of many images, computed once: each image goes through the classifier's own
 * preprocessing (the same `Preparer`, worker threads and batched streaming as `predict`), then one
 * onnxruntime session on the model with its pooled values exposed (as `embed` does). Results are cached on
 * disk, keyed by the model's bytes, the layer, the augmentation and each image's content, so a second run
 * (or a new head on the same images) reads them back instead of running the backbone.
 *
 * Cache file: `<cacheDir>/features/<model sha256>/<key>.f32`: a 16-byte header (`PPLCNETF`, u32 dims,
 * u32 views) then records of [32-byte image sha256][views × dims float32 LE]. It is read whole, so its
 * footprint in memory is images × views × dims × 4 bytes (100,000 images of 1280 features, one view: 512 MB);
 * it is rewritten (temp + rename) when new images were added.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Random } from '../builder/random.js';
import { planExecution, inferenceEstimate } from '../classifier/plan.js';
import { Preparer } from '../classifier/prepare.js';
import { streamBatches } from '../classifier/stream.js';
import type { PreparedInput } from '../classifier/types.js';
import { PplcnetError } from '../errors.js';
import { IMAGENET_PREPROCESS } from '../metadata.js';
import { exposeOutputs } from '../onnx/expose-outputs.js';
import { type ResolvedModel } from '../models/resolve.js';
import type { SessionOptions } from '../runtime/providers.js';
import { createSession, ort } from '../runtime/session.js';
import type * as Ort from 'onnxruntime-node';
import { readModelMetadata } from '../classifier/model.js';
import { float32FromLE, float32ToLE } from '../util/float32.js';
import { readFileBounded, writeFileAtomic } from '../util/fs.js';
import { MAX_PIXELS, maxImageFileBytes } from '../image/limits.js';
import { defaultCacheDir } from '../zoo/cache.js';

/** Which views of each image: the image itself, then augmented ones. */
export interface Augment {
  /** Horizontal flips. */
  readonly flip: boolean;
  /** Random crops (75–100% of each side, resampled to the input size). */
  readonly crop: boolean;
  /** Views per image, the unaugmented one included. [1 without augmentation, else 4] */
  readonly views: number;
  readonly seed: number;
}

export interface FeatureOptions extends SessionOptions {
  /** `embedding`: the fc input (`flatten`); `gap`: the pooled last block (`avg_pool`). */
  readonly layer: 'embedding' | 'gap';
  readonly augment?: Augment;
  /** Cache folder. [defaultCacheDir()] */
  readonly cacheDir?: string;
  /** Neither read nor write the feature cache. [false] */
  readonly noCache?: boolean;
  /** Preprocessing worker threads. [planned] */
  readonly workers?: number;
  readonly batchSize?: number;
  /** Called after each batch with images done so far (cached ones count at once). */
  readonly onImages?: (done: number, total: number) => void;
}

export interface FeatureSet {
  readonly dims: number;
  readonly views: number;
  /** Per image: views × dims values, or the error that image failed with. */
  readonly rows: readonly (Float32Array | PplcnetError)[];
  readonly cached: number;
  readonly computed: number;
  readonly cacheFile?: string;
}

const MAGIC = 'PPLCNETF';
/** The feature cache file: up to 4 GiB (a million 1024-float rows). */
const CACHE_FILE = { what: 'a feature cache file', maxBytes: 2 ** 32 - 1, advice: 'remove it and run again', notRegularAdvice: 'remove it (pplcnet writes a regular file there)' } as const;
/** An image is hashed under the same bound its decoder would read it with (the default pixel limit's). */
const IMAGE_FILE = { what: 'an image', maxBytes: maxImageFileBytes(MAX_PIXELS), code: 'E_IMAGE', readCode: 'E_IMAGE', advice: 'Larger than any image format holds within the pixel limit' } as const;
const OUTPUT = { embedding: 'flatten', gap: 'avg_pool' } as const;

function augmentKey(a: Augment | undefined): string {
  if (!a || a.views <= 1) return 'plain';
  return `${a.flip ? 'flip' : ''}${a.crop ? 'crop' : ''}-v${a.views}-s${a.seed}`;
}

/** Read a cache file into a map of image hash → values; a damaged or foreign file counts as empty. */
async function readCache(path: string, views: number): Promise<{ dims: number; entries: Map<string, Float32Array> }> {
  const out = new Map<string, Float32Array>();
  // read bounded like every named file (a FIFO in its place is refused, not waited on); unreadable: empty
  const buf = await readFileBounded(path, CACHE_FILE).then((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)).catch(() => undefined);
  if (!buf || buf.length < 16 || buf.toString('latin1', 0, 8) !== MAGIC || buf.readUInt32LE(12) !== views) return { dims: 0, entries: out };
  const dims = buf.readUInt32LE(8);
  const rec = 32 + views * dims * 4;
  for (let off = 16; off + rec <= buf.length; off += rec) {
    out.set(buf.toString('hex', off, off + 32), float32FromLE(buf.subarray(off + 32, off + rec)));
  }
  return { dims, entries: out };
}

function encodeCache(entries: Map<string, Float32Array>, dims: number, views: number): Uint8Array {
  const rec = 32 + views * dims * 4;
  const buf = Buffer.alloc(16 + entries.size * rec);
  buf.write(MAGIC, 0, 'latin1');
  buf.writeUInt32LE(dims, 8);
  buf.writeUInt32LE(views, 12);
  let off = 16;
  for (const [hash, values] of entries) {
    buf.write(hash, off, 'hex');
    buf.set(float32ToLE(values), off + 32);
    off += rec;
  }
  return buf;
}

/** The sha256 of each file's bytes (a file that cannot be read gets its error). */
async function hashFiles(paths: readonly string[]): Promise<(string | PplcnetError)[]> {
  const out: (string | PplcnetError)[] = new Array(paths.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const i = next++;
      try {
        out[i] = createHash('sha256').update(await readFileBounded(paths[i]!, IMAGE_FILE)).digest('hex');
      } catch (err) {
        out[i] = err instanceof PplcnetError ? err : new PplcnetError('E_IMAGE', `${paths[i]}: cannot read (${(err as Error).message})`);
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return out;
}

/** A view of a prepared [3, H, W] tensor: flipped and/or a random crop resampled (bilinear) to H × W. */
export function augmentView(src: Float32Array, h: number, w: number, a: Augment, rng: Random): Float32Array {
  const flip = a.flip && (!a.crop || rng.uniform() < 0.5);
  const scale = a.crop ? 0.75 + 0.25 * rng.uniform() : 1;
  const ch = h * scale;
  const cw = w * scale;
  const y0 = a.crop ? rng.uniform() * (h - ch) : 0;
  const x0 = a.crop ? rng.uniform() * (w - cw) : 0;
  const out = new Float32Array(src.length);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(h - 1, Math.max(0, y0 + ((y + 0.5) * ch) / h - 0.5));
    const y1 = Math.floor(sy);
    const y2 = Math.min(h - 1, y1 + 1);
    const fy = sy - y1;
    for (let x = 0; x < w; x++) {
      const xd = flip ? w - 1 - x : x;
      const sx = Math.min(w - 1, Math.max(0, x0 + ((xd + 0.5) * cw) / w - 0.5));
      const x1 = Math.floor(sx);
      const x2 = Math.min(w - 1, x1 + 1);
      const fx = sx - x1;
      for (let c = 0; c < 3; c++) {
        const p = c * h * w;
        const top = src[p + y1 * w + x1]! * (1 - fx) + src[p + y1 * w + x2]! * fx;
        const bottom = src[p + y2 * w + x1]! * (1 - fx) + src[p + y2 * w + x2]! * fx;
        out[p + y * w + x] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return out;
}

/** The views of one prepared image: itself, then `views − 1` augmented ones seeded by the image's hash. */
function viewsOf(p: PreparedInput, hash: string, a: Augment | undefined): Float32Array[] {
  const out = [p.data];
  if (!a) return out;
  const rng = new Random((parseInt(hash.slice(0, 8), 16) ^ a.seed) >>> 0);
  for (let v = 1; v < a.views; v++) out.push(augmentView(p.data, p.height, p.width, a, rng));
  return out;
}

/** Run the feature session on prepared images (grouped by size); each image's views × dims values. */
async function runFeatures(session: Ort.InferenceSession, inputName: string, output: string, prepared: readonly (PreparedInput | PplcnetError)[], hashes: readonly string[], a: Augment | undefined): Promise<(Float32Array | PplcnetError)[]> {
  const out: (Float32Array | PplcnetError)[] = prepared.map((p) => (p instanceof Error ? p : new Float32Array(0)));
  const groups = new Map<string, number[]>();
  prepared.forEach((p, i) => {
    if (!(p instanceof Error)) groups.set(`${p.height}x${p.width}`, [...(groups.get(`${p.height}x${p.width}`) ?? []), i]);
  });
  for (const idx of groups.values()) {
    const first = prepared[idx[0]!] as PreparedInput;
    const views = idx.map((i) => viewsOf(prepared[i] as PreparedInput, hashes[i]!, a));
    const per = views[0]!.length;
    const size = 3 * first.height * first.width;
    const data = new Float32Array(idx.length * per * size);
    views.flat().forEach((v, j) => data.set(v, j * size));
    const r = await session.run({ [inputName]: new ort.Tensor('float32', data, [idx.length * per, 3, first.height, first.width]) });
    const values = r[output]!.data as Float32Array;
    const dims = values.length / (idx.length * per);
    idx.forEach((i, j) => (out[i] = values.slice(j * per * dims, (j + 1) * per * dims)));
  }
  return out;
}

/** Features of `paths` through `resolved`'s backbone (see the file comment for the cache). */
export async function extractFeatures(resolved: ResolvedModel, paths: readonly string[], options: FeatureOptions): Promise<FeatureSet> {
  const metadata = readModelMetadata(resolved);
  const views = options.augment && options.augment.views > 1 ? options.augment.views : 1;
  const augment = views > 1 ? options.augment : undefined;
  const modelHash = createHash('sha256').update(resolved.bytes).digest('hex');
  const cacheFile = options.noCache ? undefined : join(options.cacheDir ?? defaultCacheDir(), 'features', modelHash, `${options.layer}-${augmentKey(augment)}.f32`);
  const hashes = await hashFiles(paths);
  const bytes = exposeOutputs(resolved.bytes, [OUTPUT[options.layer]], resolved.path ?? resolved.name);
  const plan = planExecution({ threads: options.threads, workers: options.workers, batchSize: options.batchSize }, inferenceEstimate(metadata));
  const { session } = await createSession(bytes, { ...options, threads: plan.threads, spinning: plan.spinning });
  const rows: (Float32Array | PplcnetError)[] = new Array(paths.length);
  let dims = 0;
  let cache = new Map<string, Float32Array>();
  const inputName = session.inputNames[0]!;
  const preparer = new Preparer(metadata.preprocess ?? IMAGENET_PREPROCESS, plan.workers, undefined, 'exact');
  let cached = 0;
  let computed = 0;
  try {
    if (cacheFile) ({ dims, entries: cache } = await readCache(cacheFile, views));
    const misses: number[] = [];
    hashes.forEach((h, i) => {
      if (h instanceof PplcnetError) rows[i] = h;
      else if (cache.has(h)) {
        rows[i] = cache.get(h)!;
        cached++;
      } else misses.push(i);
    });
    options.onImages?.(cached, paths.length);
    let done = 0;
    const stream = streamBatches<Float32Array>(
      misses.map((i) => paths[i]!),
      plan.batchSize,
      {
        ...preparer.streamSteps(misses.length, plan.batchSize, plan.streamWorkersFrom),
        classify: (prepared) => runFeatures(session, inputName, OUTPUT[options.layer], prepared, misses.slice(done, done + prepared.length).map((i) => hashes[i] as string), augment),
      },
    );
    for await (const batch of stream) {
      batch.forEach((r, j) => {
        const i = misses[done + j]!;
        rows[i] = r;
        if (!(r instanceof Error)) {
          dims = r.length / views;
          cache.set(hashes[i] as string, r);
          computed++;
        }
      });
      done += batch.length;
      options.onImages?.(cached + done, paths.length);
    }
    if (cacheFile && computed > 0) await writeFileAtomic(cacheFile, encodeCache(cache, dims, views));
  } finally {
    await preparer.close();
    await session.release();
  }
  return { dims, views, rows, cached, computed, ...(cacheFile ? { cacheFile } : {}) };
}
