/**
 * Pulling zoo models into the cache: `<cache>/models/<name>/` holds the downloaded `.pdparams` (or the
 * unpacked inference model under `model/`), `source.json` (URL, sha256, size, what was verified and how;
 * written last, so its presence means complete) and converted ONNX files under `onnx/`. A lock keeps
 * concurrent pulls apart. A recorded source that no longer matches its record is moved aside and fetched again.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PplcnetError, invalidOption } from '../errors.js';
import { diskBytes, writeFileAtomic } from '../util/fs.js';
import { type FileStamp, type Notice, assertPlainName, cachePath, defaultCacheDir, fileStamp, sha256File, unchangedSince } from './cache.js';
import { type Downloaded, type ProgressCallback, download, unreachableReason } from './download.js';
import { acquireLock } from './lock.js';
import { type ZooEntry, findZooEntry, loadZoo, zooNameHint } from './registry.js';
import { extractTar, listTar } from '../util/tar.js';
import { checkMirror, mirrorUrl } from './mirror.js';

export interface PullOptions {
  /** [defaultCacheDir()] */
  cacheDir?: string;
  /** Replaces the scheme and host of the source URL (an internal mirror); `$PPLCNET_MIRROR` by default. */
  mirror?: string;
  /** Never touch the network; `$PPLCNET_OFFLINE=1` by default. */
  offline?: boolean;
  onProgress?: ProgressCallback;
  /** The registry to use. [loadZoo()] */
  zoo?: readonly ZooEntry[];
  /**
   * Download deadline, ms: no data for this long fails the download, and so does a transfer averaging
   * under `minBytesPerSecond` over this long. [`$PPLCNET_TIMEOUT` seconds, else 30000]
   */
  timeoutMs?: number;
  /** The slowest transfer accepted, bytes/s averaged over `timeoutMs`. [1024] */
  minBytesPerSecond?: number;
  /** Where notices go: a cached file that failed its check and is fetched or converted again. [none] */
  notice?: Notice;
}

export interface PulledModel {
  readonly entry: ZooEntry;
  /** `<cache>/models/<name>` */
  readonly dir: string;
  /** The `.pdparams` file, or the inference model folder. */
  readonly source: string;
  readonly sha256: string;
  readonly fromCache: boolean;
}

/** What a pull checked before recording the source. */
export interface Verification {
  /** Where the digest came from: the registry record (checked), or what was fetched the first time (recorded). */
  sha256: 'registry' | 'recorded-on-first-pull';
  /** How the file was read before it was recorded: unpickled (`.pdparams`) or listed and unpacked (tar). */
  parsed: 'pickle' | 'tar';
  /** ISO time of the check. */
  at: string;
}

export interface SourceRecord {
  url: string;
  /** sha256 of the downloaded file. */
  sha256: string;
  bytes: number;
  verified: Verification;
  /** Inference models: sha256 of each unpacked file under `model/`, checked when the model is used. */
  files?: Record<string, string>;
  /** The source file was put in the cache folder by hand, not downloaded (`url` is then its path). */
  placedByHand?: true;
  /** The stamp of each checked file (relative to the model folder) when its digest was last checked. */
  stamps?: Record<string, FileStamp>;
}

/** `<cacheDir>/models/<name>`; `name` must be a plain name, and the folder must stay inside the cache. */
export function modelDir(cacheDir: string, name: string): string {
  return cachePath(cacheDir, 'models', assertPlainName(name));
}

function envTimeoutMs(env: NodeJS.ProcessEnv): number | undefined {
  const v = env.PPLCNET_TIMEOUT;
  if (!v) return undefined;
  const s = Number(v);
  if (!(s > 0) || !Number.isFinite(s)) throw invalidOption('PPLCNET_TIMEOUT', 'a positive number of seconds', v);
  return s * 1000;
}

export function resolvePullOptions(options: PullOptions): Required<Pick<PullOptions, 'cacheDir' | 'timeoutMs'>> & PullOptions {
  const timeoutMs = options.timeoutMs ?? envTimeoutMs(process.env) ?? 30_000;
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) throw invalidOption('timeoutMs', 'a positive number of milliseconds', timeoutMs);
  if (options.minBytesPerSecond !== undefined && !(options.minBytesPerSecond >= 0)) throw invalidOption('minBytesPerSecond', 'a number >= 0', options.minBytesPerSecond);
  return {
    ...options,
    cacheDir: options.cacheDir ?? defaultCacheDir(),
    mirror: options.mirror !== undefined ? checkMirror(options.mirror, 'option') : process.env.PPLCNET_MIRROR ? checkMirror(process.env.PPLCNET_MIRROR, 'env') : undefined,
    offline: options.offline ?? ['1', 'true', 'yes'].includes((process.env.PPLCNET_OFFLINE ?? '').toLowerCase()),
    timeoutMs,
  };
}

function sourcePath(entry: ZooEntry, dir: string): string {
  return entry.format === 'pdparams' ? join(dir, `${entry.name}.pdparams`) : join(dir, 'model');
}

/** The record of a pulled model, or undefined (absent or unreadable). */
export async function readSourceRecord(dir: string): Promise<SourceRecord | undefined> {
  const file = join(dir, 'source.json');
  if (!existsSync(file)) return undefined;
  try {
    const r = JSON.parse(await readFile(file, 'utf8')) as SourceRecord;
    return r && typeof r === 'object' && typeof r.sha256 === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** sha256 of every file under `root` (relative path → digest). */
async function digestTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) out[r] = await sha256File(join(root, r));
    }
  };
  await walk('');
  return out;
}

/** Read a `.pdparams` through the pickle reader (it never executes code); throws when it does not parse. */
async function checkPdparams(path: string): Promise<'pickle'> {
  const { readPdparams } = await import('../convert/pdparams.js');
  readPdparams(new Uint8Array(await readFile(path)), path);
  return 'pickle';
}

/**
 * Read an inference archive as its conversion will (one model in it; program, parameters and config all
 * read), so a model that cannot convert is never recorded as pulled. Throws what the conversion would.
 */
async function checkInferenceArchive(path: string): Promise<void> {
  const { inferenceModelFromTar, readInferenceSource } = await import('../convert/inference-model.js');
  readInferenceSource(await inferenceModelFromTar(new Uint8Array(await readFile(path)), path));
}

/**
 * Run `check` on a fetched (or placed) source before anything is unpacked or recorded; when it fails, the
 * file is moved aside to `<file>.rejected` (which `pplcnet cache prune` removes) and the error says so.
 */
async function rejectUnless(file: string, check: () => Promise<void>): Promise<void> {
  try {
    await check();
  } catch (err) {
    const aside = `${file}.rejected`;
    await rm(aside, { recursive: true, force: true });
    const moved = await rename(file, aside).then(
      () => true,
      () => false,
    );
    if (!moved) await rm(file, { force: true });
    const why = err instanceof Error ? err.message : String(err);
    const where = moved ? `moved aside to ${aside} ('pplcnet cache prune' removes it)` : 'removed';
    throw new PplcnetError(err instanceof PplcnetError ? err.code : 'E_FORMAT', `${file}: the model does not convert, so it was not recorded as pulled and the download was ${where}: ${why}`, { cause: err });
  }
}

const PROGRAM = /(^|\/)(inference|model)\.(json|pdmodel)$/;

/**
 * Why the cached source no longer matches its record, or undefined when it does. A record from before
 * verification was recorded is checked by parsing, and upgraded.
 */
async function staleReason(entry: ZooEntry, dir: string, source: string, r: SourceRecord): Promise<string | undefined> {
  if (entry.sha256 && entry.sha256.toLowerCase() !== r.sha256) return `the registry now expects sha256 ${entry.sha256}, the cached file has ${r.sha256}`;
  // each file's sha256, unless its stamp proves it unchanged since it was last checked
  const expected: Record<string, string> = entry.format === 'pdparams' ? { [`${entry.name}.pdparams`]: r.sha256 } : Object.fromEntries(Object.entries(r.files ?? {}).map(([f, d]) => [`model/${f}`, d]));
  const stamps: Record<string, FileStamp> = { ...(r.stamps ?? {}) };
  let restamped = false;
  for (const [f, d] of Object.entries(expected)) {
    const path = join(dir, f);
    if (!existsSync(path)) return `${f} is missing`;
    if (await unchangedSince(path, stamps[f])) continue;
    const found = await sha256File(path);
    if (found !== d) return entry.format === 'pdparams' ? `sha256 ${found} does not match the recorded ${d}` : `${f.slice('model/'.length)} has sha256 ${found}, recorded ${d}`;
    stamps[f] = await fileStamp(path);
    restamped = true;
  }
  let record: SourceRecord | undefined = restamped ? { ...r, stamps } : undefined;
  if (typeof r.verified !== 'object' || r.verified === null || (entry.format === 'inference' && !r.files)) {
    // recorded before downloads were checked: parse now, and record what was checked
    try {
      if (entry.format === 'pdparams') await checkPdparams(source);
      else if (!(await readdir(source, { recursive: true })).some((f) => PROGRAM.test(String(f).replace(/\\/g, '/')))) throw new Error('no inference.json or inference.pdmodel in it');
    } catch (err) {
      return `it does not read as a ${entry.format === 'pdparams' ? '.pdparams file' : 'Paddle inference model'} (${(err as Error).message})`;
    }
    record = {
      url: r.url,
      sha256: r.sha256,
      bytes: r.bytes,
      verified: { sha256: (r.verified as unknown) === true ? 'registry' : 'recorded-on-first-pull', parsed: entry.format === 'pdparams' ? 'pickle' : 'tar', at: new Date().toISOString() },
      ...(entry.format === 'inference' ? { files: await digestTree(source) } : {}),
      stamps,
    };
  }
  if (record) await writeFileAtomic(join(dir, 'source.json'), `${JSON.stringify(record, null, 1)}\n`).catch(() => {});
  return undefined;
}

/** The cached model when it is complete (and, with `verify`, still matches its record; else it is moved aside). */
async function cached(entry: ZooEntry, dir: string, verify: false | { notice?: Notice }): Promise<PulledModel | undefined> {
  const r = await readSourceRecord(dir);
  if (!r) return undefined;
  const source = sourcePath(entry, dir);
  if (!existsSync(source)) return undefined;
  if (verify) {
    const why = await staleReason(entry, dir, source, r);
    if (why) {
      const aside = `${source}.rejected`;
      try {
        await rm(join(dir, 'source.json'), { force: true });
        await rm(aside, { recursive: true, force: true });
        await rename(source, aside);
      } catch (err) {
        throw new PplcnetError('E_CHECKSUM', `${source}: ${why}, and it cannot be moved aside (${(err as Error).message}); remove ${dir} and pull again`, { cause: err });
      }
      verify.notice?.(`${source}: ${why}; moved aside to ${aside}, downloading it again`);
      return undefined;
    }
  }
  return { entry, dir, source, sha256: r.sha256, fromCache: true };
}

/** Pull options with their defaults applied. */
type ResolvedPullOptions = ReturnType<typeof resolvePullOptions>;

/** The cached model if it is there and checks out, under the lock (a read-only cache is checked without one). */
async function lockedCached(entry: ZooEntry, dir: string, verify: { notice?: Notice }): Promise<PulledModel | undefined> {
  if (!existsSync(join(dir, 'source.json'))) return undefined;
  // a check that fails moves files, so it runs under the lock
  const release = await acquireLock(join(dir, '.lock')).catch((err: NodeJS.ErrnoException) => {
    if (['EACCES', 'EPERM', 'EROFS'].includes(err.code ?? '')) return async () => {};
    throw err;
  });
  try {
    return await cached(entry, dir, verify);
  } finally {
    await release();
  }
}

/** Offline with nothing in the cache: what to do instead. */
function offlineError(entry: ZooEntry, dir: string, url: string, file: string): PplcnetError {
  return new PplcnetError(
    'E_OFFLINE',
    `${entry.name} is not in the cache (${dir}) and offline mode forbids downloading. On a connected machine run 'pplcnet pull ${entry.name}' and copy ${dir}, or point --mirror/PPLCNET_MIRROR at a server holding ${new URL(entry.urls[0]!).pathname}, or download ${url} yourself and either put it at ${file} (checked and used on the next run) or pass the file with --model.`,
  );
}

/** The check of a downloaded (or placed) file before it is kept: a readable pickle, or a tar with a program. */
function fileCheck(entry: ZooEntry): (path: string) => Promise<'pickle' | 'tar'> {
  return async (p) => {
    if (entry.format === 'pdparams') return checkPdparams(p);
    const files = await listTar(new Uint8Array(await readFile(p)), p);
    if (!files.some((f) => PROGRAM.test(f))) throw new PplcnetError('E_FORMAT', `${p}: no inference.json or inference.pdmodel in the archive (it holds ${files.slice(0, 5).join(', ') || 'no files'})`);
    return 'tar';
  };
}

/** The model's file, adopted from where the user placed it or downloaded to it. */
async function fetchFile(entry: ZooEntry, o: ResolvedPullOptions, url: string, file: string): Promise<Downloaded> {
  const validate = fileCheck(entry);
  if (existsSync(file)) return adoptPlacedFile(entry, file, validate);
  return download(url, file, {
    ...(entry.sha256 ? { sha256: entry.sha256 } : {}),
    name: entry.name,
    timeoutMs: o.timeoutMs,
    ...(o.minBytesPerSecond !== undefined ? { minBytesPerSecond: o.minBytesPerSecond } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    validate,
  }).catch((err: unknown) => {
    throw unreachableAdvice(err, entry, url, file, o.mirror);
  });
}

/**
 * Unpacks an `*_infer.tar` into `<dir>/model` (through a staging folder) and removes the archive. Resolves to
 * the model folder and the digests of its files. A failure removes the archive too.
 */
async function unpackInference(file: string, dir: string): Promise<{ source: string; files: Record<string, string> }> {
  await rejectUnless(file, () => checkInferenceArchive(file));
  const staging = join(dir, `model.tmp.${process.pid}`);
  const source = join(dir, 'model');
  await rm(staging, { recursive: true, force: true });
  try {
    const listed = await extractTar(new Uint8Array(await readFile(file)), staging, file);
    const programs = listed.filter((f) => PROGRAM.test(f));
    if (programs.length === 0) throw new PplcnetError('E_FORMAT', `${file}: no inference.json or inference.pdmodel in the archive (it holds ${listed.slice(0, 5).join(', ')})`);
    const inner = programs[0]!.includes('/') ? programs[0]!.slice(0, programs[0]!.lastIndexOf('/')) : '';
    await rm(source, { recursive: true, force: true });
    await rename(join(staging, inner), source);
  } catch (err) {
    await rm(file, { force: true });
    throw err;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  await rm(file, { force: true });
  return { source, files: await digestTree(source) };
}

/** Fetches the model into `dir` (already locked), unpacks it, and records where it came from in source.json. */
async function fetchIntoCache(entry: ZooEntry, dir: string, o: ResolvedPullOptions, url: string, file: string): Promise<PulledModel> {
  const placed = existsSync(file);
  const got = await fetchFile(entry, o, url, file);
  const { source, files } = entry.format === 'inference' ? await unpackInference(file, dir) : { source: file, files: undefined };
  const record: SourceRecord = {
    url: placed ? `file:${file}` : url,
    sha256: got.sha256,
    bytes: got.bytes,
    verified: { sha256: entry.sha256 ? 'registry' : 'recorded-on-first-pull', parsed: entry.format === 'pdparams' ? 'pickle' : 'tar', at: new Date().toISOString() },
    ...(placed ? { placedByHand: true } : {}),
    ...(files ? { files } : {}),
  };
  await writeFileAtomic(join(dir, 'source.json'), `${JSON.stringify(record, null, 1)}\n`);
  return { entry, dir, source, sha256: got.sha256, fromCache: false };
}

/** Pull a zoo model (by name or record) into the cache, or find it there. */
export async function pullModel(name: string | ZooEntry, options: PullOptions = {}): Promise<PulledModel> {
  const o = resolvePullOptions(options);
  const entry = typeof name === 'string' ? findZooEntry(name, o.zoo ?? loadZoo()) : name;
  if (!entry) throw new PplcnetError('E_MODEL', `'${String(name)}' is not a zoo model; ${zooNameHint(String(name), o.zoo ?? loadZoo())}`);
  if (entry.format === 'packaged') throw new PplcnetError('E_MODEL', `${entry.name} ships with pplcnet; nothing to pull`);
  const dir = modelDir(o.cacheDir, entry.name);
  const check = { ...(o.notice ? { notice: o.notice } : {}) };
  const have = await lockedCached(entry, dir, check);
  if (have) {
    o.onProgress?.({ status: 'ready', name: entry.name, path: have.source });
    return have;
  }
  const url = mirrorUrl(entry.urls[0]!, o.mirror);
  const file = entry.format === 'pdparams' ? join(dir, `${entry.name}.pdparams`) : join(dir, `${entry.name}_infer.tar`);
  if (o.offline && !existsSync(file)) throw offlineError(entry, dir, url, file);
  const made = await makeDirs(o.cacheDir, dir);
  let done = false;
  const release = await acquireLock(join(dir, '.lock'));
  try {
    // another process may have finished while we waited
    const pulled = (await cached(entry, dir, check)) ?? (await fetchIntoCache(entry, dir, o, url, file));
    o.onProgress?.({ status: 'ready', name: entry.name, path: pulled.source });
    done = true;
    return pulled;
  } finally {
    await release();
    // a failed pull leaves nothing behind but what a retry resumes from (a .partial download)
    if (!done) await removeEmptyDirs(made);
  }
}

/** Create `dir` (under `cacheDir`) and return the folders this call created, deepest first. */
async function makeDirs(cacheDir: string, dir: string): Promise<string[]> {
  const made: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(d)) break;
    made.push(d);
    if (resolve(d) === resolve(cacheDir) || dirname(d) === d) break;
  }
  await mkdir(dir, { recursive: true });
  return made;
}

/** Remove the folders a failed pull created, deepest first, each only when empty. */
async function removeEmptyDirs(made: readonly string[]): Promise<void> {
  for (const d of made) {
    try {
      await rmdir(d);
    } catch {
      return; // not empty (a resumable .partial, or another process's files): keep it and its parents
    }
  }
}

/**
 * A source file put in the model's cache folder by hand (downloaded elsewhere): checked as a download is
 * (the registry's sha256 when it has one, then read by the pickle or tar reader) and adopted. A file that
 * fails is moved aside to `<file>.rejected`.
 */
async function adoptPlacedFile(entry: ZooEntry, file: string, validate: (p: string) => Promise<string>): Promise<{ sha256: string; bytes: number }> {
  const digest = await sha256File(file);
  const bytes = (await stat(file)).size;
  let why: string | undefined;
  if (entry.sha256 && entry.sha256.toLowerCase() !== digest) why = `sha256 ${digest} does not match the registry's ${entry.sha256}`;
  else {
    try {
      await validate(file);
    } catch (err) {
      why = `it does not read as expected (${(err as Error).message})`;
    }
  }
  if (why) {
    await rm(`${file}.rejected`, { force: true });
    await rename(file, `${file}.rejected`).catch(() => {});
    throw new PplcnetError('E_CHECKSUM', `${file}: this file, placed in the cache by hand, was refused: ${why}; moved aside to ${file}.rejected. Download ${entry.urls[0]} again.`);
  }
  return { sha256: digest, bytes };
}

/**
 * A download that could not reach its host, turned into advice: the host and why, then the three ways on
 * (a mirror, offline with what is cached, the file placed in the cache by hand). Other errors pass unchanged.
 */
function unreachableAdvice(err: unknown, entry: ZooEntry, url: string, file: string, mirror: string | undefined): unknown {
  const why = unreachableReason(err);
  if (!why || !(err instanceof PplcnetError)) return err;
  const host = new URL(url).host;
  const path = new URL(entry.urls[0]!).pathname;
  const lines = [
    mirror
      ? `${entry.name}: cannot reach the mirror ${host} (${why}) for ${url}. Check that the mirror server is running and that --mirror/PPLCNET_MIRROR (${mirror}) is its address.`
      : `${entry.name}: cannot reach ${host} (${why}) for ${url}: no network, or a proxy or firewall in the way.`,
    `  - a mirror holding ${path}: --mirror http://host:port (or PPLCNET_MIRROR)`,
    `  - only what is already cached, never the network: --offline (or PPLCNET_OFFLINE=1)`,
    `  - by hand: download ${entry.urls[0]} elsewhere and put it at ${file}; the next run checks it and uses it (or pass the file with --model)`,
  ];
  return new PplcnetError('E_NETWORK', lines.join('\n'), { cause: err });
}

/**
 * Remove a pulled model (its files and converted ONNX). `name` must be a plain name (a RangeError otherwise);
 * only its folder under `<cache>/models/` is removed. Resolves to whether anything was there.
 */
export async function removeModel(name: string, options: PullOptions = {}): Promise<boolean> {
  assertPlainName(name);
  const o = resolvePullOptions(options);
  const entry = findZooEntry(name, o.zoo ?? loadZoo());
  const dir = modelDir(o.cacheDir, entry?.name ?? name);
  if (!existsSync(dir)) return false;
  await rm(dir, { recursive: true, force: true });
  return true;
}

/** Cached state of an entry: 'packaged', 'pulled' or 'remote'; the bytes used under its folder; its source record. */
export async function cacheState(entry: ZooEntry, cacheDir: string): Promise<{ state: 'packaged' | 'pulled' | 'remote'; bytes: number; record?: SourceRecord }> {
  const dir = modelDir(cacheDir, entry.name);
  const bytes = await diskBytes(dir);
  if (entry.format === 'packaged') return { state: 'packaged', bytes };
  const have = await cached(entry, dir, false);
  const record = have ? await readSourceRecord(dir) : undefined;
  return { state: have ? 'pulled' : 'remote', bytes, ...(record ? { record } : {}) };
}
