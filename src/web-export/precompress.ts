/**
 * Precompressed copies of a static site's large files (`<file>.br`, `<file>.gz`, as nginx `gzip_static` and
 * `brotli_static` serve them to browsers that accept them) and the site's `_headers` (Netlify, Cloudflare
 * Pages): cross-origin isolation everywhere, revalidation on every visit, and for each copy its
 * Content-Encoding and the Content-Type of the original. Compression is node:zlib's (brotli and gzip).
 */
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

const brotli = promisify(brotliCompress);
const gz = promisify(gzip);

/** Files smaller than this are sent as they are: a copy would save less than a request header. [1024] */
export const PRECOMPRESS_MIN_BYTES = 1024;

/**
 * Brotli quality of the copies. 9 rather than 11: on a 2-core machine, 11 took minutes for onnxruntime-web's
 * 14 MB .wasm and saved 12% more; 9 takes seconds.
 */
export const BROTLI_QUALITY = 9;

/** Content types of the files a site holds, by extension. */
const CONTENT_TYPES: Readonly<Record<string, string>> = Object.freeze({
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
});

export function contentType(path: string): string {
  const ext = /\.[^./]+$/.exec(path)?.[0]?.toLowerCase() ?? '';
  return CONTENT_TYPES[ext] ?? 'application/octet-stream';
}

/** One precompressed copy: the site path of the original, its encoding and bytes. */
export interface CompressedCopy {
  readonly path: string;
  readonly encoding: 'br' | 'gzip';
  readonly bytes: Uint8Array;
}

/** The `.br` and `.gz` copies of `data` worth keeping (smaller than the original); none under the minimum size. */
export async function compressedCopies(path: string, data: Uint8Array): Promise<CompressedCopy[]> {
  if (data.length < PRECOMPRESS_MIN_BYTES) return [];
  const [b, g] = await Promise.all([
    brotli(data, { params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } }),
    gz(data, { level: 9 }),
  ]);
  const out: CompressedCopy[] = [];
  if (b.length < data.length) out.push({ path: `${path}.br`, encoding: 'br', bytes: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) });
  if (g.length < data.length) out.push({ path: `${path}.gz`, encoding: 'gzip', bytes: new Uint8Array(g.buffer, g.byteOffset, g.byteLength) });
  return out;
}

/**
 * The site's `_headers`: COOP/COEP on every path (threads need cross-origin isolation), `Cache-Control:
 * no-cache` (the browser revalidates; the page keeps the model and runtime itself), and per copy its
 * encoding and its original's type.
 */
export function headersFile(copies: readonly CompressedCopy[]): string {
  const blocks = [
    ['/*', 'Cross-Origin-Opener-Policy: same-origin', 'Cross-Origin-Embedder-Policy: require-corp', 'Cache-Control: no-cache'],
    ...copies.map((c) => [`/${c.path}`, `Content-Encoding: ${c.encoding}`, `Content-Type: ${contentType(c.path.replace(/\.(br|gz)$/, ''))}`]),
  ];
  return blocks.map(([path, ...headers]) => `${path}\n${headers.map((h) => `  ${h}`).join('\n')}\n`).join('\n');
}
