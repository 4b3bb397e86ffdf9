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

/** One download's settings and what it has so far. */
interface Transfer {
  readonly url: string;
  readonly dest: string;
  readonly partial: string;
  readonly name: string;
  readonly host: string;
  readonly timeoutMs: number;
  readonly minRate: number;
  readonly window: number;
  readonly emit: ProgressCallback;
  readonly options: DownloadOptions;
  /** Bytes in the partial file. */
  loaded: number;
  /** Whether the current attempt has written anything. */
  progressed: boolean;
}

/** The options with their defaults applied, and the bytes a previous pull left in `<dest>.partial`. */
async function startTransfer(url: string, dest: string, options: DownloadOptions): Promise<Transfer> {
  const partial = `${dest}.partial`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  let host: string;
  try {
    host = new URL(url).host;
  } catch {
    host = url;
  }
  return {
    url,
    dest,
    partial,
    name: options.name ?? url,
    host,
    timeoutMs,
    minRate: options.minBytesPerSecond ?? 1024,
    window: options.rateWindowMs ?? timeoutMs,
    emit: options.onProgress ?? (() => {}),
    options,
    loaded: existsSync(partial) ? (await stat(partial)).size : 0,
    progressed: false,
  };
}

/**
 * One attempt's deadlines: no data for `timeoutMs`, or a rate under `minRate` over `window`. Either aborts the
 * attempt's signal with an E_TIMEOUT saying which.
 */
class Deadlines {
  readonly controller = new AbortController();
  private idle: NodeJS.Timeout | undefined;
  private rate: NodeJS.Timeout | undefined;
  private lastData = Date.now();

  constructor(private readonly t: Transfer) {}

  private expire(reason: string): void {
    this.controller.abort(new PplcnetError('E_TIMEOUT', `${this.t.url}: ${reason}`));
  }

  /** Data arrived (or the attempt began): the idle deadline starts again. */
  touch(): void {
    const t = this.t;
    this.lastData = Date.now();
    clearTimeout(this.idle);
    this.idle = setTimeout(() => this.expire(`no data from ${t.host} for ${t.timeoutMs / 1000} s (after ${t.loaded} bytes); try again later, or raise --timeout`), t.timeoutMs);
  }

  /** Samples the bytes loaded and fails a transfer that runs below the minimum rate over the window. */
  watchRate(): void {
    const t = this.t;
    const samples: { t: number; loaded: number }[] = [{ t: Date.now(), loaded: t.loaded }];
    this.rate = setInterval(() => {
      const now = Date.now();
      samples.push({ t: now, loaded: t.loaded });
      while (samples.length > 1 && samples[1]!.t <= now - t.window) samples.shift();
      const first = samples[0]!;
      const span = now - first.t;
      // a transfer that has stopped is the idle deadline's to report
      const stopped = now - this.lastData >= Math.min(t.window, t.timeoutMs) / 2;
      if (span >= t.window && !stopped && ((t.loaded - first.loaded) * 1000) / span < t.minRate) {
        this.expire(`the transfer ran below ${formatBytes(t.minRate)}/s for ${(span / 1000).toFixed(1)} s (${t.loaded - first.loaded} bytes); try again later, or use a mirror`);
      }
    }, Math.max(10, Math.min(1000, t.window / 5)));
  }

  stop(): void {
    clearTimeout(this.idle);
    clearInterval(this.rate);
  }
}

/**
 * Checks the answer to a request for the bytes from `asked` on. Resolves to the file's total size (when
 * known), or to undefined when the download is to start over at once (416: what we have is already the whole
 * file, or the server changed it). Throws for an answer that is not the file, and for a 206 whose
 * Content-Range is not what was asked for (after discarding the partial file: appending would join two
 * different pieces).
 */
async function acceptAnswer(t: Transfer, res: Response, asked: number): Promise<{ total?: number } | undefined> {
  const refuse = async (error: PplcnetError, discardPartial = false): Promise<never> => {
    await res.body?.cancel().catch(() => {});
    if (discardPartial) {
      await rm(t.partial, { force: true });
      t.loaded = 0;
    }
    throw error;
  };
  if (res.status === 416 && asked > 0) {
    await res.body?.cancel().catch(() => {});
    await rm(t.partial, { force: true });
    t.loaded = 0;
    return undefined;
  }
  if (res.status !== 200 && res.status !== 206) {
    return refuse(new Final('E_NETWORK', `${t.url}: HTTP ${res.status} ${STATUS_TEXT[res.status] ?? ''}`.trim()));
  }
  const type = res.headers.get('content-type') ?? '';
  if ((t.options.binary ?? true) && /^\s*text\/html\b/i.test(type)) {
    return refuse(new Final('E_NETWORK', `${t.url}: the server answered with a web page (content-type ${type}) instead of the file; an error or login page? Check the URL or mirror.`));
  }
  const encoded = !/^(identity)?$/i.test((res.headers.get('content-encoding') ?? '').trim());
  const declared = Number(res.headers.get('content-length') ?? NaN);
  const length = !encoded && Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined;
  if (res.status === 200) {
    t.loaded = 0; // a 200 is the whole file (a server that ignored Range included)
    return length !== undefined ? { total: length } : {};
  }
  const range = contentRange(res.headers.get('content-range'));
  if (!range || range.start !== asked || (length !== undefined && range.end - range.start + 1 !== length)) {
    const message = `${t.url}: asked for bytes from ${asked} and the server answered Content-Range ${JSON.stringify(res.headers.get('content-range'))}; the partial download was discarded`;
    return refuse(new PplcnetError('E_NETWORK', message), true);
  }
  return { total: range.total ?? range.end + 1 };
}

/** The chunks of a body, read as they arrive. */
interface BodyChunks {
  /** The next chunk, or undefined at the end of the body (or when it failed). */
  next(): Promise<Uint8Array | undefined>;
  /** Why the body ended early, if it did. */
  readonly failure: unknown;
}

/**
 * Starts reading a body into a queue at once, before any other await: a stream that errors (a cut
 * connection) drops what it has queued. `onData` is called per chunk.
 */
function readChunks(body: ReadableStream<Uint8Array>, onData: () => void): BodyChunks {
  const reader = body.getReader();
  const queue: Uint8Array[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  void (async () => {
    try {
      for (;;) {
        const r = await reader.read();
        if (r.done) break;
        onData();
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
  return {
    async next() {
      for (;;) {
        if (queue.length) return queue.shift()!;
        if (ended) return undefined;
        await new Promise<void>((r) => {
          wake = r;
          if (queue.length || ended) r();
        });
        wake = undefined;
      }
    },
    get failure() {
      return failure;
    },
  };
}

/** Appends the body's chunks to the partial file, reporting progress; throws when the transfer is cut. */
async function receive(t: Transfer, chunks: BodyChunks, total: number | undefined, signal: AbortSignal): Promise<void> {
  const fh = await open(t.partial, t.loaded > 0 ? 'a' : 'w');
  try {
    for (let chunk = await chunks.next(); chunk !== undefined; chunk = await chunks.next()) {
      await fh.write(chunk);
      t.loaded += chunk.length;
      t.progressed = true;
      if (total !== undefined && t.loaded > total) throw new Final('E_NETWORK', `${t.url}: the server sent more than the ${total} bytes it announced`);
      t.emit({ status: 'progress', name: t.name, loaded: t.loaded, ...(total !== undefined ? { total } : {}) });
    }
    if (chunks.failure !== undefined) {
      if (signal.aborted) throw signal.reason;
      throw new PplcnetError('E_NETWORK', `${t.url}: the transfer was cut after ${t.loaded} bytes (${networkReason(chunks.failure)})`, { cause: chunks.failure });
    }
    await fh.close();
  } finally {
    await fh.close().catch(() => {});
  }
}

/** Checks the whole partial file (sha256, the caller's `validate`) and renames it into place. */
async function finish(t: Transfer): Promise<Downloaded> {
  const { url, options } = t;
  const digest = await sha256File(t.partial);
  if (options.sha256 && digest !== options.sha256.toLowerCase()) {
    await rm(t.partial, { force: true });
    throw new Final('E_CHECKSUM', `${url}: sha256 ${digest} does not match the expected ${options.sha256}; the download was removed. The file on the server differs from the one registered: check the URL or mirror.`);
  }
  let checked: string | undefined;
  try {
    checked = (await options.validate?.(t.partial)) ?? undefined;
  } catch (err) {
    await rm(t.partial, { force: true });
    const why = err instanceof Error ? err.message : String(err);
    throw new Final(err instanceof PplcnetError ? err.code : 'E_FORMAT', `${url}: the downloaded file does not read as expected, so it was removed (${why})`, { cause: err });
  }
  await rename(t.partial, t.dest);
  t.emit({ status: 'done', name: t.name, loaded: t.loaded, sha256: digest });
  return { sha256: digest, bytes: t.loaded, ...(checked ? { checked } : {}) };
}

/**
 * One request, resuming from the partial file. Resolves to the finished download, or to undefined when the
 * next attempt is to start over; throws what went wrong (a `Final` when another attempt will not help).
 */
async function attempt(t: Transfer): Promise<Downloaded | undefined> {
  const deadlines = new Deadlines(t);
  t.progressed = false;
  try {
    deadlines.touch();
    const asked = t.loaded;
    const { res } = await get(t.url, asked > 0 ? { range: `bytes=${asked}-` } : {}, deadlines.controller.signal);
    const answer = await acceptAnswer(t, res, asked);
    if (answer === undefined) return undefined;
    if (!res.body) throw new PplcnetError('E_NETWORK', `${t.url}: no body in the answer`);
    const chunks = readChunks(res.body, () => deadlines.touch());
    const { total } = answer;
    t.emit({ status: 'download', name: t.name, url: t.url, resumeFrom: t.loaded, ...(total !== undefined ? { total } : {}) });
    deadlines.watchRate();
    await receive(t, chunks, total, deadlines.controller.signal);
    deadlines.stop();
    if (total !== undefined && t.loaded < total) throw new PplcnetError('E_NETWORK', `${t.url}: the transfer ended after ${t.loaded} of ${total} bytes`);
    return await finish(t);
  } finally {
    deadlines.stop();
    deadlines.controller.abort();
  }
}

/** Download `url` to `dest`. Resolves to the sha256 and size of the file (and what `validate` said). */
export async function download(url: string, dest: string, options: DownloadOptions = {}): Promise<Downloaded> {
  const t = await startTransfer(url, dest, options);
  await mkdir(dirname(dest), { recursive: true });
  t.emit({ status: 'initiate', name: t.name, url });
  let lastError: unknown;
  for (let n = 0; n < (options.attempts ?? 3); n++) {
    try {
      const done = await attempt(t);
      if (done) return done;
    } catch (err) {
      if (err instanceof Final) throw new PplcnetError(err.code, err.message, { cause: err.cause });
      lastError = err;
      // a deadline is final unless this attempt made progress (then the next one resumes)
      if (err instanceof PplcnetError && err.code === 'E_TIMEOUT' && (!t.progressed || /ran below/.test(err.message))) break;
    }
  }
  // keep the partial file: the next pull resumes from it
  if (lastError instanceof PplcnetError) throw lastError;
  throw new PplcnetError('E_NETWORK', `${url}: ${(lastError as Error)?.message ?? 'download failed'}`);
}
