/**
 * Downloads: progress events, resume of an interrupted transfer (HTTP Range on `<dest>.partial`), sha256
 * verification, and an atomic rename into place. A failed or mismatched download leaves nothing at `dest`.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { dirname } from 'node:path';
import { PplcnetError } from '../errors.js';

/** Progress events, tagged by status. `loaded` never decreases within one download. */
export type ProgressEvent =
  | { status: 'initiate'; name: string; url: string }
  | { status: 'download'; name: string; url: string; resumeFrom: number; total?: number }
  | { status: 'progress'; name: string; loaded: number; total?: number }
  | { status: 'done'; name: string; loaded: number; sha256: string }
  | { status: 'ready'; name: string; path: string };

export type ProgressCallback = (event: ProgressEvent) => void;

export interface DownloadOptions {
  /** Expected sha256 (hex); when absent the digest of what was fetched is returned for recording. */
  sha256?: string;
  onProgress?: ProgressCallback;
  /** Attempts per download (a transfer cut mid-body resumes with Range). [3] */
  attempts?: number;
  /** Socket idle timeout. [30000] */
  timeoutMs?: number;
  /** Display name in events. */
  name?: string;
}

const STATUS_TEXT: Readonly<Record<number, string>> = Object.freeze({
  401: 'authentication required',
  403: 'access denied',
  404: 'not found',
  410: 'gone',
  429: 'too many requests (try again later)',
  500: 'server error',
  502: 'bad gateway',
  503: 'service unavailable (try again later)',
});

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

function get(url: string, headers: Record<string, string>, timeoutMs: number, redirects = 5): Promise<Response> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new PplcnetError('E_NETWORK', `${url}: not a valid URL`));
      return;
    }
    const lib = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
    if (!lib) {
      reject(new PplcnetError('E_NETWORK', `${url}: only http and https URLs are supported`));
      return;
    }
    const req = lib.get(u, { headers: { 'user-agent': 'pplcnet', ...headers } }, (res) => {
      const status = res.statusCode ?? 0;
      if ([301, 302, 303, 307, 308].includes(status) && res.headers.location && redirects > 0) {
        res.resume();
        resolve(get(new URL(res.headers.location, u).toString(), headers, timeoutMs, redirects - 1));
        return;
      }
      resolve({ status, headers: res.headers, body: res });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no data for ${timeoutMs / 1000} s`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'ECONNREFUSED' ? 'connection refused' : err.code === 'ENOTFOUND' ? 'host not found' : err.code === 'ECONNRESET' ? 'connection reset' : err.message;
      reject(new PplcnetError('E_NETWORK', `${url}: ${why}`, { cause: err }));
    });
  });
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Download `url` to `dest`. Resolves to the sha256 of the file. */
export async function download(url: string, dest: string, options: DownloadOptions = {}): Promise<string> {
  const name = options.name ?? url;
  const partial = `${dest}.partial`;
  const attempts = options.attempts ?? 3;
  const emit = options.onProgress ?? (() => {});
  await mkdir(dirname(dest), { recursive: true });
  emit({ status: 'initiate', name, url });
  let lastError: unknown;
  let loaded = existsSync(partial) ? (await stat(partial)).size : 0;
  let total: number | undefined;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const headers: Record<string, string> = loaded > 0 ? { range: `bytes=${loaded}-` } : {};
    let res: Response;
    try {
      res = await get(url, headers, options.timeoutMs ?? 30000);
    } catch (err) {
      lastError = err;
      // a refused connection or unknown host will not change on retry
      if (err instanceof PplcnetError && /connection refused|host not found|not a valid URL|only http/.test(err.message)) break;
      continue;
    }
    if (res.status === 416 && loaded > 0) {
      // what we have is already the whole file (or the server changed it): start over
      res.body.resume();
      await rm(partial, { force: true });
      loaded = 0;
      continue;
    }
    if (res.status !== 200 && res.status !== 206) {
      res.body.resume();
      throw new PplcnetError('E_NETWORK', `${url}: HTTP ${res.status} ${STATUS_TEXT[res.status] ?? ''}`.trim());
    }
    if (res.status === 200 && loaded > 0) {
      loaded = 0; // the server ignored Range: restart
    }
    const length = res.headers['content-length'] ? Number(res.headers['content-length']) : undefined;
    total = length !== undefined ? length + loaded : undefined;
    emit({ status: 'download', name, url, resumeFrom: loaded, ...(total !== undefined ? { total } : {}) });
    // Listen before any await: the body may end, or be cut, at any moment.
    const chunks: Buffer[] = [];
    let wake: (() => void) | undefined;
    let finished: 'complete' | 'cut' | undefined;
    res.body.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      wake?.();
    });
    res.body.on('close', () => {
      finished = res.body.complete ? 'complete' : 'cut';
      wake?.();
    });
    res.body.on('error', () => {});
    const fh = await open(partial, loaded > 0 ? 'a' : 'w');
    try {
      for (;;) {
        while (chunks.length) {
          const chunk = chunks.shift()!;
          await fh.write(chunk);
          loaded += chunk.length;
          emit({ status: 'progress', name, loaded, ...(total !== undefined ? { total } : {}) });
        }
        if (finished) break;
        await new Promise<void>((r) => {
          wake = r;
          if (chunks.length || finished) r();
        });
        wake = undefined;
      }
    } finally {
      await fh.close();
    }
    if (finished === 'cut') {
      lastError = new PplcnetError('E_NETWORK', `${url}: the transfer was cut after ${loaded} bytes`);
      continue;
    }
    if (total !== undefined && loaded < total) {
      lastError = new PplcnetError('E_NETWORK', `${url}: the transfer ended after ${loaded} of ${total} bytes`);
      continue;
    }
    const digest = await sha256File(partial);
    if (options.sha256 && digest !== options.sha256.toLowerCase()) {
      await rm(partial, { force: true });
      throw new PplcnetError('E_CHECKSUM', `${url}: sha256 ${digest} does not match the expected ${options.sha256}; the download was removed. The file on the server differs from the one registered: check the URL or mirror.`);
    }
    await rename(partial, dest);
    emit({ status: 'done', name, loaded, sha256: digest });
    return digest;
  }
  // keep the partial file: the next pull resumes from it
  if (lastError instanceof PplcnetError) throw lastError;
  throw new PplcnetError('E_NETWORK', `${url}: ${(lastError as Error)?.message ?? 'download failed'}`);
}
