/**
 * What the page's "this browser" mode loads from the server: the browser bundle `pplcnet export-web` writes
 * as `app.js` (bundled once, on first request, by the exporter's own function, then kept in memory), and
 * onnxruntime-web's loader scripts and .wasm from `node_modules/onnxruntime-web/dist`: a fixed allow-list of
 * three files, looked up by exact name, so no other file can be reached and nothing is listed.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
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

export class BrowserAssets {
  /** The names the runtime route answers; anything else is 404. */
  readonly runtimeNames: readonly string[];
  /** The site paths the page gives onnxruntime-web, relative to the page. */
  readonly ort: { readonly module: string; readonly mjs: string; readonly wasm: string };
  readonly #allowed = allowList();
  #script: Promise<BrowserAsset> | undefined;
  readonly #runtime = new Map<string, Promise<BrowserAsset>>();

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

  /** The body of an asset: its bytes or a stream of its file. */
  static body(a: BrowserAsset): Uint8Array | NodeJS.ReadableStream {
    return a.bytes ?? createReadStream(a.path!);
  }
}
