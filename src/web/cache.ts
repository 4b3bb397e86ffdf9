/// <reference lib="dom" />
/**
 * The large files a page needs (the model, onnxruntime-web's .wasm) kept in the browser's Cache API, keyed by
 * their sha256, so that a second visit downloads neither. An entry is checked against its sha256 every time it
 * is read: damaged bytes are dropped and fetched again. Storing a file under a new sha256 removes the entries
 * of the same URL under other hashes (a new model replaces the old one). The network fetch bypasses the HTTP
 * cache (`cache: 'no-store'`): the bytes are kept once, here. Without the Cache API (a page that is not a
 * secure context, or storage refused) the file is fetched, and still checked when WebCrypto is there.
 */
import { PplcnetError } from '../core.js';

/** The Cache API cache pplcnet's pages use unless told otherwise. */
export const CACHE_NAME = 'pplcnet';

/** Where a file's bytes came from. */
export type FileSource = 'cache' | 'network';

export interface CachedFile {
  readonly bytes: Uint8Array;
  readonly from: FileSource;
}

export interface FetchCachedOptions {
  /** The Cache API cache, or false for none. [CACHE_NAME] */
  readonly cacheName?: string | false;
  /** How errors name the file. [its URL] */
  readonly what?: string;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function hasSubtle(): boolean {
  return typeof crypto !== 'undefined' && typeof crypto.subtle?.digest === 'function';
}

/** The sha256 of `bytes` as lowercase hex (WebCrypto). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** The cache key of a file under a hash: its URL without query or fragment, then `?sha256=<hex>`. */
function keyOf(url: string, sha256: string): URL {
  const key = new URL(url);
  key.search = '';
  key.hash = '';
  key.searchParams.set('sha256', sha256);
  return key;
}

async function openCache(name: string | false): Promise<Cache | undefined> {
  if (name === false || typeof caches === 'undefined' || !hasSubtle()) return undefined;
  try {
    return await caches.open(name);
  } catch {
    return undefined; // storage refused (e.g. some private modes): fetch every time
  }
}

async function download(url: string, what: string, noStore: boolean): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, noStore ? { cache: 'no-store' } : {});
  } catch (err) {
    throw new PplcnetError('E_NETWORK', `${what}: could not fetch it (${(err as Error).message})`);
  }
  if (!res.ok) throw new PplcnetError('E_NETWORK', `${what}: HTTP ${res.status} fetching it`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Store `bytes` under `key` and drop the entries of the same file under other hashes; a full quota is no error. */
async function store(cache: Cache, key: URL, bytes: Uint8Array): Promise<void> {
  try {
    await cache.put(key, new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) } }));
  } catch {
    return; // over the quota: the file is used, not kept
  }
  for (const old of await cache.keys()) {
    const u = new URL(old.url);
    if (u.origin === key.origin && u.pathname === key.pathname && u.searchParams.get('sha256') !== key.searchParams.get('sha256')) await cache.delete(old);
  }
}

/**
 * The bytes of `url`, which must hash to `sha256` (64 lowercase hex digits): from the Cache API when an intact
 * entry is there, else fetched, checked and stored. Bytes that do not hash to `sha256` are refused
 * (E_CHECKSUM): the page and the file on the server disagree.
 */
export async function fetchCached(url: string, sha256: string, options: FetchCachedOptions = {}): Promise<CachedFile> {
  const what = options.what ?? url;
  if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) {
    throw new PplcnetError('E_CHECKSUM', `${what}: expected sha256 is ${JSON.stringify(sha256)}, not 64 lowercase hex digits`);
  }
  const cache = await openCache(options.cacheName ?? CACHE_NAME);
  const key = keyOf(new URL(url, typeof location === 'undefined' ? undefined : location.href).href, sha256);
  if (cache) {
    const hit = await cache.match(key).catch(() => undefined);
    if (hit) {
      const bytes = new Uint8Array(await hit.arrayBuffer());
      if ((await sha256Hex(bytes)) === sha256) return { bytes, from: 'cache' };
      await cache.delete(key); // damaged: dropped, fetched again below
    }
  }
  const bytes = await download(url, what, cache !== undefined);
  if (hasSubtle()) {
    const got = await sha256Hex(bytes);
    if (got !== sha256) {
      throw new PplcnetError(
        'E_CHECKSUM',
        `${what}: the downloaded bytes (${bytes.length}) hash to sha256 ${got}, but the page expects ${sha256}: the site is partly updated or the file was replaced; reload the page, or export the site again`,
      );
    }
  }
  if (cache) await store(cache, key, bytes);
  return { bytes, from: 'network' };
}

/** Delete the Cache API cache (every file pplcnet kept in it); true when there was one. */
export async function clearCache(cacheName: string = CACHE_NAME): Promise<boolean> {
  if (typeof caches === 'undefined') return false;
  return caches.delete(cacheName);
}
