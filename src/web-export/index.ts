/**
 * `exportWebSite`: a static folder that classifies images in the browser with a model: index.html, the page
 * script (src/web/page.ts and the Node-free modules it imports, bundled by esbuild), the model, and
 * onnxruntime-web's loader and .wasm. It works from any static file server, with no server code and no CDN.
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PplcnetError, invalidOption } from '../errors.js';
import { imagenetLabels } from '../labels.js';
import { parseMetadata } from '../metadata.js';
import { readMetadataProps } from '../onnx/metadata-props.js';
import { type WeightStorage, storeWeights } from '../onnx/weight-storage.js';
import { type ResolveOptions, resolveModel } from '../models/resolve.js';
import { pageHtml } from './page-html.js';
import { type CompressedCopy, compressedCopies, headersFile } from './precompress.js';

export interface ExportWebOptions extends ResolveOptions {
  /** A zoo name, an `.onnx` file, or a Paddle model (converted on first use, as `--model` everywhere). */
  model: string;
  /** The folder to write. It must not exist or be empty, unless `force`. */
  outDir: string;
  /** Replace a non-empty `outDir`. */
  force?: boolean;
  /**
   * Ship onnxruntime-web's WebGPU build (28 MB of .wasm instead of 14 MB) so the page can run on the GPU with
   * `?backend=webgpu`.
   */
  webgpu?: boolean;
  /** The page's heading. [the model's name] */
  title?: string;
  /**
   * How the site's model stores its weights (see `storeWeights`): a zoo or Paddle model is converted (and
   * cached) that way, an fp32 `.onnx` is stored that way. ['fp32': as the model is]
   */
  weightStorage?: WeightStorage;
  /** Write `.br` and `.gz` copies beside the files over 1 kB, and their headers in `_headers`. [true] */
  precompress?: boolean;
}

export interface ExportedFile {
  /** Path inside the site, with `/`. */
  readonly path: string;
  readonly bytes: number;
}

export interface ExportWebResult {
  readonly outDir: string;
  readonly model: string;
  readonly files: readonly ExportedFile[];
  /** The bundled page script (pplcnet's code, onnxruntime-web excluded), minified. */
  readonly scriptBytes: number;
  readonly modelBytes: number;
  /** onnxruntime-web's loader scripts and .wasm. */
  readonly runtimeBytes: number;
  /** False for a model made by `pplcnet build` with initialized, untrained weights (its predictions mean nothing). */
  readonly trained: boolean;
  /** What a browser that accepts brotli downloads: each file's `.br` copy where there is one (0 without copies). */
  readonly brotliBytes: number;
  /** The sha256 (hex) of the model and the .wasm, written into the page: its Cache API keys. */
  readonly sha256: { readonly model: string; readonly wasm: string };
}

/** Names of archives, which `outDir` must not look like: the site is a folder. */
const ARCHIVE_NAME = /\.(zip|tar|tgz|tar\.(gz|xz|bz2|zst)|7z|rar)[\\/]*$/i;

/** The page script's size budget (pplcnet's code without onnxruntime-web, minified). */
export const WEB_SCRIPT_BUDGET = 100_000;

const SITE_README = `This folder is a static site made by \`pplcnet export-web\`: it classifies images in the browser with
onnxruntime-web. Serve it with any static file server, e.g.

    python3 -m http.server -d . 8000     # then open http://localhost:8000/

Nothing is fetched from other origins. Multi-threaded WASM needs the page to be cross-origin isolated,
which takes two response headers on every file:

    Cross-Origin-Opener-Policy: same-origin
    Cross-Origin-Embedder-Policy: require-corp

\`_headers\` sets them on Netlify and Cloudflare Pages; elsewhere add them in the server's configuration
(nginx: add_header; Apache: Header set). Without them the page runs on one thread.
.wasm files should be served as application/wasm, .js as text/javascript.

The large files have precompressed copies beside them (model.onnx.br, model.onnx.gz, …). A server that
serves those to browsers that accept them (nginx: gzip_static on, brotli_static on) sends a fraction of
the bytes; \`_headers\` gives each copy its Content-Encoding and Content-Type when it is asked for by name.

The page keeps model.onnx and the .wasm in the browser's Cache API under the sha256 written in
index.html: a second visit downloads neither (the Cache API needs HTTPS or localhost). Its "Forget cached
files" button, or opening it with ?clear-cache, deletes them.

window.pplcnet.classify(blob) returns {topk: [{classId, label, score}], probs, timings}.
URL parameters: ?threads=N, ?backend=webgpu (when exported with --webgpu), ?clear-cache.
`;

/**
 * onnxruntime-web's files for the site: [file in its dist/, name on the site]. Also what `pplcnet serve`
 * serves under `/web/ort/` for its page's "this browser" mode (the WASM build).
 */
export function runtimeFiles(webgpu: boolean): { module: [string, string]; mjs: [string, string]; wasm: [string, string] } {
  // The loader scripts are renamed .js: every static host serves .js as JavaScript, not all know .mjs.
  return webgpu
    ? { module: ['ort.min.mjs', 'ort.min.js'], mjs: ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.js'], wasm: ['ort-wasm-simd-threaded.jsep.wasm', 'ort-wasm-simd-threaded.jsep.wasm'] }
    : { module: ['ort.wasm.min.mjs', 'ort.wasm.min.js'], mjs: ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.js'], wasm: ['ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.wasm'] };
}

/** The folder of onnxruntime-web's loader scripts and .wasm files. */
export function onnxruntimeWebDist(): string {
  const require = createRequire(import.meta.url);
  try {
    return dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm'));
  } catch {
    throw new PplcnetError('E_IO', 'onnxruntime-web is not installed beside pplcnet; run npm install');
  }
}

/** One of onnxruntime-web's loader scripts, without its source-map comment (the maps are not shipped). */
export async function readRuntimeScript(dist: string, file: string): Promise<string> {
  return (await readFile(join(dist, file), 'utf8')).replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, '\n');
}

/**
 * Bundle the page script (compiled JS in dist/src/web) with esbuild; onnxruntime-web stays external. The one
 * bundler of the browser code: `pplcnet export-web` writes its output as `app.js`, `pplcnet serve` serves it
 * at `/web/app.js`.
 */
export async function bundlePageScript(): Promise<Uint8Array> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    throw new PplcnetError('E_IO', 'esbuild is not installed beside pplcnet; run npm install');
  }
  const entry = fileURLToPath(new URL('../web/page.js', import.meta.url));
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external: ['onnxruntime-web'],
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.contents;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) throw new PplcnetError('E_IO', `${dir}: exists and is not a folder; choose another --output`);
    return (await readdir(dir)).length === 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

/** Write the precompressed copies of `files` (already in `dir`) through `put`; returns them. */
async function writeCopies(dir: string, files: readonly ExportedFile[], put: (path: string, data: Uint8Array) => Promise<void>): Promise<CompressedCopy[]> {
  const copies: CompressedCopy[] = [];
  for (const f of files) {
    for (const c of await compressedCopies(f.path, new Uint8Array(await readFile(join(dir, f.path))))) {
      await put(c.path, c.bytes);
      copies.push(c);
    }
  }
  return copies;
}

/** Write the site for `model` into `outDir`, atomically (built beside it, then renamed into place). */
export async function exportWebSite(options: ExportWebOptions): Promise<ExportWebResult> {
  if (!options || typeof options.model !== 'string' || options.model === '') throw invalidOption('model', 'a zoo name or a model path', options?.model, 'type');
  if (typeof options.outDir !== 'string' || options.outDir === '') throw invalidOption('outDir', 'a folder path', options.outDir, 'type');
  if (ARCHIVE_NAME.test(options.outDir)) {
    const folder = basename(options.outDir.replace(/[\\/]+$/, '')).replace(ARCHIVE_NAME, '') || 'site';
    throw new RangeError(
      `'outDir' ${JSON.stringify(options.outDir)} names an archive, not a folder: the site is a folder; write it with --output ${folder}, then archive it if need be (cd ${folder} && zip -r ../${folder}.zip .)`,
    );
  }
  const outDir = resolve(options.outDir);
  if (!options.force && !(await isEmptyOrMissing(outDir))) {
    throw new PplcnetError('E_IO', `${options.outDir}: the folder exists and is not empty; choose another or pass --force to replace it`);
  }
  const weights = options.weightStorage ?? 'fp32';
  const given = await resolveModel(options.model, weights === 'fp32' ? options : { ...options, build: { ...options.build, weightStorage: weights } });
  const resolved = weights === 'fp32' ? given : { ...given, bytes: storeWeights(given.bytes, weights, { where: given.path ?? given.name }).bytes };
  const metadata = parseMetadata(readMetadataProps(resolved.bytes, resolved.path ?? resolved.name));
  const name = metadata.name ?? resolved.name;
  const classNum = (metadata.architecture as { classNum?: unknown } | undefined)?.classNum;
  const labels = !metadata.labels && classNum === 1000 ? imagenetLabels() : undefined;

  const dist = onnxruntimeWebDist();
  const rt = runtimeFiles(options.webgpu ?? false);
  const script = await bundlePageScript();

  await mkdir(dirname(outDir), { recursive: true });
  const tmp = join(dirname(outDir), `.${basename(outDir)}.tmp.${process.pid}.${randomBytes(4).toString('hex')}`);
  const files: ExportedFile[] = [];
  const sha256 = { model: sha256Hex(resolved.bytes), wasm: '' };
  const put = async (path: string, data: Uint8Array | string): Promise<void> => {
    await mkdir(dirname(join(tmp, path)), { recursive: true });
    await writeFile(join(tmp, path), data);
    files.push({ path, bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.length });
  };
  try {
    await mkdir(tmp);
    await put('app.js', script);
    await put('model.onnx', resolved.bytes);
    for (const [from, to] of [rt.module, rt.mjs]) {
      await put(`ort/${to}`, await readRuntimeScript(dist, from));
    }
    await copyFile(join(dist, rt.wasm[0]), join(tmp, 'ort', rt.wasm[1]));
    files.push({ path: `ort/${rt.wasm[1]}`, bytes: (await stat(join(tmp, 'ort', rt.wasm[1]))).size });
    // the page keeps the model and the .wasm in the browser's Cache API under these hashes (src/web/cache.ts)
    sha256.wasm = sha256Hex(await readFile(join(tmp, 'ort', rt.wasm[1])));
    const config = { model: 'model.onnx', ort: { mjs: `ort/${rt.mjs[1]}`, wasm: `ort/${rt.wasm[1]}` }, webgpu: options.webgpu ?? false, sha256, ...(labels ? { labels } : {}) };
    await put('index.html', pageHtml({ title: options.title ?? name, config, ortModule: `./ort/${rt.module[1]}`, script: './app.js' }));
    const copies = options.precompress === false ? [] : await writeCopies(tmp, [...files], put);
    await put('_headers', headersFile(copies));
    await put('README.txt', SITE_README);
    if (await isEmptyOrMissing(outDir)) {
      await rm(outDir, { recursive: true, force: true });
      await rename(tmp, outDir);
    } else {
      if (!options.force) throw new PplcnetError('E_IO', `${options.outDir}: the folder was filled while the site was being written; nothing replaced`);
      const old = `${tmp}.old`;
      await rename(outDir, old);
      await rename(tmp, outDir);
      await rm(old, { recursive: true, force: true });
    }
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  const size = (p: (f: ExportedFile) => boolean): number => files.filter(p).reduce((a, f) => a + f.bytes, 0);
  const isCopy = (f: ExportedFile): boolean => /\.(br|gz)$/.test(f.path);
  const hasBrotli = new Set(files.filter((f) => f.path.endsWith('.br')).map((f) => f.path.slice(0, -3)));
  return {
    outDir,
    model: name,
    files,
    scriptBytes: script.length,
    modelBytes: resolved.bytes.length,
    trained: metadata.trained !== false,
    runtimeBytes: size((f) => f.path.startsWith('ort/') && !isCopy(f)),
    sha256,
    brotliBytes: hasBrotli.size ? size((f) => f.path.endsWith('.br') || (!isCopy(f) && !hasBrotli.has(f.path) && f.path !== '_headers' && f.path !== 'README.txt')) : 0,
  };
}
