/** `bench --report`: the (threads, batch) measurements and the folder run as one HTML page. */
import type { FolderBenchResult, ImageTime, ModelBenchReport } from '../bench.js';
import type { BenchResult } from '../runtime/bench.js';
import { type ReportEnvironment, escapeHtml, note, reportPage, section, table } from './html.js';
import { type ReferenceLine, type Series, type StackedRow, label, lineChart, stackedBars } from './svg.js';

/** At most this many bars per folder chart; more images are shown as groups. */
export const MAX_BARS = 200;

const STAGES = ['decode', 'resize + crop + normalize', 'queue wait', 'inference (batch ÷ size)'] as const;
const stageValues = (t: Omit<ImageTime, 'file'>): number[] => [t.decodeMs, t.preprocessMs, t.queueMs, t.inferenceMs];

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(v < 10 ? 2 : 1) : '-');
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

const threadsName = (t: number): string => (t === 0 ? 'threads: auto' : plural(t, 'thread'));

/** The images/s a model could reach at a GFLOP/s peak: peak ÷ (2 × multiply-adds per image). */
export function peakImagesPerSec(peakGflops: number, multiplyAdds: number): number {
  return (peakGflops * 1e9) / (2 * multiplyAdds);
}

/** One bar per image in input order, or, over `max` images, groups of images of similar total time. */
export function folderRows(perImage: readonly ImageTime[], max = MAX_BARS): { rows: StackedRow[]; grouped: boolean } {
  if (perImage.length <= max) return { rows: perImage.map((p) => ({ label: p.file, values: stageValues(p) })), grouped: false };
  // sorted by total time, cut into `max` groups of (nearly) equal size; each bar is its group's mean
  const sorted = [...perImage].sort((a, b) => stageValues(a).reduce((x, y) => x + y) - stageValues(b).reduce((x, y) => x + y));
  const rows: StackedRow[] = [];
  for (let g = 0; g < max; g++) {
    const from = Math.floor((g * sorted.length) / max);
    const to = Math.floor(((g + 1) * sorted.length) / max);
    const group = sorted.slice(from, to);
    const mean = [0, 1, 2, 3].map((k) => group.reduce((s, p) => s + stageValues(p)[k]!, 0) / group.length);
    rows.push({ label: `images ${from + 1}–${to} of ${sorted.length} by time`, values: mean });
  }
  return { rows, grouped: true };
}

function resultsSection(r: ModelBenchReport): string {
  if (r.results.length === 0) return '';
  const batches = [...new Set(r.results.map((x) => x.batch))].sort((a, b) => a - b);
  const threads = [...new Set(r.results.map((x) => x.threads))];
  const categories = batches.map(String);
  const series = (value: (x: BenchResult) => number): Series[] =>
    threads.map((t) => ({
      name: threadsName(t),
      points: r.results.filter((x) => x.threads === t).map((x) => [batches.indexOf(x.batch), value(x)] as const),
    }));
  const references: ReferenceLine[] = [];
  if (r.multiplyAdds) {
    threads.forEach((t, k) => {
      const peak = r.peak.get(t);
      if (peak) references.push({ name: `peak ceiling, ${threadsName(t)}`, value: peakImagesPerSec(peak, r.multiplyAdds!), series: k });
    });
  }
  const peakNote =
    references.length > 0
      ? `Dashed: the images/s ceiling the measured fp32 matmul peak implies (peak GFLOP/s ÷ ${((2 * r.multiplyAdds!) / 1e9).toFixed(4)} GFLOP per image): ${references.map((x) => `${label(x.value)} img/s (${x.name.replace('peak ceiling, ', '')})`).join(', ')}.`
      : r.multiplyAdds
        ? 'No peak line: the matmul peak was not measured (--no-peak).'
        : "No peak line: the model's multiply-adds are unknown (its metadata records no architecture).";
  const rows = r.results.map((x) => [
    String(x.threads),
    String(x.batch),
    x.createMs.toFixed(1),
    x.p50Ms.toFixed(2),
    x.p90Ms.toFixed(2),
    x.imagesPerSec.toFixed(1),
    x.gflops !== undefined ? x.gflops.toFixed(1) : '-',
    x.peakRatio !== undefined ? `${(x.peakRatio * 100).toFixed(0)}%` : '-',
    String(x.runs),
  ]);
  return section(
    'Latency and throughput',
    lineChart({ title: 'latency p50 (ms) against batch size', categories, xLabel: 'batch size', yLabel: 'latency p50 (ms)', series: series((x) => x.p50Ms) }) +
      lineChart({ title: 'images per second against batch size', categories, xLabel: 'batch size', yLabel: 'images/s (at p50)', series: series((x) => x.imagesPerSec), references }) +
      note(peakNote) +
      table(['threads', 'batch', 'create ms', 'p50 ms', 'p90 ms', 'img/s', 'GFLOP/s', 'of peak', 'runs'], rows, [0, 1, 2, 3, 4, 5, 6, 7, 8]),
    'latency',
  );
}

function folderSection(f: FolderBenchResult): string {
  const s = f.stages;
  const stats = [
    [STAGES[0], s.decode],
    [STAGES[1], s.preprocess],
    [STAGES[2], s.queue],
    [STAGES[3], s.inference],
  ] as const;
  const { rows, grouped } = folderRows(f.perImage);
  const totals = stackedBars(STAGES, [{ label: 'all images', values: [s.decode.total, s.preprocess.total, s.queue.total, s.inference.total] }], 'ms', 'time summed over every image, by stage');
  const perImage = rows.length
    ? stackedBars(STAGES, rows, 'ms', grouped ? `mean time per image, ${rows.length} groups of similar total time` : 'time per image, by stage')
    : '';
  const summary = `${plural(f.images, 'image')} in ${(f.wallMs / 1000).toFixed(2)} s: ${f.imagesPerSec.toFixed(1)} images/s. ${f.plan.reason}.${f.failed.length ? ` ${plural(f.failed.length, 'image')} failed (not counted).` : ''}${f.skipped.length ? ` ${f.skipped.length} path(s) skipped.` : ''}`;
  const sampled = grouped
    ? note(`${f.perImage.length} images are shown as ${rows.length} bars: the images sorted by total time and cut into ${rows.length} groups of equal count, each bar the group's mean.`)
    : '';
  const failures = f.failed.length ? table(['failed image', 'error'], f.failed.slice(0, 50).map((x) => [x.file, x.message])) : '';
  return section(
    'Folder run',
    note(summary) +
      table(
        ['stage', 'mean ms', 'p50 ms', 'p95 ms', 'total ms'],
        stats.map(([name, st]) => [name, ms(st.mean), ms(st.p50), ms(st.p95), ms(st.total)]),
        [1, 2, 3, 4],
      ) +
      note('Decode and resize are each image\'s own work; queue wait is its wait for a preprocessing worker; inference is its batch\'s onnxruntime run divided by the batch size. Stages overlap in time (workers prepare while onnxruntime runs), so their sum exceeds the wall time on several cores.') +
      totals +
      sampled +
      perImage +
      failures,
    'folder',
  );
}

/** The bench report page (a string of HTML). */
export function benchReportHtml(report: ModelBenchReport, env: ReportEnvironment): string {
  const subject: [string, string][] = [
    ['model', report.name],
    ['input', `${report.inputSize.join(' × ')}${report.multiplyAdds ? `, ${(report.multiplyAdds / 1e6).toFixed(1)}M multiply-adds per image` : ''}`],
  ];
  for (const [t, g] of report.peak) subject.push([`matmul peak, ${threadsName(t)}`, `${g.toFixed(1)} GFLOP/s`]);
  const sections = [resultsSection(report), report.folder ? folderSection(report.folder) : ''].filter(Boolean);
  return reportPage(`pplcnet bench: ${report.name}`, subject, env, sections.length ? sections : [section('Results', `<p>${escapeHtml('nothing was measured')}</p>`)]);
}
