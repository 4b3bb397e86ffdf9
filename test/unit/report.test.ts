/**
 * The HTML reports of bench and compare, from results made of seeded values: what each chart draws is read
 * back from the markup (bar widths, points, the peak line's y against the axis ticks, histogram heights) and
 * checked against the values it was given; every inserted text is escaped; nothing loads or runs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type CompareInputDiff,
  type CompareReport,
  type ImageTime,
  type ModelBenchReport,
  type ReportEnvironment,
  benchReportHtml,
  compareReportHtml,
  escapeHtml,
  folderRows,
  histogramBins,
  MAX_BARS,
  peakImagesPerSec,
  shellQuote,
  worstInputs,
} from '../../src/index.js';
import { stageStats } from '../../src/bench.js';
import { percentile } from '../../src/runtime/bench.js';
import { logHistogram } from '../../src/util/histogram.js';
import { seededFloats } from '../helpers.js';
import { assertBalanced, attr, elements, svgs, tickScale, unescapeHtml } from '../report-html.js';

const EVIL = '<script>alert(1)</script>.png';

const env: ReportEnvironment = {
  cpu: 'Test CPU <b>&"quoted"</b>',
  cores: 2,
  onnxruntime: '1.30.0',
  pplcnet: '0.1.0',
  node: '20.0.0',
  date: '2026-01-02T03:04:05.000Z',
  commandLine: ['pplcnet', 'bench', '--images', `dir/${EVIL}`, "it's"],
};

/** The page holds nothing that loads or runs: no script, no URL, no external CSS. */
function assertInert(html: string): void {
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /https?:\/\//i);
  assert.doesNotMatch(html, /\burl\(|@import|<link|<img|<iframe|<object|<embed|\bon\w+=/i);
  assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">/);
}

/** n images whose stage times come from a seeded stream; names include one that holds markup. */
function images(n: number, seed: number): ImageTime[] {
  const v = seededFloats(n * 4, seed, 0.1, 20);
  return Array.from({ length: n }, (_, i) => ({
    file: i === 1 ? `photos/${EVIL}` : `photos/img_${i}.jpg`,
    decodeMs: v[4 * i]!,
    preprocessMs: v[4 * i + 1]!,
    queueMs: v[4 * i + 2]! / 2,
    inferenceMs: v[4 * i + 3]!,
  }));
}

function benchReport(perImage: ImageTime[]): ModelBenchReport {
  const v = seededFloats(16, 7, 1, 40);
  const batches = [1, 2, 8];
  const results = [1, 2].flatMap((threads, ti) =>
    batches.map((batch, bi) => {
      const p50 = v[ti * 3 + bi]! * batch;
      return { threads, batch, createMs: v[10]!, p50Ms: p50, p90Ms: p50 * 1.2, meanMs: p50 * 1.1, imagesPerSec: (1000 * batch) / p50, runs: 2 };
    }),
  );
  const stages = {
    decode: stageStats(perImage.map((p) => p.decodeMs)),
    preprocess: stageStats(perImage.map((p) => p.preprocessMs)),
    queue: stageStats(perImage.map((p) => p.queueMs)),
    inference: stageStats(perImage.map((p) => p.inferenceMs)),
  };
  return {
    name: `model "${EVIL}" & co`,
    inputSize: [80, 160],
    multiplyAdds: 43_700_000,
    peak: new Map([
      [1, 20 + v[12]!],
      [2, 40 + v[13]!],
    ]),
    results,
    folder: {
      plan: { cores: 2, threads: 1, workers: 1, batchSize: 8, spinning: false, lanes: 0, streamWorkersFrom: 0, estimate: { preprocessMs: 2.5, inferenceMs: 1 }, reason: '2 cores: 1 intra-op thread(s), 1 preprocessing worker(s), batch 8' },
      images: perImage.length,
      failed: [{ file: `bad/${EVIL}`, message: `bad/${EVIL}: cannot decode the image` }],
      skipped: [],
      wallMs: 1234,
      imagesPerSec: (1000 * perImage.length) / 1234,
      stages,
      perImage,
    },
  };
}

describe('report HTML (bench --report, compare --report)', () => {
  test('escapeHtml and shellQuote', () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
    assert.equal(unescapeHtml(escapeHtml(EVIL)), EVIL);
    assert.equal(shellQuote('scans/*.png'), "'scans/*.png'");
    assert.equal(shellQuote("it's"), `'it'\\''s'`);
    assert.equal(shellQuote('--threads=1,2'), '--threads=1,2');
  });

  test('logHistogram: zeros, values under the floor and log-spaced bins over the decades the values span', () => {
    const values = [0, 0, 1e-13, 1e-6, 2e-6, 3.2e-6, 9.99e-6, 1e-5, 0.04, 0.5, 1];
    const h = logHistogram(values);
    assert.equal(h.zeros, 2);
    assert.equal(h.below, 1);
    assert.equal(h.total, values.length);
    // from the floor's decade (1e-13 is under it) to 1: 12 decades, two bins each
    assert.equal(h.counts.length, 24);
    assert.equal(h.edges.length, 25);
    assert.ok(Math.abs(h.edges[0]! - 1e-12) < 1e-24 && h.edges[24] === 1);
    // each counted value lies in its bin
    for (const v of values.filter((x) => x >= 1e-12)) {
      const i = Math.min(23, h.edges.findIndex((e, k) => v >= e && v < (h.edges[k + 1] ?? Infinity)));
      assert.ok(i >= 0, `${v} has a bin`);
    }
    const expected = new Array<number>(24).fill(0);
    for (const v of values.filter((x) => x >= 1e-12)) {
      let i = h.edges.findIndex((e, k) => k < 24 && v >= e && v < h.edges[k + 1]!);
      if (i < 0) i = 23; // the top edge itself
      expected[i]!++;
    }
    assert.deepEqual(h.counts, expected);
    assert.equal(h.counts.reduce((a, b) => a + b, 0) + h.zeros + h.below, values.length);
    // without a floor in the way: the decades of the values only
    const g = logHistogram([0.003, 0.2], { binsPerDecade: 1 });
    assert.deepEqual(g.edges.map((e) => Number(e.toPrecision(6))), [0.001, 0.01, 0.1, 1]);
    assert.deepEqual(g.counts, [1, 0, 1]);
    assert.deepEqual(logHistogram([0, 0]), { edges: [], counts: [], zeros: 2, below: 0, total: 2 });
    assert.throws(() => logHistogram([1, Number.NaN]), RangeError);
    assert.throws(() => logHistogram([-1]), RangeError);
  });

  test('bench page: points at their latencies, the peak lines at peak ÷ GFLOP per image, escaped text, nothing that loads or runs', () => {
    const r = benchReport(images(12, 3));
    const html = benchReportHtml(r, env);
    assertInert(html);
    assert.ok(assertBalanced(html) > 100);
    assert.ok(!html.includes(EVIL), 'the file name never appears unescaped');
    assert.ok(html.includes(escapeHtml(EVIL)));
    assert.ok(html.includes(escapeHtml(env.cpu)) && !html.includes(env.cpu));
    assert.ok(html.includes(escapeHtml(`pplcnet bench --images 'dir/${EVIL}' 'it'\\''s'`)), 'the command line, shell-quoted');
    const [latency, throughput, totals, perImage] = svgs(html);
    assert.ok(latency && throughput && totals && perImage);
    // latency chart: each point's cy is its p50 on the axis the ticks define; one series per thread count
    const y = tickScale(latency, 'ytick', 'y1');
    const points = elements(latency, 'circle', 'point');
    assert.equal(points.length, r.results.length);
    r.results.forEach((x, i) => {
      assert.equal(attr(points[i]!, 'data-value'), x.p50Ms);
      assert.ok(Math.abs(attr(points[i]!, 'cy') - y(x.p50Ms)) <= 0.01, `point ${i}: cy ${points[i]!.attrs.cy} vs ${y(x.p50Ms)}`);
    });
    assert.deepEqual(elements(latency, 'g', 'series').map((g) => g.attrs['data-name']), ['1 thread', '2 threads']);
    // throughput chart: a dashed peak line per thread count at the images/s the peak allows
    const yt = tickScale(throughput, 'ytick', 'y1');
    const refs = elements(throughput, 'line', 'reference');
    assert.equal(refs.length, 2);
    for (const [k, t] of [1, 2].entries()) {
      const ceiling = (r.peak.get(t)! * 1e9) / (2 * r.multiplyAdds!);
      assert.equal(peakImagesPerSec(r.peak.get(t)!, r.multiplyAdds!), ceiling);
      const line = refs[k]!;
      assert.equal(line.attrs['stroke-dasharray'], '6 4');
      assert.equal(attr(line, 'y1'), attr(line, 'y2'));
      assert.ok(Math.abs(attr(line, 'y1') - yt(ceiling)) <= 0.01, `peak line ${t}: y ${line.attrs.y1} vs ${yt(ceiling)}`);
      assert.ok(yt(ceiling) >= 16 && yt(ceiling) <= 300, 'inside the plot');
    }
    // the table holds every configuration
    for (const x of r.results) assert.ok(html.includes(`<td class="num">${x.p50Ms.toFixed(2)}</td>`));
    // folder: one bar per image, widths proportional to the values on one scale, which the x ticks show
    const bars = elements(perImage, 'g', 'bar');
    assert.equal(bars.length, 12);
    assert.equal(bars[1]!.attrs['data-label'], `photos/${EVIL}`);
    const segs = elements(perImage, 'rect', 'segment');
    assert.equal(segs.length, 12 * 4);
    const x = tickScale(perImage, 'xtick', 'x1');
    const scale = x(1) - x(0);
    r.folder!.perImage.forEach((p, i) => {
      const values = [p.decodeMs, p.preprocessMs, p.queueMs, p.inferenceMs];
      let left = x(0);
      values.forEach((v, k) => {
        const s = segs[i * 4 + k]!;
        assert.equal(attr(s, 'data-value'), v);
        assert.ok(Math.abs(attr(s, 'width') - v * scale) <= 0.01, `image ${i} stage ${k}: width ${s.attrs.width} vs ${v * scale}`);
        assert.ok(Math.abs(attr(s, 'x') - left) <= 0.03, `image ${i} stage ${k} starts where the previous ends`);
        left += v * scale;
      });
    });
    // the totals bar is the stage sums
    const totalSegs = elements(totals, 'rect', 'segment').map((s) => attr(s, 'data-value'));
    const st = r.folder!.stages;
    assert.deepEqual(totalSegs, [st.decode.total, st.preprocess.total, st.queue.total, st.inference.total]);
    assert.ok(html.includes('1 image failed'));
  });

  test('bench page without a peak says why there is no peak line; a model without multiply-adds too', () => {
    const r = { ...benchReport(images(2, 4)), peak: new Map<number, number>() };
    const html = benchReportHtml(r, env);
    assert.equal(elements(html, 'line', 'reference').length, 0);
    assert.match(html, /No peak line: the matmul peak was not measured \(--no-peak\)/);
    const { multiplyAdds: _, ...noMacs } = benchReport(images(2, 4));
    assert.match(benchReportHtml(noMacs, env), /No peak line: the model&#39;s multiply-adds are unknown/);
    assertInert(benchReportHtml(noMacs, env));
  });

  test('a folder of many images is drawn as at most MAX_BARS bars of groups by total time, and the page says so', () => {
    const many = images(2 * MAX_BARS + 57, 9);
    const { rows, grouped } = folderRows(many);
    assert.ok(grouped);
    assert.equal(rows.length, MAX_BARS);
    // the groups cover every image once, each bar is its group's mean, and the bars rise with total time
    const total = (p: ImageTime): number => p.decodeMs + p.preprocessMs + p.queueMs + p.inferenceMs;
    const sorted = [...many].sort((a, b) => total(a) - total(b));
    let covered = 0;
    rows.forEach((row, g) => {
      const m = /^images (\d+)–(\d+) of (\d+) by time$/.exec(row.label);
      assert.ok(m, row.label);
      const [from, to] = [Number(m[1]) - 1, Number(m[2])];
      assert.equal(from, covered);
      covered = to;
      const group = sorted.slice(from, to);
      const decode = group.reduce((s, p) => s + p.decodeMs, 0) / group.length;
      assert.ok(Math.abs(row.values[0]! - decode) < 1e-9, `group ${g}`);
    });
    assert.equal(covered, many.length);
    const sums = rows.map((r) => r.values.reduce((a, b) => a + b, 0));
    for (let i = 1; i < sums.length; i++) assert.ok(sums[i]! >= sums[i - 1]! - 1e-9);
    const html = benchReportHtml(benchReport(many), env);
    assert.equal(elements(html, 'g', 'bar').length, MAX_BARS + 1, 'the groups and the totals bar');
    assert.match(html, new RegExp(`${many.length} images are shown as ${MAX_BARS} bars`));
    assert.ok(html.length < 400_000, `${html.length} characters`);
    assert.deepEqual(folderRows(many.slice(0, 5)).rows.map((r) => r.label), many.slice(0, 5).map((p) => p.file));
  });

  test('compare page: histogram bars as high as their counts, the worst inputs largest first, every name escaped', () => {
    const n = 40;
    const classes = 5;
    const d = seededFloats(n * classes, 11, -7, -0.3).map((e) => 10 ** e);
    const perInput: CompareInputDiff[] = Array.from({ length: n }, (_, i) => {
      const row = d.subarray(i * classes, (i + 1) * classes);
      return {
        name: i === 3 ? `val/${EVIL}` : `val/${i}.png`,
        maxAbs: Math.max(...row),
        meanAbs: row.reduce((a, b) => a + b, 0) / classes,
        top1A: { classId: i % 3, label: `cls <${i % 3}>`, score: 0.9 },
        top1B: { classId: i % 2, score: 0.8 },
      };
    });
    const histogram = logHistogram([...d, 0, 0, 0]);
    const report: CompareReport = {
      inputs: n,
      inputKind: 'images',
      probs: { maxAbs: Math.max(...d), meanAbs: d.reduce((a, b) => a + b, 0) / d.length },
      top1Agreement: 0.5,
      top5Agreement: 0.25,
      worstInput: perInput.reduce((w, p) => (p.maxAbs > w.maxAbs ? p : w)).name,
      models: [`a/${EVIL}.onnx`, 'b.onnx'],
      histogram,
      perInput,
      failed: [],
      skipped: [],
    };
    const html = compareReportHtml(report, env);
    assertInert(html);
    assertBalanced(html);
    assert.ok(!html.includes(EVIL) && html.includes(escapeHtml(`a/${EVIL}.onnx`)));
    const [hist] = svgs(html);
    const bins = elements(hist!, 'rect', 'bin');
    const drawn = histogramBins(histogram);
    assert.equal(bins.length, drawn.length);
    assert.deepEqual(bins.map((b) => attr(b, 'data-count')), [histogram.zeros, ...histogram.counts]);
    assert.equal(bins.reduce((s, b) => s + attr(b, 'data-count'), 0), n * classes + 3);
    // heights on the count axis
    const y = tickScale(hist!, 'ytick', 'y1');
    for (const b of bins) {
      const c = attr(b, 'data-count');
      assert.ok(Math.abs(attr(b, 'y') - y(c)) <= 0.02 && Math.abs(attr(b, 'height') - (y(0) - y(c))) <= 0.02, `bin of ${c}: y ${b.attrs.y} h ${b.attrs.height}`);
    }
    // the worst inputs' table: largest max |Δprob| first
    const worst = worstInputs(perInput);
    const sorted = [...perInput].sort((a, b) => b.maxAbs - a.maxAbs);
    assert.deepEqual(worst.map((w) => w.name), sorted.slice(0, worst.length).map((w) => w.name));
    const rows = [...html.slice(html.indexOf('<section id="worst">')).matchAll(/<tr><td>([^<]*)<\/td><td class="num">([^<]*)<\/td>/g)].map((m) => [unescapeHtml(m[1]!), Number(m[2])] as const);
    assert.deepEqual(rows.map((r) => r[0]), worst.map((w) => w.name));
    for (const [i, [, v]] of rows.entries()) assert.ok(Math.abs(v - worst[i]!.maxAbs) <= worst[i]!.maxAbs * 0.006);
    assert.ok(html.includes(escapeHtml(`cls <${perInput[0]!.top1A.classId}>`)));
    // stage stats used by the bench page: percentiles as runtime/bench computes them
    const s = stageStats([5, 1, 4, 2, 3]);
    assert.deepEqual([s.mean, s.p50, s.p95, s.total], [3, percentile([1, 2, 3, 4, 5], 50), percentile([1, 2, 3, 4, 5], 95), 15]);
  });

  test('compare page: the labels under the histogram never overlap (0, < 1e-12 and 1e-12 side by side); inputs left out are listed', () => {
    // every kind of bin: exact zeros, values under the 1e-12 floor, and every decade up to 1
    const values = [0, 0, 3e-15, 5e-13, ...Array.from({ length: 25 }, (_, i) => 1.5 * 10 ** (-12 + i / 2)).filter((v) => v <= 1)];
    const histogram = logHistogram(values);
    assert.ok(histogram.zeros > 0 && histogram.below > 0);
    const perInput: CompareInputDiff[] = [{ name: 'a.png', maxAbs: 0.9, meanAbs: 0.1, top1A: { classId: 0, score: 0.9 }, top1B: { classId: 1, score: 0.8 } }];
    const report: CompareReport = {
      inputs: 1,
      inputKind: 'images',
      probs: { maxAbs: 0.9, meanAbs: 0.1 },
      top1Agreement: 0,
      top5Agreement: 0,
      worstInput: 'a.png',
      models: ['a.onnx', 'b.onnx'],
      histogram,
      perInput,
      failed: [{ file: `bad/${EVIL}`, code: 'E_IMAGE', message: `bad/${EVIL}: not an image` }],
      skipped: [],
    };
    const html = compareReportHtml(report, env);
    assertInert(html);
    assert.ok(!html.includes(EVIL));
    const left = html.slice(html.indexOf('<section id="failed">'));
    assert.ok(html.includes('<section id="failed">') && left.includes(escapeHtml(`bad/${EVIL}: not an image`)), 'the failed image is listed');
    const [hist] = svgs(html);
    const labels = [...hist!.matchAll(/<text class="xlabel" x="([\d.]+)" y="([\d.]+)" text-anchor="(\w+)">([^<]*)<\/text>/g)].map((m) => {
      const text = unescapeHtml(m[4]!);
      // 11 px system-ui: digits, '<', '-' and 'e' are at most 6.6 px wide
      const w = text.length * 6.6;
      const x = Number(m[1]);
      return { text, y: Number(m[2]), from: m[3] === 'end' ? x - w : x - w / 2, to: m[3] === 'end' ? x : x + w / 2 };
    });
    const texts = labels.map((l) => l.text);
    for (const t of ['0', '< 1e-12', '1e-12', '1e-6', '1']) assert.ok(texts.includes(t), `${t} is drawn: ${texts.join(' | ')}`);
    for (const a of labels) {
      for (const b of labels) {
        if (a !== b && a.y === b.y) assert.ok(a.to <= b.from || b.to <= a.from, `'${a.text}' [${a.from}, ${a.to}] overlaps '${b.text}' [${b.from}, ${b.to}]`);
      }
    }
    // the bins as labelled: '< 1e-12' sits left of '1e-12'
    const below = labels.find((l) => l.text === '< 1e-12')!;
    const floor = labels.find((l) => l.text === '1e-12')!;
    assert.ok(below.from < floor.from);
  });
});
