/**
 * A `predict` over a large folder runs in a child process whose glibc malloc keeps the memory it frees
 * (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`: glibc reads them only when a process starts, and Node
 * offers no `mallopt`). Each decode's ~1 MB of pixels is freed in bulk when the garbage collector finalizes a
 * few dozen images at once; glibc's defaults then hand the memory back to the system and fault it in again
 * for the next images. Keeping it cut the CPU of a 640×480 JPEG decode by about a quarter (3.0–3.3 against
 * 4.5 ms, two at a time, 1,000 images) and raised a cold `predict` of 1,000 images with the text-line model by
 * 7–9% (276 → 299 and 264 → 288 img/s, alternating runs), for 5–20 MB more memory; x1_0 at 224 ran the
 * same. The child costs one more Node start (about 0.1 s), so only folders of {@link LARGE_FOLDER_IMAGES}
 * images or more get it. Elsewhere (not Linux, musl) the variables are ignored.
 */
import { spawn } from 'node:child_process';
import { type Dirent, opendirSync, statSync } from 'node:fs';

/**
 * The malloc settings of the child: no memory mapped per allocation under 32 MiB, none given back while less
 * than 32 MiB is free at the top of the heap. 64/64 and 64/256 MiB measured the same speed with more memory.
 */
export const TUNED_MALLOC: Readonly<Record<string, string>> = Object.freeze({ MALLOC_MMAP_THRESHOLD_: String(32 << 20), MALLOC_TRIM_THRESHOLD_: String(32 << 20) });

/** Set in the child's environment: its `--verbose` says why it runs so. */
export const TUNED_MARK = 'PPLCNET_TUNED_MALLOC';

/** What `predict --verbose` says in the child. */
export function tunedNote(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env[TUNED_MARK] !== '1') return undefined;
  const settings = Object.entries(TUNED_MALLOC).map(([k, v]) => `${k}=${v}`).join(' ');
  return `a folder of ${LARGE_FOLDER_IMAGES} images or more: run in a child process with glibc malloc keeping freed memory (${settings}; PPLCNET_MALLOC=default runs without)`;
}

/** The fewest images (files directly in the folders named) for which `predict` runs in the tuned child. */
export const LARGE_FOLDER_IMAGES = 500;

/** Entries directly in `dir`, counted up to `max`. */
function countEntries(dir: string, max: number): number {
  let n = 0;
  const d = opendirSync(dir);
  try {
    let e: Dirent | null;
    while (n < max && (e = d.readSync()) !== null) if (!e.isDirectory()) n++;
  } finally {
    d.closeSync();
  }
  return n;
}

/**
 * Whether this command line is a `predict` over at least {@link LARGE_FOLDER_IMAGES} files in the folders it
 * names (their top level only: a cheap lower bound), on Linux, with no malloc setting of the user's and
 * `PPLCNET_MALLOC` not `default`. Arguments that are not folders (files, option values) count nothing.
 */
export function wantsTunedMalloc(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, platform: string = process.platform): boolean {
  if (argv[0] !== 'predict' || platform !== 'linux' || env.PPLCNET_MALLOC === 'default') return false;
  if (Object.keys(TUNED_MALLOC).some((k) => env[k] !== undefined)) return false;
  let files = 0;
  for (const arg of argv.slice(1)) {
    if (arg.startsWith('-')) continue;
    try {
      if (statSync(arg).isDirectory()) files += countEntries(arg, LARGE_FOLDER_IMAGES - files);
    } catch {
      // not a path: an option's value, a pattern, a file that is not there (predict says so)
    }
    if (files >= LARGE_FOLDER_IMAGES) return true;
  }
  return false;
}

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Run `script argv` in a child Node process with {@link TUNED_MALLOC}, its standard streams this process's;
 * signals are passed on. Resolves to its exit code; a child killed by a signal kills this process the same
 * way. Resolves to undefined when the child cannot start (run in this process instead).
 */
export function runTuned(script: string, argv: readonly string[]): Promise<number | undefined> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, script, ...argv], { stdio: 'inherit', env: { ...process.env, ...TUNED_MALLOC, [TUNED_MARK]: '1' } });
    const pass = (signal: NodeJS.Signals): void => void child.kill(signal);
    for (const s of FORWARDED) process.on(s, pass);
    const done = (): void => {
      for (const s of FORWARDED) process.off(s, pass);
    };
    child.once('error', () => {
      done();
      resolve(undefined);
    });
    child.once('exit', (code, signal) => {
      done();
      if (signal) process.kill(process.pid, signal);
      else resolve(code ?? 1);
    });
  });
}
