/**
 * Hand-written inline SVG charts for the reports: a line chart over categories, stacked horizontal bars and
 * a histogram. Pure functions from numbers to markup; every text goes through `escapeHtml`. Each mark
 * carries its value (`data-value`) beside its geometry, and each axis tick its value, so what is drawn can be
 * read back and checked.
 */
import { escapeHtml } from './html.js';

/** A coordinate with at most two decimals. */
export function num(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** A value for a label: 3 significant digits, no exponent between 0.01 and 1e6. */
export function label(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 0.01) return v.toExponential(1).replace('e+', 'e');
  if (a >= 100) return String(Math.round(v));
  return String(Number(v.toPrecision(3)));
}

/** Round tick values from 0 covering `max`: about `count` steps of 1, 2 or 5 × 10^k. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const n = Math.ceil(max / step - 1e-9);
  return Array.from({ length: n + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

/** A qualitative palette (colour-blind friendly: Okabe–Ito). */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000'];

export interface Series {
  readonly name: string;
  /** [x category index, y] points. */
  readonly points: readonly (readonly [number, number])[];
}

export interface ReferenceLine {
  readonly name: string;
  readonly value: number;
  /** The colour of the series it belongs to. */
  readonly series?: number;
}

export interface LineChartSpec {
  /** Text for screen readers and the tooltip. */
  readonly title: string;
  /** The x categories, in order (e.g. batch sizes). */
  readonly categories: readonly string[];
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Dashed horizontal lines (e.g. a ceiling). */
  readonly references?: readonly ReferenceLine[];
}

const W = 720;
const PAD = { left: 64, right: 170, top: 16, bottom: 44 };

/**
 * A line chart: x is categorical (evenly spaced), y is linear from 0. One polyline and its points per
 * series, dashed reference lines, a legend on the right.
 */
export function lineChart(spec: LineChartSpec, height = 300): string {
  const pw = W - PAD.left - PAD.right;
  const ph = height - PAD.top - PAD.bottom;
  const ys = [...spec.series.flatMap((s) => s.points.map((p) => p[1])), ...(spec.references ?? []).map((r) => r.value)].filter(Number.isFinite);
  const ticks = niceTicks(Math.max(0, ...ys));
  const top = ticks[ticks.length - 1]!;
  const n = spec.categories.length;
  const x = (i: number): number => PAD.left + (n <= 1 ? pw / 2 : (i / (n - 1)) * pw);
  const y = (v: number): number => PAD.top + ph - (v / top) * ph;
  const out: string[] = [];
  out.push(`<svg class="chart line-chart" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-label="${escapeHtml(spec.title)}">`);
  out.push(`<title>${escapeHtml(spec.title)}</title>`);
  for (const t of ticks) {
    out.push(`<g class="ytick" data-value="${t}"><line class="grid" x1="${PAD.left}" x2="${PAD.left + pw}" y1="${num(y(t))}" y2="${num(y(t))}"/><text x="${PAD.left - 6}" y="${num(y(t) + 4)}" text-anchor="end">${escapeHtml(label(t))}</text></g>`);
  }
  spec.categories.forEach((c, i) => {
    out.push(`<g class="xtick"><line class="axis" x1="${num(x(i))}" x2="${num(x(i))}" y1="${PAD.top + ph}" y2="${PAD.top + ph + 4}"/><text x="${num(x(i))}" y="${PAD.top + ph + 17}" text-anchor="middle">${escapeHtml(c)}</text></g>`);
  });
  out.push(`<line class="axis" x1="${PAD.left}" x2="${PAD.left + pw}" y1="${PAD.top + ph}" y2="${PAD.top + ph}"/><line class="axis" x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${PAD.top + ph}"/>`);
  out.push(`<text x="${PAD.left + pw / 2}" y="${height - 6}" text-anchor="middle">${escapeHtml(spec.xLabel)}</text>`);
  out.push(`<text transform="translate(14 ${PAD.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(spec.yLabel)}</text>`);
  let legend = PAD.top + 8;
  spec.series.forEach((s, k) => {
    const colour = PALETTE[k % PALETTE.length]!;
    const pts = s.points.map(([i, v]) => `${num(x(i))},${num(y(v))}`).join(' ');
    out.push(`<g class="series" data-name="${escapeHtml(s.name)}">`);
    if (s.points.length > 1) out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts}"/>`);
    for (const [i, v] of s.points) {
      out.push(`<circle class="point" cx="${num(x(i))}" cy="${num(y(v))}" r="3.5" fill="${colour}" data-value="${v}"><title>${escapeHtml(`${s.name}, ${spec.categories[i] ?? ''}: ${label(v)}`)}</title></circle>`);
    }
    out.push('</g>');
    out.push(`<g class="legend"><line x1="${W - PAD.right + 12}" x2="${W - PAD.right + 32}" y1="${legend}" y2="${legend}" stroke="${colour}" stroke-width="2"/><text x="${W - PAD.right + 38}" y="${legend + 4}">${escapeHtml(s.name)}</text></g>`);
    legend += 18;
  });
  for (const r of spec.references ?? []) {
    const colour = PALETTE[(r.series ?? 0) % PALETTE.length]!;
    const yy = num(y(r.value));
    out.push(`<line class="reference" data-name="${escapeHtml(r.name)}" data-value="${r.value}" x1="${PAD.left}" x2="${PAD.left + pw}" y1="${yy}" y2="${yy}" stroke="${colour}" stroke-width="1.5" stroke-dasharray="6 4"><title>${escapeHtml(`${r.name}: ${label(r.value)}`)}</title></line>`);
    out.push(`<g class="legend"><line x1="${W - PAD.right + 12}" x2="${W - PAD.right + 32}" y1="${legend}" y2="${legend}" stroke="${colour}" stroke-width="1.5" stroke-dasharray="6 4"/><text x="${W - PAD.right + 38}" y="${legend + 4}">${escapeHtml(r.name)}</text></g>`);
    legend += 18;
  }
  out.push('</svg>');
  return out.join('\n');
}

export interface StackedRow {
  readonly label: string;
  /** One value per stage, ≥ 0. */
  readonly values: readonly number[];
}

/**
 * Horizontal stacked bars, one per row, all on one scale (the longest row fills the width), a legend of the
 * stages on top. Each segment is a rect with its value; `unit` follows values in tooltips.
 */
export function stackedBars(stages: readonly string[], rows: readonly StackedRow[], unit: string, title: string): string {
  const labelW = 190;
  const pw = W - labelW - 80;
  const barH = rows.length > 60 ? 6 : 14;
  const gap = rows.length > 60 ? 2 : 4;
  const legendH = 26;
  const axisH = 36;
  const height = legendH + rows.length * (barH + gap) + axisH;
  const max = Math.max(0, ...rows.map((r) => r.values.reduce((a, b) => a + b, 0)));
  const ticks = niceTicks(max, 6);
  const top = ticks[ticks.length - 1]!;
  const scale = top > 0 ? pw / top : 0;
  const out: string[] = [];
  out.push(`<svg class="chart stacked-bars" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-label="${escapeHtml(title)}" data-scale="${scale}">`);
  out.push(`<title>${escapeHtml(title)}</title>`);
  let lx = labelW;
  stages.forEach((s, k) => {
    out.push(`<g class="legend"><rect x="${lx}" y="6" width="12" height="12" fill="${PALETTE[k % PALETTE.length]}"/><text x="${lx + 16}" y="16">${escapeHtml(s)}</text></g>`);
    lx += 24 + s.length * 7;
  });
  const y0 = legendH;
  for (const t of ticks) {
    const xx = num(labelW + t * scale);
    out.push(`<g class="xtick" data-value="${t}"><line class="grid" x1="${xx}" x2="${xx}" y1="${y0}" y2="${height - axisH}"/><text x="${xx}" y="${height - axisH + 15}" text-anchor="middle">${escapeHtml(label(t))}</text></g>`);
  }
  rows.forEach((r, i) => {
    const yy = y0 + i * (barH + gap);
    const total = r.values.reduce((a, b) => a + b, 0);
    out.push(`<g class="bar" data-label="${escapeHtml(r.label)}" data-total="${total}">`);
    if (barH >= 10) out.push(`<text x="${labelW - 6}" y="${num(yy + barH - 3)}" text-anchor="end">${escapeHtml(ellipsis(r.label, 30))}</text>`);
    let x = labelW;
    r.values.forEach((v, k) => {
      const w = v * scale;
      out.push(`<rect class="segment" data-stage="${escapeHtml(stages[k] ?? '')}" data-value="${v}" x="${num(x)}" y="${yy}" width="${num(w)}" height="${barH}" fill="${PALETTE[k % PALETTE.length]}"><title>${escapeHtml(`${r.label}: ${stages[k] ?? ''} ${label(v)} ${unit}`)}</title></rect>`);
      x += w;
    });
    out.push('</g>');
  });
  out.push(`<line class="axis" x1="${labelW}" x2="${labelW}" y1="${y0}" y2="${height - axisH}"/>`);
  out.push(`<text x="${labelW + pw / 2}" y="${height - 3}" text-anchor="middle">${escapeHtml(unit)}</text>`);
  out.push('</svg>');
  return out.join('\n');
}

/** The end of a long text, with an ellipsis in front (a file's name matters more than its folder). */
export function ellipsis(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `…${chars.slice(chars.length - max + 1).join('')}`;
}

export interface HistogramBin {
  /** Shown under the bar: centred, or at its left edge when `edge` (a bin edge's value). */
  readonly label: string;
  readonly edge?: boolean;
  readonly count: number;
  /** For the tooltip: what the bin holds. */
  readonly range: string;
}

/** An x-axis label: its text, anchor point and how it hangs from it. */
interface AxisLabel {
  readonly text: string;
  readonly x: number;
  readonly anchor: 'middle' | 'end';
}

/** A generous width of one character of the charts' 11 px text (digits and signs run 5.5 to 6.5 px). */
const CHAR_WIDTH = 7;

/**
 * Labels in rows so that none overlaps another: each in the first of `rows` rows where it clears the last
 * label placed there by 4 px; one that fits in no row is left out (its bar keeps its tooltip).
 */
export function placeLabels(labels: readonly AxisLabel[], rows: number): (AxisLabel & { row: number })[] {
  const ends = Array<number>(rows).fill(-Infinity);
  const placed: (AxisLabel & { row: number })[] = [];
  for (const l of labels) {
    const w = l.text.length * CHAR_WIDTH;
    const start = l.anchor === 'end' ? l.x - w : l.x - w / 2;
    const row = ends.findIndex((e) => start >= e + 4);
    if (row < 0) continue;
    ends[row] = start + w;
    placed.push({ ...l, row });
  }
  return placed;
}

/**
 * Vertical bars of counts, evenly spaced bins (log-spaced values give even bins), y linear from 0. The labels
 * under the bars take a second row where they would overlap (`0` and `< 1e-12` beside the first edge's).
 */
export function histogramChart(bins: readonly HistogramBin[], xLabel: string, title: string, endLabel = '', height = 280): string {
  const left = 56;
  const right = 16;
  const topPad = 18;
  const bottom = 48;
  const pw = W - left - right;
  const ph = height - topPad - bottom;
  const ticks = niceTicks(Math.max(1, ...bins.map((b) => b.count)));
  const top = ticks[ticks.length - 1]!;
  const bw = bins.length ? pw / bins.length : pw;
  const y = (v: number): number => topPad + ph - (v / top) * ph;
  const out: string[] = [];
  out.push(`<svg class="chart histogram" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-label="${escapeHtml(title)}">`);
  out.push(`<title>${escapeHtml(title)}</title>`);
  for (const t of ticks) {
    out.push(`<g class="ytick" data-value="${t}"><line class="grid" x1="${left}" x2="${left + pw}" y1="${num(y(t))}" y2="${num(y(t))}"/><text x="${left - 6}" y="${num(y(t) + 4)}" text-anchor="end">${escapeHtml(label(t))}</text></g>`);
  }
  const labels: AxisLabel[] = [];
  bins.forEach((b, i) => {
    const x = left + i * bw;
    const h = (b.count / top) * ph;
    out.push(`<rect class="bin" data-count="${b.count}" x="${num(x + 1)}" y="${num(topPad + ph - h)}" width="${num(Math.max(1, bw - 2))}" height="${num(h)}" fill="${PALETTE[0]}"><title>${escapeHtml(`${b.range}: ${b.count}`)}</title></rect>`);
    if (b.count > 0) out.push(`<text x="${num(x + bw / 2)}" y="${num(topPad + ph - h - 3)}" text-anchor="middle">${b.count}</text>`);
    if (b.label) labels.push({ text: b.label, x: b.edge ? x : x + bw / 2, anchor: 'middle' });
  });
  if (endLabel) labels.push({ text: endLabel, x: left + pw, anchor: 'end' });
  for (const l of placeLabels(labels, 2)) {
    out.push(`<text class="xlabel" x="${num(l.x)}" y="${topPad + ph + 15 + l.row * 13}" text-anchor="${l.anchor}">${escapeHtml(l.text)}</text>`);
  }
  out.push(`<line class="axis" x1="${left}" x2="${left + pw}" y1="${topPad + ph}" y2="${topPad + ph}"/><line class="axis" x1="${left}" x2="${left}" y1="${topPad}" y2="${topPad + ph}"/>`);
  out.push(`<text x="${left + pw / 2}" y="${height - 8}" text-anchor="middle">${escapeHtml(xLabel)}</text>`);
  out.push('</svg>');
  return out.join('\n');
}
