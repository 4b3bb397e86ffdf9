/** Shared test helpers: float comparison with absolute + relative tolerance, running models. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** |a − e| ≤ atol + rtol·|e| for every element; reports the worst index. */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  { atol = 1e-5, rtol = 0, what = 'values' }: { atol?: number; rtol?: number; what?: string } = {},
): number {
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} ≠ ${expected.length}`);
  let worst = 0;
  let worstIndex = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    const excess = d - (atol + rtol * Math.abs(expected[i]!));
    if (!(excess <= 0) && (worstIndex < 0 || excess > worst)) {
      worst = excess;
      worstIndex = i;
    }
  }
  if (worstIndex >= 0) {
    assert.fail(`${what}: index ${worstIndex}: ${actual[worstIndex]} vs expected ${expected[worstIndex]} (atol ${atol}, rtol ${rtol})`);
  }
  let maxDiff = 0;
  for (let i = 0; i < actual.length; i++) maxDiff = Math.max(maxDiff, Math.abs(actual[i]! - expected[i]!));
  return maxDiff;
}

export async function runOnnx(
  bytes: Uint8Array,
  feeds: Record<string, { data: Float32Array; dims: number[] }>,
  options: ort.InferenceSession.SessionOptions = {},
): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, ...options });
  const input: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) input[k] = new ort.Tensor('float32', v.data, v.dims);
  const out = await session.run(input);
  const result: Record<string, { data: Float32Array; dims: readonly number[] }> = {};
  for (const [k, v] of Object.entries(out)) result[k] = { data: v.data as Float32Array, dims: v.dims };
  await session.release();
  return result;
}

/** A deterministic xorshift32 stream of unsigned 32-bit integers. */
export function xorshift32(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** Deterministic pseudo-random floats in [lo, hi). */
export function seededFloats(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const next = xorshift32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (next() / 4294967296) * (hi - lo);
  return out;
}

/** Deterministic pseudo-random bytes (the low byte of each xorshift32 value). */
export function seededBytes(n: number, seed: number): Buffer {
  const next = xorshift32(seed);
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = next() & 0xff;
  return out;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The signal that ended the process, when one did. */
  signal?: NodeJS.Signals | null;
}

/** Collect a child process's output until it closes; `timeoutMs` kills it (SIGKILL) when it runs longer. */
export function childOutput(child: ChildProcess, timeoutMs?: number): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, signal });
    });
  });
}

/** A cache folder for CLI runs that do not name one, so tests never touch the user's cache; removed at exit. */
const TEST_HOME = join(tmpdir(), `pplcnet-test-home-${process.pid}`);
process.on('exit', () => rmSync(TEST_HOME, { recursive: true, force: true }));

/** Run the installed CLI (`bin/pplcnet.js`, compiled JavaScript) as a user would. */
export function runCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Uint8Array } = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [`${ROOT}bin/pplcnet.js`, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, PPLCNET_HOME: TEST_HOME, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const done = childOutput(child);
  child.stdin!.end(options.input ?? '');
  return done;
}

/** A temporary folder for a describe block: created before its tests, removed after. */
export function tempDir(prefix: string, hooks: { before: (fn: () => Promise<void>) => void; after: (fn: () => Promise<void>) => void }): { readonly path: string } {
  const box = { path: '' };
  hooks.before(async () => {
    box.path = await mkdtemp(join(tmpdir(), `pplcnet-${prefix}-`));
  });
  hooks.after(async () => {
    await rm(box.path, { recursive: true, force: true });
  });
  return box;
}

const IMPORT = /(?:^|[;\s])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[;\s])import\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g;

/**
 * Every module reachable from `entry` through relative imports (a `.js` specifier read as the file with
 * `extension`: `.ts` for the sources, `.d.ts` for the built declarations), and the bare specifiers they import,
 * by importer. Paths relative to the repository.
 */
export function reachableModules(entry: string, extension: '.ts' | '.d.ts'): { modules: string[]; external: Map<string, string[]> } {
  const seen = new Set<string>();
  const external = new Map<string, string[]>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');
    for (const m of text.matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2] ?? m[3])!;
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, extension)));
      else external.set(spec, [...(external.get(spec) ?? []), relative(ROOT, file)]);
    }
  };
  visit(join(ROOT, entry));
  return { modules: [...seen].map((f) => relative(ROOT, f)).sort(), external };
}
