/** `compare --report`: the distribution of |Δprob| and the inputs where the two models differ most. */
import type { CompareInputDiff, CompareReport } from '../compare.js';
import type { LogHistogram } from '../util/histogram.js';
import { type ReportEnvironment, note, reportPage, section, table } from './html.js';
import { type HistogramBin, histogramChart } from './svg.js';

/** Rows in the table of worst inputs. */
export const WORST_ROWS = 25;

const e = (v: number): string => v.toExponential(2);
const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;

/** A power of ten as `1e-6`; other edges as `3.2e-6`. */
function edgeLabel(v: number): string {
  const l = Math.log10(v);
  if (Math.abs(l) < 1e-9) return '1';
  return Math.abs(l - Math.round(l)) < 1e-9 ? `1e${Math.round(l)}` : v.toPrecision(2).replace(/e\+?/, 'e');
}

/** The histogram's bins as drawn: `0` and `< floor` first when they hold values, decade edges labelled. */
export function histogramBins(h: LogHistogram): HistogramBin[] {
  const bins: HistogramBin[] = [];
  if (h.zeros > 0) bins.push({ label: '0', count: h.zeros, range: 'exactly 0' });
  if (h.below > 0) bins.push({ label: `< ${edgeLabel(h.edges[0]!)}`, count: h.below, range: `above 0, under ${edgeLabel(h.edges[0]!)}` });
  h.counts.forEach((count, i) => {
    const lo = h.edges[i]!;
    const hi = h.edges[i + 1]!;
    const decade = Math.abs(Math.log10(lo) - Math.round(Math.log10(lo))) < 1e-9;
    bins.push({ label: decade ? edgeLabel(lo) : '', edge: true, count, range: `${edgeLabel(lo)} to ${edgeLabel(hi)}` });
  });
  return bins;
}

/** The `n` inputs with the largest |Δprob|, largest first (ties in input order). */
export function worstInputs(perInput: readonly CompareInputDiff[], n = WORST_ROWS): CompareInputDiff[] {
  return perInput
    .map((d, i) => [d, i] as const)
    .sort((a, b) => b[0].maxAbs - a[0].maxAbs || a[1] - b[1])
    .slice(0, n)
    .map(([d]) => d);
}

const top1 = (t: CompareInputDiff['top1A']): string => `${t.label ?? t.classId} (${t.classId}) ${t.score.toFixed(4)}`;

/** The compare report page (a string of HTML). */
export function compareReportHtml(report: CompareReport, env: ReportEnvironment): string {
  const [a, b] = report.models;
  const subject: [string, string][] = [
    ['model A', a],
    ['model B', b],
    ['inputs', `${report.inputs} ${report.inputKind === 'images' ? `image${report.inputs === 1 ? '' : 's'}, through A's preprocessing` : `random input${report.inputs === 1 ? '' : 's'}`}`],
    ...(report.failed.length ? [['failed', `${report.failed.length} image${report.failed.length === 1 ? '' : 's'} could not be read (not in the figures)`] as [string, string]] : []),
    ...(report.skipped.length ? [['skipped', `${report.skipped.length} path${report.skipped.length === 1 ? '' : 's'}`] as [string, string]] : []),
  ];
  const summary = table(
    ['', 'max |A−B|', 'mean |A−B|'],
    [['probabilities', e(report.probs.maxAbs), e(report.probs.meanAbs)], ...(report.logits ? [['logits', e(report.logits.maxAbs), e(report.logits.meanAbs)]] : [])],
    [1, 2],
  );
  const agreement = note(`top-1 agreement ${pct(report.top1Agreement)}, top-5 (same order) ${pct(report.top5Agreement)}; largest difference on ${report.worstInput}.`);
  const h = report.histogram;
  const hist = h.total
    ? histogramChart(histogramBins(h), '|A − B| of each probability (log-spaced bins, two per decade)', 'histogram of |Δprob| over every input and class', h.edges.length ? edgeLabel(h.edges[h.edges.length - 1]!) : '') +
      note(`${h.total} values (${report.inputs} inputs × their classes)${h.zeros ? `, ${h.zeros} exactly equal` : ''}.`)
    : note('no values');
  const worst = worstInputs(report.perInput);
  const rows = worst.map((d) => [d.name, e(d.maxAbs), e(d.meanAbs), top1(d.top1A), top1(d.top1B), d.top1A.classId === d.top1B.classId ? 'yes' : 'no']);
  return reportPage(`pplcnet compare: ${a} vs ${b}`, subject, env, [
    section('Differences', summary + agreement, 'summary'),
    section('Distribution of |Δprob|', hist, 'histogram'),
    section(
      worst.length < report.perInput.length ? `The ${worst.length} inputs that differ most (of ${report.perInput.length})` : 'Every input, largest difference first',
      table(['input', 'max |Δprob|', 'mean |Δprob|', 'top-1 A', 'top-1 B', 'same'], rows, [1, 2]),
      'worst',
    ),
    ...(report.failed.length || report.skipped.length
      ? [
          section(
            'Inputs left out',
            table(['input', 'why'], [...report.failed.map((f) => [f.file, f.message]), ...report.skipped.map((x) => [x.path, `skipped: ${x.reason}`])].slice(0, WORST_ROWS * 2)),
            'failed',
          ),
        ]
      : []),
  ]);
}
