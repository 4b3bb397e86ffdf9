/**
 * Downloads over Node's `fetch`: progress events, resume of an interrupted transfer (HTTP Range on
 * `<dest>.partial`, the answer's Content-Range checked against the offset asked for), length and content
 * checks, deadlines (no data for `timeoutMs`, or a rate under `minBytesPerSecond` over `rateWindowMs`),
 * sha256 verification, a caller's check of the finished file, and an atomic rename into place. A failed,
 * mismatched or refused download leaves nothing at `dest`.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PplcnetError } from '../errors.js';
import { formatBytes } from '../util/fs.js';
import { sha256File } from './cache.js';

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
  /** Fail when no data arrives for this long (waiting for the answer or within the body). [30000] */
  timeoutMs?: number;
  /** Fail when the transfer averages fewer bytes per second than this over `rateWindowMs`. [1024] */
  minBytesPerSecond?: number;
  /** The window of the rate check. [timeoutMs] */
  rateWindowMs?: number;
  /** The file is binary: an HTML answer (an error or login page served with 200) is refused. [true] */
  binary?: boolean;
  /**
   * Checks the finished file (at the given temporary path) before it is put in place, e.g. by parsing it;
   * throws to refuse it. Resolves to a word for what was checked, returned with the digest.
   */
  validate?: (path: string) => Promise<string | void>;
  /** Display name in events. */
  name?: string;
}

export interface Downloaded {
  sha256: string;
  bytes: number;
  /** What `validate` resolved to. */
  checked?: string;
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

/** A failure that another attempt will not change. */
class Final extends PplcnetError {}

/** Error codes of a host that cannot be reached at all (as opposed to a transfer that went wrong). */
const UNREACHABLE: Readonly<Record<string, string>> = Object.freeze({
  ENOTFOUND: 'host not found: its name does not resolve',
  EAI_AGAIN: 'host not found: no answer from the name server',
  ECONNREFUSED: 'connection refused',
  ENETUNREACH: 'network unreachable',
  EHOSTUNREACH: 'host unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'no answer to the connection attempt',
});

/** Why the host of a failed request cannot be reached (walking the error's causes), or undefined. */
export function unreachableReason(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 8; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && UNREACHABLE[e.code]) return UNREACHABLE[e.code];
  }
  return undefined;
}

function networkReason(err: unknown): string {
  const cause = (err as { cause?: NodeJS.ErrnoException & { code?: string } })?.cause;
  const code = cause?.code ?? (err as NodeJS.ErrnoException)?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host not found';
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET') return 'connection reset';
  return cause?.message ?? (err as Error)?.message ?? String(err);
}

/**
 * GET `url`, following up to 5 redirects by hand: only http and https, never from https down to http, no
 * loops. The signal aborts the request (and the body) with its reason.
 */
async function get(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<{ res: Response; url: string }> {
  const seen = new Set<string>();
  let current = url;
  for (let hop = 0; ; hop++) {
    let u: URL;
    try {
      u = new URL(current);
    } catch {
      throw new Final('E_NETWORK', `${current}: not a valid URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new Final('E_NETWORK', hop === 0 ? `${current}: only http and https URLs are supported` : `${url}: refusing a redirect to ${current}: only http and https URLs are supported`);
    }
    seen.add(u.href);
    let res: Response;
    try {
      // identity: lengths and ranges then count the file's own bytes (fetch would undo a compression silently)
      res = await fetch(u, { headers: { 'user-agent': 'pplcnet', 'accept-encoding': 'identity', ...headers }, redirect: 'manual', signal });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const unreachable = unreachableReason(err);
      if (unreachable) throw new Final('E_NETWORK', `${current}: cannot reach ${u.host} (${unreachable})`, { cause: err });
      throw new PplcnetError('E_NETWORK', `${current}: ${networkReason(err)}`, { cause: err });
    }
    const location = res.headers.get('location');
    if (![301, 302, 303, 307, 308].includes(res.status) || !location) return { res, url: u.href };
    await res.body?.cancel().catch(() => {});
    let next: URL;
    try {
      next = new URL(location, u);
    } catch {
      throw new Final('E_NETWORK', `${current}: redirected to ${JSON.stringify(location)}, not a valid URL`);
    }
    if (u.protocol === 'https:' && next.protocol === 'http:') throw new Final('E_NETWORK', `${url}: refusing a redirect from https to plain http (${next.href})`);
    if (seen.has(next.href)) throw new Final('E_NETWORK', `${url}: redirect loop at ${next.href}`);
    if (hop >= 5) throw new Final('E_NETWORK', `${url}: more than 5 redirects`);
    current = next.href;
  }
}

/** `bytes 100-199/1000` → {start, end, total}; total undefined for `*`. */
function contentRange(h: string | null): { start: number; end: number; total?: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec((h ?? '').trim());
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), ...(m[3] !== '*' ? { total: Number(m[3]) } : {}) };
}

/** Download `url` to `dest`. Resolves to the sha256 and size of the file (and what `validate` said). */
export async function download(url: string, dest: string, options: DownloadOptions = {}): Promise<Downloaded> {
  const name = options.name ?? url;
  const partial = `${dest}.partial`;
  const attempts = options.attempts ?? 3;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const minRate = options.minBytesPerSecond ?? 1024;
  const window = options.rateWindowMs ?? timeoutMs;
  const emit = options.onProgress ?? (() => {});
  const host = (() => {
    try {
      return new URL(url).host;
    } catch {
      return url;
    }
  })();
  await mkdir(dirname(dest), { recursive: true });
  emit({ status: 'initiate', name, url });
  let lastError: unknown;
  let loaded = existsSync(partial) ? (await stat(partial)).size : 0;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const controller = new AbortController();
    const deadline = (reason: string) => controller.abort(new PplcnetError('E_TIMEOUT', `${url}: ${reason}`));
    let idle: NodeJS.Timeout | undefined;
    let lastData = Date.now();
    const touch = () => {
      lastData = Date.now();
      clearTimeout(idle);
      idle = setTimeout(() => deadline(`no data from ${host} for ${timeoutMs / 1000} s (after ${loaded} bytes); try again later, or raise --timeout`), timeoutMs);
    };
    let rateTimer: NodeJS.Timeout | undefined;
    let progressed = false;
    let fh: Awaited<ReturnType<typeof open>> | undefined;
    try {
      touch();
      const asked = loaded;
      const { res } = await get(url, asked > 0 ? { range: `bytes=${asked}-` } : {}, controller.signal);
      if (res.status === 416 && asked > 0) {
        // what we have is already the whole file (or the server changed it): start over
        await res.body?.cancel().catch(() => {});
        await rm(partial, { force: true });
        loaded = 0;
        continue;
      }
      if (res.status !== 200 && res.status !== 206) {
        await res.body?.cancel().catch(() => {});
        throw new Final('E_NETWORK', `${url}: HTTP ${res.status} ${STATUS_TEXT[res.status] ?? ''}`.trim());
      }
      const type = res.headers.get('content-type') ?? '';
      if ((options.binary ?? true) && /^\s*text\/html\b/i.test(type)) {
        await res.body?.cancel().catch(() => {});
        throw new Final('E_NETWORK', `${url}: the server answered with a web page (content-type ${type}) instead of the file; an error or login page? Check the URL or mirror.`);
      }
      const encoded = !/^(identity)?$/i.test((res.headers.get('content-encoding') ?? '').trim());
      const declared = Number(res.headers.get('content-length') ?? NaN);
      const length = !encoded && Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
      let total: number | undefined;
      if (res.status === 206) {
        const range = contentRange(res.headers.get('content-range'));
        if (!range || range.start !== asked || (length !== undefined && range.end - range.start + 1 !== length)) {
          // appending would join two different pieces: start again from zero
          await res.body?.cancel().catch(() => {});
          await rm(partial, { force: true });
          lastError = new PplcnetError('E_NETWORK', `${url}: asked for bytes from ${asked} and the server answered Content-Range ${JSON.stringify(res.headers.get('content-range'))}; the partial download was discarded`);
          loaded = 0;
          continue;
        }
        total = range.total ?? range.end + 1;
      } else {
        loaded = 0; // a 200 is the whole file (a server that ignored Range included)
        total = length;
      }
      if (!res.body) throw new PplcnetError('E_NETWORK', `${url}: no body in the answer`);
      // Read before any other await: a stream that errors (a cut connection) drops what it has queued.
      const reader = res.body.getReader();
      const queue: Uint8Array[] = [];
      let ended = false;
      let failure: unknown;
      let wake: (() => void) | undefined;
      void (async () => {
        try {
          for (;;) {
            const r = await reader.read();
            if (r.done) break;
            touch();
            queue.push(r.value);
            wake?.();
          }
        } catch (err) {
          failure = err;
        } finally {
          ended = true;
          wake?.();
        }
      })();
      emit({ status: 'download', name, url, resumeFrom: loaded, ...(total !== undefined ? { total } : {}) });
      const samples: { t: number; loaded: number }[] = [{ t: Date.now(), loaded }];
      rateTimer = setInterval(() => {
        const now = Date.now();
        samples.push({ t: now, loaded });
        while (samples.length > 1 && samples[1]!.t <= now - window) samples.shift();
        const first = samples[0]!;
        const span = now - first.t;
        // a transfer that has stopped is the idle deadline's to report
        const stopped = now - lastData >= Math.min(window, timeoutMs) / 2;
        if (span >= window && !stopped && ((loaded - first.loaded) * 1000) / span < minRate) {
          deadline(`the transfer ran below ${formatBytes(minRate)}/s for ${(span / 1000).toFixed(1)} s (${loaded - first.loaded} bytes); try again later, or use a mirror`);
        }
      }, Math.max(10, Math.min(1000, window / 5)));
      fh = await open(partial, loaded > 0 ? 'a' : 'w');
      for (;;) {
        while (queue.length) {
          const chunk = queue.shift()!;
          await fh.write(chunk);
          loaded += chunk.length;
          progressed = true;
          if (total !== undefined && loaded > total) throw new Final('E_NETWORK', `${url}: the server sent more than the ${total} bytes it announced`);
          emit({ status: 'progress', name, loaded, ...(total !== undefined ? { total } : {}) });
        }
        if (ended) break;
        await new Promise<void>((r) => {
          wake = r;
          if (queue.length || ended) r();
        });
        wake = undefined;
      }
      if (failure !== undefined) {
        if (controller.signal.aborted) throw controller.signal.reason;
        throw new PplcnetError('E_NETWORK', `${url}: the transfer was cut after ${loaded} bytes (${networkReason(failure)})`, { cause: failure });
      }
      await fh.close();
      fh = undefined;
      clearTimeout(idle);
      clearInterval(rateTimer);
      if (total !== undefined && loaded < total) {
        lastError = new PplcnetError('E_NETWORK', `${url}: the transfer ended after ${loaded} of ${total} bytes`);
        continue;
      }
      const digest = await sha256File(partial);
      if (options.sha256 && digest !== options.sha256.toLowerCase()) {
        await rm(partial, { force: true });
        throw new Final('E_CHECKSUM', `${url}: sha256 ${digest} does not match the expected ${options.sha256}; the download was removed. The file on the server differs from the one registered: check the URL or mirror.`);
      }
      let checked: string | undefined;
      try {
        checked = (await options.validate?.(partial)) ?? undefined;
      } catch (err) {
        await rm(partial, { force: true });
        const why = err instanceof Error ? err.message : String(err);
        throw new Final(err instanceof PplcnetError ? err.code : 'E_FORMAT', `${url}: the downloaded file does not read as expected, so it was removed (${why})`, { cause: err });
      }
      await rename(partial, dest);
      emit({ status: 'done', name, loaded, sha256: digest });
      return { sha256: digest, bytes: loaded, ...(checked ? { checked } : {}) };
    } catch (err) {
      if (err instanceof Final) throw new PplcnetError(err.code, err.message, { cause: err.cause });
      lastError = err;
      // a deadline is final unless this attempt made progress (then the next one resumes)
      if (err instanceof PplcnetError && err.code === 'E_TIMEOUT' && !progressed) break;
      if (err instanceof PplcnetError && err.code === 'E_TIMEOUT' && /ran below/.test(err.message)) break;
    } finally {
      clearTimeout(idle);
      clearInterval(rateTimer);
      controller.abort();
      await fh?.close().catch(() => {});
    }
  }
  // keep the partial file: the next pull resumes from it
  if (lastError instanceof PplcnetError) throw lastError;
  throw new PplcnetError('E_NETWORK', `${url}: ${(lastError as Error)?.message ?? 'download failed'}`);
}
