/**
 * The one text-table printer of the CLI: aligned columns separated by a gap. A left-aligned last column is
 * not padded (no trailing spaces). @internal
 */

export interface Column {
  /** ['left'] */
  readonly align?: 'left' | 'right';
  /** Minimum width; with `formatRow`, the width. [0] */
  readonly width?: number;
}

export interface TableLayout {
  /** Per column; missing columns are left-aligned. */
  readonly columns?: readonly Column[];
  /** Between columns. ['  '] */
  readonly gap?: string;
  /** Before each row. [''] */
  readonly indent?: string;
}

type Cell = string | number;

/** One row at the columns' widths (for tables printed a row at a time). */
export function formatRow(cells: readonly Cell[], layout: TableLayout = {}, widths: readonly number[] = (layout.columns ?? []).map((c) => c.width ?? 0)): string {
  const { columns = [], gap = '  ', indent = '' } = layout;
  const text = cells.map((c, i) => {
    const s = String(c);
    const w = widths[i] ?? 0;
    if (columns[i]?.align === 'right') return s.padStart(w);
    return i === cells.length - 1 ? s : s.padEnd(w);
  });
  return `${indent}${text.join(gap)}\n`;
}

/** Every row, each column as wide as its widest cell (and at least its `width`). */
export function formatTable(rows: readonly (readonly Cell[])[], layout: TableLayout = {}): string {
  const widths: number[] = (layout.columns ?? []).map((c) => c.width ?? 0);
  for (const row of rows) {
    row.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, String(c).length);
    });
  }
  return rows.map((r) => formatRow(r, layout, widths)).join('');
}
