/**
 * Per-image latency in headless Chromium (the exported site, WASM on 1 thread and, cross-origin isolated, on
 * N threads) beside Node's classifier (onnxruntime-node CPU) on the same model and image; and the site's sizes.
 * Timing is taken inside the page (`performance.now()` around `classify`, and the classifier's own inference
 * time), after warm-up runs (V8 compiles WebAssembly in two tiers: the first ~30 runs are slower).
 *
 *   node dist/bench/web-latency.js [--runs 30] [--warmup 30] [--threads 2] [--only x1_0] [--json]
 *
 * Also the preprocessing overhead, classify p50 − inference p50 (decode, resize, crop, normalize and the
 * classifier's own work around `session.run`), in the browser against Node, with the CPU time of Node's runs.
 *
 * Models: the shipped PP-LCNet_x0_25_textline_ori (80×160) and a PP-LCNet x1.0 at 224 (`build --scale 1.0`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import puppeteer from 'puppeteer-core';
import { buildPPLCNet, createClassifier, exportWebSite, formatBytes } from '../src/index.js';
import { chromiumPath } from '../test/services.js';
import { ROOT } from '../test/helpers.js';
import { serveStatic } from '../test/web-static.js';

interface Row {
  model: string;
  runtime: string;
  threads: number;
  inferenceP50: number;
  /** The fastest run: the least disturbed by other processes on a shared machine. */
  inferenceMin: number;
  classifyP50: number;
  decodeP50: number;
  preprocessP50: number;
  /** classify p50 − inference p50. */
  overheadP50: number;
}

interface Times {
  inference: number[];
  total: number[];
  decode: number[];
  preprocess: number[];
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '30' }, warmup: { type: 'string', default: '30' }, threads: { type: 'string', default: '2' }, json: { type: 'boolean', default: false }, only: { type: 'string' } } });
  const runs = Number(values.runs);
  const warmup = Number(values.warmup);
  const threads = Number(values.threads);
  const exe = chromiumPath();
  if (!exe) throw new Error('Chromium is not installed: apt-get install chromium (or set CHROMIUM_PATH)');
  const work = await mkdtemp(join(tmpdir(), 'pplcnet-web-bench-'));
  const rows: Row[] = [];
  const browser = await puppeteer.launch({ executablePath: exe, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    const x1 = join(work, 'PPLCNet_x1_0.onnx');
    await writeFile(x1, buildPPLCNet({ scale: 1.0 }, { seed: 0 }).bytes);
    const models = [
      { name: 'x0_25 textline 80×160', model: 'PP-LCNet_x0_25_textline_ori', image: 'models/examples/textline_upright.png' },
      { name: 'x1_0 224×224', model: x1, image: 'test/fixtures/preprocess/photo_299x401.jpg' },
    ];
    for (const m of models.filter((x) => !values.only || x.name.startsWith(values.only!))) {
      const site = join(work, `site-${rows.length}`);
      const r = await exportWebSite({ model: m.model, outDir: site, cacheDir: join(work, 'cache') });
      if (!values.json) {
        console.log(`${m.name}: script ${formatBytes(r.scriptBytes)} (${r.scriptBytes} B), model ${formatBytes(r.modelBytes)}, onnxruntime-web ${formatBytes(r.runtimeBytes)}`);
      }
      // the four configurations run in alternation, a few images each per round, so that a shared machine's
      // changing load falls on all of them alike
      const runners: { runtime: string; threads: number; run: (k: number) => Promise<Times>; close: () => Promise<void> }[] = [];
      for (const [isolated, n] of [[false, 1], [true, threads]] as const) {
        const server = await serveStatic(site, ROOT, { isolated });
        const page = await browser.newPage();
        await page.goto(`${server.origin}/?threads=${n}`);
        await page.waitForFunction(() => window.pplcnet || window.pplcnetError, { timeout: 120_000 });
        await page.evaluate(async (image: string) => {
          (window as unknown as { benchBlob: Blob }).benchBlob = await (await fetch(`/__repo/${image}`)).blob();
        }, m.image);
        const got = await page.evaluate(() => window.pplcnet!.threads);
        runners.push({
          runtime: 'Chromium WASM',
          threads: got,
          run: (k) =>
            page.evaluate(async (k: number) => {
              const blob = (window as unknown as { benchBlob: Blob }).benchBlob;
              const t: Times = { inference: [], total: [], decode: [], preprocess: [] };
              for (let i = 0; i < k; i++) {
                const t0 = performance.now();
                const r = await window.pplcnet!.classify(blob);
                t.total.push(performance.now() - t0);
                t.inference.push(r.timings.batchInferenceMs);
                t.decode.push(r.timings.decodeMs);
                t.preprocess.push(r.timings.preprocessMs);
              }
              return t;
            }, k),
          close: async () => {
            await page.close();
            await server.close();
          },
        });
      }
      for (const n of [1, threads]) {
        const clf = await createClassifier({ model: m.model, cacheDir: join(work, 'cache'), ep: 'cpu', threads: n, workers: 0 });
        runners.push({
          runtime: 'Node onnxruntime-node',
          threads: n,
          run: async (k) => {
            const t: Times = { inference: [], total: [], decode: [], preprocess: [] };
            for (let i = 0; i < k; i++) {
              const t0 = performance.now();
              const r = await clf.classify(join(ROOT, m.image));
              t.total.push(performance.now() - t0);
              t.inference.push(r.timings.batchInferenceMs);
              t.decode.push(r.timings.decodeMs);
              t.preprocess.push(r.timings.preprocessMs);
            }
            return t;
          },
          close: () => clf.close(),
        });
      }
      for (const r of runners) await r.run(warmup);
      const times: Times[] = runners.map(() => ({ inference: [], total: [], decode: [], preprocess: [] }));
      const perRound = 3;
      for (let done = 0; done < runs; done += perRound) {
        for (const [i, r] of runners.entries()) {
          const t = await r.run(Math.min(perRound, runs - done));
          for (const key of ['inference', 'total', 'decode', 'preprocess'] as const) times[i]![key].push(...t[key]);
        }
      }
      for (const [i, r] of runners.entries()) {
        const x = times[i]!;
        rows.push({
          model: m.name,
          runtime: r.runtime,
          threads: r.threads,
          inferenceP50: median(x.inference),
          inferenceMin: Math.min(...x.inference),
          classifyP50: median(x.total),
          decodeP50: median(x.decode),
          preprocessP50: median(x.preprocess),
          overheadP50: median(x.total) - median(x.inference),
        });
        await r.close();
      }
    }
  } finally {
    await browser.close();
    await rm(work, { recursive: true, force: true });
  }
  if (values.json) console.log(JSON.stringify({ rows, loadavg: loadavg() }));
  else {
    console.log(`load average (1 min) at the end: ${loadavg()[0]!.toFixed(1)}`);
    for (const r of rows) {
      console.log(
        `${r.model.padEnd(22)} ${r.runtime.padEnd(22)} ${r.threads} thread(s)  inference p50 ${r.inferenceP50.toFixed(2)} ms (min ${r.inferenceMin.toFixed(2)})  classify p50 ${r.classifyP50.toFixed(2)} ms  overhead ${r.overheadP50.toFixed(2)} ms (decode ${r.decodeP50.toFixed(2)}, preprocess ${r.preprocessP50.toFixed(2)})`,
      );
    }
    for (const model of new Set(rows.map((r) => r.model))) {
      const of = (runtime: string, threads: number): Row | undefined => rows.find((r) => r.model === model && r.runtime.startsWith(runtime) && r.threads === threads);
      for (const n of new Set(rows.filter((r) => r.model === model).map((r) => r.threads))) {
        const web = of('Chromium', n);
        const node = of('Node', n);
        if (web && node) console.log(`${model}, ${n} thread(s): browser overhead / Node overhead = ${(web.overheadP50 / node.overheadP50).toFixed(2)}`);
      }
    }
  }
}

await main();
