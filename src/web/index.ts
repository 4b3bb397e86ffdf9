/// <reference lib="dom" />
/**
 * `pplcnet/web`: PP-LCNet classifiers in the browser, on onnxruntime-web (WASM with SIMD, multi-threaded when
 * the page is cross-origin isolated; WebGPU on request). The same result shape as the Node classifier, the
 * same preprocessing read from the model's metadata, computed by the same (Node-free) modules.
 *
 * Imports nothing from Node: every module reachable from here is checked by test/unit/web-imports.test.ts.
 */
import * as ort from 'onnxruntime-web';
import {
  type Answer,
  IMAGENET_PREPROCESS,
  type Image8,
  type ModelMetadata,
  PplcnetError,
  type Preprocess,
  type Timings,
  answerOf,
  headScores,
  imageHeaderSize,
  invalidOption,
  modelHead,
  outputOptions,
  parseMetadata,
  prepareInto,
  preparedSize,
  readMetadataProps,
  toTensor,
} from '../core.js';
import { CACHE_NAME, type FileSource, fetchCached } from './cache.js';

export { CACHE_NAME, type CachedFile, type FetchCachedOptions, type FileSource, clearCache, fetchCached, sha256Hex } from './cache.js';
export { PplcnetError, errorRow, resultRow, rowOf, topK, type Answer, type ErrorRow, type ModelMetadata, type Preprocess, type ResultRow, type Row, type Timings, type TopClass } from '../core.js';

/** What the browser classifier accepts: an encoded image (a `File` from a drop or a picker, a fetched blob) or pixels. */
export type WebImageInput = Blob | ImageBitmap | ImageData;

export type WebBackend = 'wasm' | 'webgpu';

export interface WebClassifierOptions {
  /** The ONNX model: a URL to fetch (same origin, or CORS-enabled), or its bytes. */
  model: string | URL | ArrayBuffer | Uint8Array;
  /**
   * `webgpu` runs on the GPU when the browser offers WebGPU and the loaded onnxruntime-web build has it,
   * else falls back to `wasm` (and `backend` says so). ['wasm']
   */
  backend?: WebBackend;
  /**
   * WASM threads. Threads need a cross-origin isolated page (COOP `same-origin` + COEP `require-corp`);
   * without isolation it is always 1. [navigator.hardwareConcurrency (at most 8) when isolated, else 1]
   */
  threads?: number;
  /** Where onnxruntime-web finds its .wasm and .mjs files: a URL prefix ending in `/`, or a map of file names. */
  wasmPaths?: string | { readonly wasm?: string; readonly mjs?: string };
  /**
   * The model's sha256 (64 lowercase hex digits). With a model URL, the model is kept in the browser's Cache
   * API under it: a second visit reads it from there; bytes that do not hash to it are refused (E_CHECKSUM).
   */
  modelSha256?: string;
  /**
   * The .wasm's sha256, with `wasmPaths.wasm` a URL: the .wasm is kept in the Cache API likewise and handed to
   * onnxruntime-web as bytes (only for the page's first classifier: onnxruntime-web loads its .wasm once).
   */
  wasmSha256?: string;
  /** The Cache API cache the files are kept in, or false to fetch them every time. ['pplcnet'] */
  cache?: string | false;
  /** How many classes to return. [the model's `topk`, else 5] */
  topk?: number;
  /** Multi-label models: the score a class must reach to be in `labels`. [the model's, else 0.5] */
  threshold?: number;
  /** Class names that replace the model's (e.g. ImageNet-1k for a model built without labels). */
  labels?: readonly string[];
}

/**
 * One image's result, as the Node classifier gives it: its answer (top-k; for multi-label models the labels
 * over the threshold and PaddleClas's attributes), its scores and its timings (`queueMs` 0, a batch of 1).
 * `resultRow(r, clf.name, file)` makes the JSON row `predict --json` writes.
 */
export interface WebClassification extends Answer {
  /** The file name of a `File`, else `<blob>`, `<ImageBitmap>` or `<ImageData>`. */
  readonly input: string;
  /** Every class's probability (per-class scores for a multi-label model). */
  readonly probs: Float32Array;
  readonly timings: Timings;
}

/** One image as the network reads it: a [3, H, W] float32 tensor and where the time went. */
export interface WebPreparedImage {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
  readonly decodeMs: number;
  readonly preprocessMs: number;
}

export interface WebClassifier {
  readonly name: string;
  /** The backend sessions run on: `wasm` or `webgpu`. */
  readonly backend: WebBackend;
  /** WASM threads onnxruntime-web was set up with. */
  readonly threads: number;
  readonly metadata: ModelMetadata;
  readonly preprocess: Preprocess;
  readonly labels: readonly string[] | undefined;
  readonly inputName: string;
  /**
   * Where the model and onnxruntime-web's .wasm came from: `cache` (the Cache API), `network`, `bytes` (a
   * model given as bytes) or `runtime` (.wasm loaded by onnxruntime-web itself: no sha256 given, or not the
   * page's first classifier).
   */
  readonly loadedFrom: { readonly model: FileSource | 'bytes'; readonly wasm: FileSource | 'runtime' };
  /** Decode (if encoded), resize, crop and normalize one image, without running the network. */
  prepare(input: WebImageInput): Promise<WebPreparedImage>;
  classify(input: WebImageInput): Promise<WebClassification>;
  release(): Promise<void>;
}

/**
 * How the browser decodes: EXIF orientation applied, no color-space conversion, no premultiplication, which
 * is what sharp (and OpenCV's imread) give the Node pipeline.
 */
export const DECODE_OPTIONS: ImageBitmapOptions = Object.freeze({ imageOrientation: 'from-image', colorSpaceConversion: 'none', premultiplyAlpha: 'none' });

/** Images above this many pixels are refused before they are decoded (by the size their header declares). */
export const MAX_PIXELS = 100_000_000;

function describeInput(input: WebImageInput): string {
  if (typeof File !== 'undefined' && input instanceof File) return input.name;
  if (input instanceof Blob) return '<blob>';
  if (typeof ImageBitmap !== 'undefined' && input instanceof ImageBitmap) return '<ImageBitmap>';
  return '<ImageData>';
}

/** RGBA (canvas order) → interleaved RGB; the alpha channel is dropped, as the Node decoder does. */
function rgbFromRgba(rgba: Uint8ClampedArray, width: number, height: number): Image8 {
  return rgbAndOpacity(rgba, width, height).image;
}

/**
 * RGBA → interleaved RGB in one pass that also tells whether every pixel is opaque (the alpha bytes ANDed
 * together): the conversion and the translucency check read each pixel once.
 */
function rgbAndOpacity(rgba: Uint8ClampedArray, width: number, height: number, into?: Uint8Array): { image: Image8; opaque: boolean } {
  const out = into?.length === width * height * 3 ? into : new Uint8Array(width * height * 3);
  let alpha = 255;
  for (let i = 0, j = 0; j < out.length; i += 4, j += 3) {
    out[j] = rgba[i]!;
    out[j + 1] = rgba[i + 1]!;
    out[j + 2] = rgba[i + 2]!;
    alpha &= rgba[i + 3]!;
  }
  return { image: { width, height, channels: 3, data: out }, opaque: alpha === 255 };
}

/**
 * One 2D canvas for every decode (making a canvas and its context per image costs more than the copy), CPU
 * backed (`willReadFrequently`), drawing with `copy` so nothing of the previous image shows through.
 */
let scratch: OffscreenCanvasRenderingContext2D | undefined;

function canvasOf(width: number, height: number): OffscreenCanvasRenderingContext2D | undefined {
  if (!scratch) {
    const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true, alpha: true, colorSpace: 'srgb' });
    if (!ctx) return undefined;
    scratch = ctx;
  }
  const canvas = scratch.canvas;
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width; // resets the context's state
    canvas.height = height;
  }
  scratch.globalCompositeOperation = 'copy';
  return scratch;
}

/** RGBA buffers `opaqueFramePixels` copies into, kept once their pixels are converted (none is shared: taken, then given back). */
const spareRgba: Uint8ClampedArray[] = [];

/**
 * The RGBA of an opaque bitmap read through a WebCodecs `VideoFrame` (`copyTo` RGBA): the decoded pixels as
 * they are, with no canvas drawn and read back (which costs a GPU-process round trip and a copy in Chromium).
 * Undefined when the browser has no `VideoFrame`, or when the frame carries alpha (`RGBA`/`BGRA`, maybe
 * translucent: those go through the canvas and, if translucent, WebGL, which keep unpremultiplied RGB), or
 * when `copyTo` cannot convert the frame.
 */
async function opaqueFramePixels(bitmap: ImageBitmap): Promise<Uint8ClampedArray | undefined> {
  if (typeof VideoFrame === 'undefined') return undefined;
  let frame: VideoFrame | undefined;
  try {
    frame = new VideoFrame(bitmap, { timestamp: 0 });
    if (frame.format !== 'RGBX' && frame.format !== 'BGRX') return undefined;
    if (frame.codedWidth !== bitmap.width || frame.codedHeight !== bitmap.height) return undefined;
    const n = bitmap.width * bitmap.height * 4;
    const i = spareRgba.findIndex((b) => b.length === n);
    const out = i >= 0 ? spareRgba.splice(i, 1)[0]! : new Uint8ClampedArray(n);
    await frame.copyTo(out, { format: 'RGBA' });
    return out;
  } catch {
    return undefined;
  } finally {
    frame?.close();
  }
}

/**
 * The RGBA of a bitmap as stored, without premultiplication: uploaded to a WebGL2 texture and read back from a
 * framebuffer. Undefined when the browser has no WebGL2 (then the canvas's premultiplied pixels are used).
 */
function readUnpremultiplied(bitmap: ImageBitmap): Uint8ClampedArray | undefined {
  const { width, height } = bitmap;
  const gl = new OffscreenCanvas(1, 1).getContext('webgl2', { premultipliedAlpha: false });
  if (!gl) return undefined;
  try {
    const max = gl.getParameter(gl.MAX_TEXTURE_SIZE) as number;
    if (width > max || height > max) return undefined;
    const tex = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, tex);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_COLORSPACE_CONVERSION_WEBGL, gl.NONE);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, width, height, 0, gl.RGBA, gl.UNSIGNED_BYTE, bitmap);
    const fb = gl.createFramebuffer();
    gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
    gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, tex, 0);
    if (gl.checkFramebufferStatus(gl.FRAMEBUFFER) !== gl.FRAMEBUFFER_COMPLETE) return undefined;
    const out = new Uint8ClampedArray(width * height * 4);
    gl.pixelStorei(gl.PACK_ALIGNMENT, 1);
    gl.readPixels(0, 0, width, height, gl.RGBA, gl.UNSIGNED_BYTE, out);
    if (gl.getError() !== gl.NO_ERROR) return undefined;
    gl.deleteFramebuffer(fb);
    gl.deleteTexture(tex);
    return out;
  } finally {
    gl.getExtension('WEBGL_lose_context')?.loseContext();
  }
}

/**
 * The size an encoded image declares in its header, read before anything is decoded (from the first 64 kB,
 * more only for a JPEG whose frame header lies beyond them); refuses what is not PNG, JPEG, WebP, GIF or BMP.
 * The bytes come from one stream over the blob, cancelled once the header is read: in Chromium a
 * `blob.slice().arrayBuffer()` per attempt waits on the browser process for the slice and again for its bytes.
 */
async function declaredSize(blob: Blob, name: string): Promise<{ format: string; width: number; height: number }> {
  const reader = blob.stream().getReader();
  try {
    let head: Uint8Array = new Uint8Array(0);
    for (let n = 64 * 1024; ; n *= 4) {
      let done = false;
      while (!done && head.length < Math.min(n, blob.size)) {
        const chunk = await reader.read();
        done = chunk.done;
        if (chunk.value) head = concat(head, chunk.value);
      }
      const complete = done || head.length >= blob.size;
      const size = imageHeaderSize(head, complete);
      if (!size) {
        throw new PplcnetError('E_IMAGE', `${name}: cannot decode it: its first bytes are no PNG, JPEG, WebP, GIF or BMP header; pplcnet/web reads those (browsers do not read TIFF: convert it first)`);
      }
      if ('damaged' in size) throw new PplcnetError('E_IMAGE', `${name}: a damaged ${size.format} header (${size.damaged}): its size cannot be read, so it is not decoded`);
      if ('width' in size) return size;
      if (complete) throw new PplcnetError('E_IMAGE', `${name}: a damaged ${size.format} header (the file ends before it): its size cannot be read, so it is not decoded`);
    }
  } finally {
    void reader.cancel().catch(() => undefined);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * The RGB pixels of an image, decoded by the browser (`createImageBitmap` + an OffscreenCanvas). An encoded
 * image's declared size is checked against {@link MAX_PIXELS} from its header bytes first.
 */
export function decodeImageWeb(input: WebImageInput, name = describeInput(input)): Promise<Image8> {
  return decodeWeb(input, name);
}

/** {@link decodeImageWeb}; the RGB of an opaque image goes into `into` when it has the right length. */
async function decodeWeb(input: WebImageInput, name: string, into?: Uint8Array): Promise<Image8> {
  if (typeof ImageData !== 'undefined' && input instanceof ImageData) return rgbFromRgba(input.data, input.width, input.height);
  let bitmap: ImageBitmap;
  let own = false;
  if (input instanceof Blob) {
    if (input.size === 0) throw new PplcnetError('E_IMAGE', `${name}: empty file (0 bytes); expected an encoded image (PNG, JPEG, WebP, GIF, BMP)`);
    const size = await declaredSize(input, name);
    if (size.width * size.height > MAX_PIXELS) {
      throw new PplcnetError(
        'E_IMAGE',
        `${name}: the ${size.format} image declares ${size.width}×${size.height} = ${size.width * size.height} pixels, more than the ${MAX_PIXELS / 1e6} megapixels pplcnet/web decodes; not decoded. Downscale it first`,
      );
    }
    try {
      bitmap = await createImageBitmap(input, DECODE_OPTIONS);
    } catch (err) {
      throw new PplcnetError(
        'E_IMAGE',
        `${name}: this browser cannot decode it (${(err as Error).message}); expected PNG, JPEG, WebP, GIF or BMP (browsers do not read TIFF: convert it first)`,
      );
    }
    own = true;
  } else if (typeof ImageBitmap !== 'undefined' && input instanceof ImageBitmap) {
    bitmap = input;
  } else {
    throw invalidOption('input', 'a Blob, File, ImageBitmap or ImageData', input, 'type');
  }
  try {
    const { width, height } = bitmap;
    if (width * height > MAX_PIXELS) {
      throw new PplcnetError('E_IMAGE', `${name}: ${width}×${height} pixels is more than the ${MAX_PIXELS / 1e6} megapixels pplcnet/web reads; downscale it first`);
    }
    if (width === 0 || height === 0) throw new PplcnetError('E_IMAGE', `${name}: the image is ${width}×${height} pixels`);
    const framed = await opaqueFramePixels(bitmap);
    if (framed) {
      const image = rgbAndOpacity(framed, width, height, into).image;
      if (spareRgba.length < 2) spareRgba.push(framed);
      return image;
    }
    const ctx = canvasOf(width, height);
    if (!ctx) throw new PplcnetError('E_IMAGE', `${name}: this browser has no OffscreenCanvas 2D context`);
    ctx.drawImage(bitmap, 0, 0);
    const rgba = ctx.getImageData(0, 0, width, height).data;
    const { image, opaque } = rgbAndOpacity(rgba, width, height, into);
    if (opaque) return image;
    // A 2D canvas stores premultiplied alpha: translucent pixels lose their exact RGB (transparent ones become
    // black). The Node decoder drops alpha and keeps the stored RGB; WebGL uploads the bitmap unpremultiplied.
    return rgbFromRgba(readUnpremultiplied(bitmap) ?? rgba, width, height);
  } finally {
    if (own) bitmap.close();
  }
}

async function modelBytes(options: WebClassifierOptions): Promise<{ bytes: Uint8Array; from: FileSource | 'bytes' }> {
  const model = options.model;
  if (model instanceof Uint8Array) return { bytes: model, from: 'bytes' };
  if (model instanceof ArrayBuffer) return { bytes: new Uint8Array(model), from: 'bytes' };
  if (typeof model !== 'string' && !(model instanceof URL)) throw invalidOption('model', 'a URL or the model bytes', model, 'type');
  if (options.modelSha256 !== undefined) return fetchCached(String(model), options.modelSha256, { cacheName: options.cache ?? CACHE_NAME, what: `${String(model)} (the model)` });
  let res: Response;
  try {
    res = await fetch(model);
  } catch (err) {
    throw new PplcnetError('E_NETWORK', `${String(model)}: could not fetch the model (${(err as Error).message})`);
  }
  if (!res.ok) throw new PplcnetError('E_NETWORK', `${String(model)}: HTTP ${res.status} fetching the model`);
  return { bytes: new Uint8Array(await res.arrayBuffer()), from: 'network' };
}


/**
 * onnxruntime-web's .wasm from the Cache API (or fetched, checked and kept), handed to it as bytes; `runtime`
 * when it loads the .wasm itself (no sha256, no .wasm URL, or already loaded on this page).
 */
async function provideWasm(options: WebClassifierOptions): Promise<FileSource | 'runtime'> {
  const paths = options.wasmPaths;
  const url = typeof paths === 'object' && paths !== null ? paths.wasm : undefined;
  // onnxruntime-web loads its .wasm once per page, for its first session: given already (by this module or
  // another copy of it, e.g. serve's page, which imports the bundle once per model), nothing to do
  if (options.wasmSha256 === undefined || url === undefined || ort.env.wasm.wasmBinary !== undefined) return 'runtime';
  const file = await fetchCached(url, options.wasmSha256, { cacheName: options.cache ?? CACHE_NAME, what: `${url} (onnxruntime-web's .wasm)` });
  ort.env.wasm.wasmBinary ??= file.bytes;
  return file.from;
}

async function hasWebGpu(): Promise<boolean> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) != null;
  } catch {
    return false;
  }
}

/**
 * Run the preprocessing a few times on a made-up image (1.5× the network input, resized and cropped like a
 * photo) while the classifier is created. V8 first runs WebAssembly and JavaScript in a baseline tier and
 * optimizes what ran hot, on background threads: measured on a loaded 2-core machine, the resize kernel took
 * 4–18 ms per 299×401 image over its first ~50 calls and 0.3 ms after. Warming it here starts that earlier.
 */
function warmPreprocess(p: Preprocess): void {
  const [h, w] = p.crop ? [p.crop.height, p.crop.width] : p.resize.mode === 'exact' ? [p.resize.height, p.resize.width] : [p.resize.size, p.resize.size];
  const width = Math.ceil(w * 1.5);
  const height = Math.ceil(h * 1.5) + 1;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37) & 255;
  try {
    for (let i = 0; i < 4; i++) toTensor({ width, height, channels: 3, data }, p, 'warm-up');
  } catch {
    // a pipeline this made-up size does not fit: nothing to warm, the first image runs it
  }
}

/** The default WASM thread count: all cores (at most 8) on a cross-origin isolated page, else 1. */
export function defaultThreads(): number {
  if (typeof crossOriginIsolated === 'undefined' || !crossOriginIsolated) return 1;
  return Math.max(1, Math.min(8, navigator.hardwareConcurrency || 1));
}

/**
 * Decode and prepare one image. `pooled` (classify): the tensor comes from `spare`, where the caller gives it
 * back once `session.run` has resolved, and the decoded RGB is reused once resized: a fresh 600 kB
 * Float32Array per image (zero-filled, then garbage) cost more than the resize itself in Chromium.
 */
function preparer(preprocess: Preprocess): { prepareWith: (input: WebImageInput, pooled: boolean) => Promise<WebPreparedImage>; spare: Float32Array[] } {
  const spare: Float32Array[] = [];
  const spareRgb: Uint8Array[] = []; // decoded RGB, free once resized
  const prepareWith = async (input: WebImageInput, pooled: boolean): Promise<WebPreparedImage> => {
    const name = describeInput(input);
    const t0 = performance.now();
    const decoded = await decodeWeb(input, name, pooled ? spareRgb.pop() : undefined);
    const t1 = performance.now();
    if (!pooled) return { ...toTensor(decoded, preprocess, name), decodeMs: t1 - t0, preprocessMs: performance.now() - t1 };
    let size: { width: number; height: number };
    try {
      size = preparedSize(decoded.width, decoded.height, preprocess, name);
    } catch (err) {
      throw new PplcnetError('E_IMAGE', (err as Error).message);
    }
    const n = 3 * size.width * size.height;
    const i = spare.findIndex((b) => b.length === n);
    const data = i >= 0 ? spare.splice(i, 1)[0]! : new Float32Array(n);
    prepareInto(decoded, preprocess, data, 0, name);
    if (spareRgb.length < 2) spareRgb.push(decoded.data);
    return { data, ...size, decodeMs: t1 - t0, preprocessMs: performance.now() - t1 };
  };
  return { prepareWith, spare };
}

/**
 * Load a model and make a classifier. onnxruntime-web's WASM settings (threads, paths) are global to the page
 * and fixed when its first session is created: the first classifier's settings hold for the page.
 */
export async function createClassifier(options: WebClassifierOptions): Promise<WebClassifier> {
  if (!options || options.model === undefined || options.model === '') throw invalidOption('model', 'a model URL or bytes', options?.model, 'type');
  const threads = options.threads ?? defaultThreads();
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) throw invalidOption('threads', 'an integer from 1 to 64', threads);
  const wanted = options.backend ?? 'wasm';
  if (wanted !== 'wasm' && wanted !== 'webgpu') throw invalidOption('backend', "'wasm' or 'webgpu'", wanted);
  // the model and the .wasm download side by side
  const [{ bytes, from: modelFrom }, wasmFrom] = await Promise.all([modelBytes(options), provideWasm(options)]);
  const where = typeof options.model === 'string' || options.model instanceof URL ? String(options.model) : 'model';
  const metadata = parseMetadata(readMetadataProps(bytes, where));
  const preprocess = metadata.preprocess ?? IMAGENET_PREPROCESS;
  outputOptions(metadata, options); // checked before the session is made

  ort.env.wasm.numThreads = typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated ? threads : 1;
  if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = options.wasmPaths as typeof ort.env.wasm.wasmPaths;
  let backend: WebBackend = wanted === 'webgpu' && (await hasWebGpu()) ? 'webgpu' : 'wasm';
  const load = (ep: WebBackend): Promise<ort.InferenceSession> => ort.InferenceSession.create(bytes, { executionProviders: [ep], graphOptimizationLevel: 'all' });
  let session: ort.InferenceSession;
  try {
    session = await load(backend).catch((err: unknown) => {
      // an onnxruntime-web build without WebGPU (e.g. `onnxruntime-web/wasm`): run on WASM, and say so in `backend`
      if (backend !== 'webgpu') throw err;
      backend = 'wasm';
      return load('wasm');
    });
  } catch (err) {
    throw new PplcnetError('E_MODEL', `${where}: onnxruntime-web could not load the model on ${backend} (${(err as Error).message})`);
  }
  const inputName = session.inputNames[0]!;
  const head = modelHead(metadata, session.outputNames, options);
  warmPreprocess(preprocess);

  const { prepareWith, spare } = preparer(preprocess);
  const prepare = (input: WebImageInput): Promise<WebPreparedImage> => prepareWith(input, false);
  return {
    name: metadata.name ?? 'model',
    backend,
    threads: ort.env.wasm.numThreads ?? 1,
    metadata,
    preprocess,
    labels: head.labels,
    inputName,
    loadedFrom: { model: modelFrom, wasm: wasmFrom },
    prepare,
    async classify(input: WebImageInput): Promise<WebClassification> {
      const p = await prepareWith(input, true);
      const t1 = performance.now();
      let out: ort.InferenceSession.OnnxValueMapType;
      try {
        out = await session.run({ [inputName]: new ort.Tensor('float32', p.data, [1, 3, p.height, p.width]) });
      } finally {
        if (spare.length < 4) spare.push(p.data);
      }
      const probs = headScores(head, (await out[head.outputName]!.getData()) as Float32Array, 1, where);
      const batchInferenceMs = performance.now() - t1;
      return {
        input: describeInput(input),
        ...answerOf(head, probs),
        probs,
        timings: { decodeMs: p.decodeMs, preprocessMs: p.preprocessMs, queueMs: 0, batchInferenceMs, batchSize: 1 },
      };
    },
    async release() {
      await session.release();
    },
  };
}
