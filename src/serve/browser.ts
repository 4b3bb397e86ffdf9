/**
 * What the page's "this browser" mode loads from the server: the browser bundle `pplcnet export-web` writes
 * as `app.js` (bundled once, on first request, by the exporter's own function, then kept in memory), and
 * onnxruntime-web's loader scripts and .wasm from `node_modules/onnxruntime-web/dist`: a fixed allow-list of
 * three files, looked up by exact name, so no other file can be reached and nothing is listed.
 *
 * Each of them, the page and the models' ONNX bytes are also sent compressed (brotli, else gzip) to browsers
 * whose Accept-Encoding allows it: the copies are made once, on first request, and kept in memory up to
 * {@link MAX_COPY_BYTES} in all.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import { bundlePageScript, onnxruntimeWebDist, readRuntimeScript, runtimeFiles } from '../index.js';

/** A file ready to send: its bytes (scripts, kept in memory) or a path to stream (the .wasm). */
export interface BrowserAsset {
  readonly type: string;
  readonly etag: string;
  readonly size: number;
  readonly bytes?: Uint8Array;
  readonly path?: string;
}

const JS = 'text/javascript; charset=utf-8';

const brotli = promisify(brotliCompress);
const gz = promisify(gzip);

/** Compressed copies of one asset (those smaller than it). */
export interface Copies {
  readonly br?: Uint8Array;
  readonly gzip?: Uint8Array;
}

/** The compressed copies kept in memory, all assets and models together, at most. [64 MiB] */
export const MAX_COPY_BYTES = 64 << 20;

/** Below this size an asset is sent as it is (a copy would save less than a header). */
const MIN_COPY_INPUT = 1024;

/**
 * Brotli quality of serve's copies: 5, made as the server runs (onnxruntime-web's 14 MB .wasm in ~0.6 s of
 * CPU, 2.8 MB; quality 9, which export-web uses, takes ~2.8 s for 2.7 MB).
 */
const BROTLI_QUALITY = 5;

/** br and gzip copies of `data`, each kept only when smaller than the original. */
async function compress(data: Uint8Array): Promise<Copies> {
  if (data.length < MIN_COPY_INPUT) return {};
  const [b, g] = await Promise.all([
    brotli(data, { params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } }),
    gz(data, { level: 6 }),
  ]);
  return { ...(b.length < data.length ? { br: new Uint8Array(b.buffer, b.byteOffset, b.length) } : {}), ...(g.length < data.length ? { gzip: new Uint8Array(g.buffer, g.byteOffset, g.length) } : {}) };
}

/**
 * The encoding to send among `copies` for a request's Accept-Encoding (RFC 9110 §12.5.3): `br` when acceptable,
 * then `gzip`; undefined for the original. Acceptable: listed with q > 0, or covered by `*` with q > 0 and not
 * listed with q=0. Hand-written: a dozen lines on a header every asset request carries.
 */
export function acceptedEncoding(header: string | string[] | undefined, copies: Copies): 'br' | 'gzip' | undefined {
  const q = new Map<string, number>();
  for (const part of [header ?? ''].flat().join(',').split(',')) {
    const [token, ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    if (!token) continue;
    const qp = params.find((x) => x.startsWith('q='));
    const value = qp === undefined ? 1 : Number(qp.slice(2));
    q.set(token, Number.isFinite(value) ? value : 0);
  }
  const star = q.get('*') ?? 0;
  const ok = (e: string): boolean => (q.get(e) ?? (e === 'gzip' ? (q.get('x-gzip') ?? star) : star)) > 0;
  if (copies.br && ok('br')) return 'br';
  if (copies.gzip && ok('gzip')) return 'gzip';
  return undefined;
}

/**
 * Compressed copies made once per key (first request waits for them), kept while their total stays within
 * `limit`; past it an asset is sent as it is.
 */
export class CopyStore {
  #used = 0;
  readonly #copies = new Map<string, Promise<Copies>>();
  readonly #ids = new WeakMap<Uint8Array, number>();
  #next = 0;
  constructor(readonly limit = MAX_COPY_BYTES) {}

  /** The copies of the asset `key`, whose bytes `load` gives (called once). */
  copies(key: string, load: () => Promise<Uint8Array> | Uint8Array): Promise<Copies> {
    let p = this.#copies.get(key);
    if (!p) {
      p = (async (): Promise<Copies> => {
        if (this.#used >= this.limit) return {};
        const c = await compress(await load());
        const size = (c.br?.length ?? 0) + (c.gzip?.length ?? 0);
        if (this.#used + size > this.limit) return c.br && this.#used + c.br.length <= this.limit ? this.#take({ br: c.br }) : {};
        return this.#take(c);
      })();
      p.catch(() => this.#copies.delete(key));
      this.#copies.set(key, p);
    }
    return p;
  }

  /** The copies of these bytes (the same array object gets the same copies). */
  copiesOf(bytes: Uint8Array): Promise<Copies> {
    let id = this.#ids.get(bytes);
    if (id === undefined) this.#ids.set(bytes, (id = this.#next++));
    return this.copies(`bytes ${id}`, () => bytes);
  }

  /** Bytes of copies held. */
  get used(): number {
    return this.#used;
  }

  #take(c: Copies): Copies {
    this.#used += (c.br?.length ?? 0) + (c.gzip?.length ?? 0);
    return c;
  }
}

function etagOf(bytes: Uint8Array | string): string {
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
}

/** The names under `/web/ort/` (as on an exported site) → onnxruntime-web's files. */
function allowList(): ReadonlyMap<string, { file: string; type: string }> {
  const rt = runtimeFiles(false);
  return new Map([
    [rt.module[1], { file: rt.module[0], type: JS }],
    [rt.mjs[1], { file: rt.mjs[0], type: JS }],
    [rt.wasm[1], { file: rt.wasm[0], type: 'application/wasm' }],
  ]);
}

let wasmHash: Promise<string> | undefined;

export class BrowserAssets {
  /** The names the runtime route answers; anything else is 404. */
  readonly runtimeNames: readonly string[];
  /** The site paths the page gives onnxruntime-web, relative to the page. */
  readonly ort: { readonly module: string; readonly mjs: string; readonly wasm: string };
  readonly #allowed = allowList();
  #script: Promise<BrowserAsset> | undefined;
  readonly #runtime = new Map<string, Promise<BrowserAsset>>();
  /** The compressed copies of the assets, the page and the models. */
  readonly copies = new CopyStore();

  constructor() {
    this.runtimeNames = [...this.#allowed.keys()];
    const rt = runtimeFiles(false);
    this.ort = { module: `web/ort/${rt.module[1]}`, mjs: `web/ort/${rt.mjs[1]}`, wasm: `web/ort/${rt.wasm[1]}` };
  }

  /** The browser bundle (export-web's `app.js`), bundled on first use; a failed bundling is retried next time. */
  script(): Promise<BrowserAsset> {
    this.#script ??= bundlePageScript().then(
      (bytes) => ({ type: JS, etag: etagOf(bytes), size: bytes.length, bytes }),
      (err: unknown) => {
        this.#script = undefined;
        throw err;
      },
    );
    return this.#script;
  }

  /** One of the allowed onnxruntime-web files, or undefined for any other name. */
  runtime(name: string): Promise<BrowserAsset> | undefined {
    const entry = this.#allowed.get(name);
    if (!entry) return undefined;
    let p = this.#runtime.get(name);
    if (!p) {
      p = (async (): Promise<BrowserAsset> => {
        const dist = onnxruntimeWebDist();
        if (entry.type === JS) {
          const bytes = Buffer.from(await readRuntimeScript(dist, entry.file));
          return { type: entry.type, etag: etagOf(bytes), size: bytes.length, bytes };
        }
        // the .wasm (12 MB) is streamed from disk, not held in memory
        const path = join(dist, entry.file);
        const s = await stat(path);
        return { type: entry.type, etag: `"${s.size.toString(36)}-${Math.floor(s.mtimeMs).toString(36)}"`, size: s.size, path };
      })();
      p.catch(() => this.#runtime.delete(name));
      this.#runtime.set(name, p);
    }
    return p;
  }

  /** The sha256 (hex) of the .wasm the page loads: it keeps the .wasm in the browser's Cache API under it. */
  wasmSha256(): Promise<string> {
    // hashed once per process (14 MB, tens of ms), however many servers it starts
    wasmHash ??= (async () => createHash('sha256').update(await readFile(join(onnxruntimeWebDist(), runtimeFiles(false).wasm[0]))).digest('hex'))();
    wasmHash.catch(() => (wasmHash = undefined));
    return wasmHash;
  }

  /** The compressed copies of an asset (made on first use, then kept; see CopyStore). */
  assetCopies(a: BrowserAsset): Promise<Copies> {
    return this.copies.copies(`asset ${a.etag}`, async () => a.bytes ?? new Uint8Array(await readFile(a.path!)));
  }

  /** The body of an asset: its bytes or a stream of its file. */
  static body(a: BrowserAsset): Uint8Array | NodeJS.ReadableStream {
    return a.bytes ?? createReadStream(a.path!);
  }
}
