/**
 * The `eval --report` page: the confusion matrix as a picture, per-class precision / recall / F1 bars
 * (per-label recalls for multi-label data), and the worst-classified images as thumbnails embedded in the
 * page (`data:` JPEGs; the page's policy allows those and nothing else from outside).
 */
import type { ErrorRow } from '../output-row.js';
import type { EvalReport, EvalRow } from '../train/eval.js';
import { escapeHtml, facts, note, reportPage, section, table, type ReportEnvironment } from './html.js';
import { PALETTE, ellipsis, label, num } from './svg.js';

/** Images shown as thumbnails (the lowest scores of the true class). */
export const WORST_IMAGES = 24;

const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;

/** The worst-classified rows: wrong first, then by the score of the true class, lowest first. */
export function worstRows(rows: readonly (EvalRow | ErrorRow)[], n = WORST_IMAGES): EvalRow[] {
  return rows
    .filter((r): r is EvalRow => !('error' in r))
    .sort((a, b) => Number(a.correct) - Number(b.correct) || a.score - b.score)
    .slice(0, n);
}

/** The confusion matrix: one cell per (true, predicted), shaded by the row's share, with its count. */
export function confusionSvg(labels: readonly string[], m: readonly (readonly number[])[]): string {
  const k = labels.length;
  const cell = Math.max(8, Math.min(48, Math.floor(560 / Math.max(1, k))));
  const left = 150;
  // room for the column labels, written at 60°
  const top = Math.round(34 + Math.min(18, Math.max(1, ...labels.map((l) => [...l].length))) * 5.6);
  const size = left + k * cell + 10;
  const height = top + k * cell + 30;
  const out = [`<svg class="chart confusion" viewBox="0 0 ${size} ${height}" width="${size}" height="${height}" role="img" aria-label="confusion matrix">`, '<title>confusion matrix (rows: true class, columns: predicted)</title>'];
  out.push(`<text x="${left + (k * cell) / 2}" y="14" text-anchor="middle">predicted</text>`);
  labels.forEach((l, j) => out.push(`<text class="col" x="${num(left + j * cell + cell / 2)}" y="${top - 6}" transform="rotate(-60 ${num(left + j * cell + cell / 2)} ${top - 6})">${escapeHtml(ellipsis(l, 18))}</text>`));
  m.forEach((row, i) => {
    const total = row.reduce((a, v) => a + v, 0);
    out.push(`<text class="row" x="${left - 6}" y="${num(top + i * cell + cell / 2 + 4)}" text-anchor="end">${escapeHtml(ellipsis(labels[i]!, 22))}</text>`);
    row.forEach((v, j) => {
      const share = total > 0 ? v / total : 0;
      const fill = i === j ? `rgba(0,114,178,${num(0.08 + 0.92 * share)})` : `rgba(213,94,0,${num(share > 0 ? 0.12 + 0.88 * share : 0.02)})`;
      out.push(`<rect class="cell" data-true="${escapeHtml(labels[i]!)}" data-predicted="${escapeHtml(labels[j]!)}" data-value="${v}" x="${left + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="${fill}" stroke="#fff"><title>${escapeHtml(`${labels[i]} → ${labels[j]}: ${v}`)}</title></rect>`);
      if (cell >= 22 && v > 0) out.push(`<text x="${num(left + j * cell + cell / 2)}" y="${num(top + i * cell + cell / 2 + 4)}" text-anchor="middle">${v}</text>`);
    });
  });
  out.push(`<text x="12" y="${top + (k * cell) / 2}" transform="rotate(-90 12 ${top + (k * cell) / 2})" text-anchor="middle">true</text>`, '</svg>');
  return out.join('\n');
}

/** Grouped horizontal bars in [0, 1]: one group per row, one bar per measure. */
export function metricBars(measures: readonly string[], rows: readonly { label: string; values: readonly number[] }[], title: string): string {
  const labelW = 170;
  const pw = 480;
  const barH = 7;
  const groupH = measures.length * barH + 6;
  const height = 26 + rows.length * groupH + 30;
  const w = labelW + pw + 60;
  const out = [`<svg class="chart metric-bars" viewBox="0 0 ${w} ${height}" width="${w}" height="${height}" role="img" aria-label="${escapeHtml(title)}">`, `<title>${escapeHtml(title)}</title>`];
  let lx = labelW;
  measures.forEach((m, k) => {
    out.push(`<g class="legend"><rect x="${lx}" y="6" width="12" height="12" fill="${PALETTE[k]}"/><text x="${lx + 16}" y="16">${escapeHtml(m)}</text></g>`);
    lx += 30 + m.length * 7;
  });
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    const x = num(labelW + t * pw);
    out.push(`<g class="xtick" data-value="${t}"><line class="grid" x1="${x}" x2="${x}" y1="26" y2="${height - 30}"/><text x="${x}" y="${height - 14}" text-anchor="middle">${label(t)}</text></g>`);
  }
  rows.forEach((r, i) => {
    const y = 26 + i * groupH;
    out.push(`<g class="group" data-label="${escapeHtml(r.label)}"><text x="${labelW - 6}" y="${num(y + groupH / 2 + 1)}" text-anchor="end">${escapeHtml(ellipsis(r.label, 24))}</text>`);
    r.values.forEach((v, k) => out.push(`<rect class="bar" data-measure="${escapeHtml(measures[k]!)}" data-value="${v}" x="${labelW}" y="${y + k * barH}" width="${num(v * pw)}" height="${barH - 1}" fill="${PALETTE[k]}"><title>${escapeHtml(`${r.label}: ${measures[k]} ${pct(v)}`)}</title></rect>`));
    out.push('</g>');
  });
  out.push('</svg>');
  return out.join('\n');
}

/** Thumbnails of the worst rows (`thumbs`: file → data URI; a file without one is shown by name only). */
function worstSection(worst: readonly EvalRow[], thumbs: ReadonlyMap<string, string>): string {
  const cards = worst.map((r) => {
    const img = thumbs.get(r.file);
    const truth = Array.isArray(r.truth) ? r.truth.join(', ') || '(none)' : (r.truth as string);
    const pred = Array.isArray(r.predicted) ? r.predicted.join(', ') || '(none)' : (r.predicted as string);
    return `<figure class="thumb${r.correct ? '' : ' wrong'}" data-file="${escapeHtml(r.file)}" data-score="${r.score}">${img ? `<img src="${escapeHtml(img)}" alt="${escapeHtml(r.file)}">` : ''}<figcaption>${escapeHtml(ellipsis(r.file, 40))}<br>true ${escapeHtml(truth)} · predicted ${escapeHtml(pred)}<br>score ${r.score.toFixed(3)}</figcaption></figure>`;
  });
  const style = '<style>.thumbs{display:flex;flex-wrap:wrap;gap:10px}.thumb{margin:0;width:150px;font-size:11.5px;overflow-wrap:anywhere}.thumb img{max-width:150px;max-height:120px;display:block;border:2px solid #009E73}.thumb.wrong img{border-color:#D55E00}</style>';
  return `${style}<div class="thumbs">${cards.join('')}</div>`;
}

/** The eval report page (a string of HTML). */
export function evalReportHtml(r: EvalReport, env: ReportEnvironment, thumbs: ReadonlyMap<string, string> = new Map()): string {
  const subject: [string, string][] = [
    ['model', r.model],
    ['data', r.data],
    ['images', `${r.images} (${r.failed} failed)`],
  ];
  const sections: string[] = [];
  if (r.single) {
    const m = r.single;
    sections.push(section('Accuracy', facts([['top-1', pct(m.top1)], ['top-5', pct(m.top5)], ['macro F1', pct(m.macroF1)], ['classes matched by', r.matchedBy]]), 'summary'));
    sections.push(section('Confusion matrix', confusionSvg(r.labels, m.confusion) + note('Rows: the true class; columns: the predicted class; shading: the share of the row.'), 'confusion'));
    sections.push(section('Per class', metricBars(['precision', 'recall', 'F1'], m.perClass.map((c) => ({ label: c.label, values: [c.precision, c.recall, c.f1] })), 'precision, recall and F1 per class') + table(['class', 'precision', 'recall', 'F1', 'images'], m.perClass.map((c) => [c.label, pct(c.precision), pct(c.recall), pct(c.f1), String(c.support)]), [1, 2, 3, 4]), 'per-class'));
  }
  if (r.multi) {
    const m = r.multi;
    sections.push(section('Attribute metrics', facts([['mA', pct(m.mA)], ['instance accuracy', pct(m.instance.accuracy)], ['instance precision', pct(m.instance.precision)], ['instance recall', pct(m.instance.recall)], ['instance F1', pct(m.instance.f1)], ['threshold', String(m.threshold)]]), 'summary'));
    sections.push(section('Per label', metricBars(['positive recall', 'negative recall', 'precision'], m.perLabel.map((l) => ({ label: l.label, values: [l.positiveRecall, l.negativeRecall, l.precision] })), 'per-label recalls and precision') + table(['label', 'mA', 'positive recall', 'negative recall', 'precision', 'positives'], m.perLabel.map((l) => [l.label, pct(l.mA), pct(l.positiveRecall), pct(l.negativeRecall), pct(l.precision), String(l.positives)]), [1, 2, 3, 4, 5]), 'per-label'));
  }
  const worst = worstRows(r.rows);
  sections.push(section(`The ${worst.length} worst-classified images`, worstSection(worst, thumbs), 'worst'));
  const errors = r.rows.filter((x): x is ErrorRow => 'error' in x);
  if (errors.length > 0) sections.push(section(`Images that failed (${errors.length})`, table(['file', 'code', 'message'], errors.map((e) => [e.file, e.error.code, e.error.message])), 'failed'));
  return reportPage(`pplcnet eval: ${r.model}`, subject, env, sections, { inlineImages: true });
}
