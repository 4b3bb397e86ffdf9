/**
 * The page around a report: one self-contained HTML document (inline CSS and SVG, no script, no font, no
 * URL), with a Content-Security-Policy that forbids loading anything, and escaping for every text inserted.
 */

/** Text for HTML content and attribute values: `& < > " '` escaped. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Who made the report, on what, when: the page header. */
export interface ReportEnvironment {
  /** The CPU model as the OS names it. */
  readonly cpu: string;
  /** CPUs available to the process. */
  readonly cores: number;
  /** onnxruntime-node's version. */
  readonly onnxruntime: string;
  /** pplcnet's version. */
  readonly pplcnet: string;
  /** Node.js version. */
  readonly node: string;
  /** When the measurement ended (ISO 8601). */
  readonly date: string;
  /** The command line, as typed (one element per argument), when there was one. */
  readonly commandLine?: readonly string[];
}

/** An argument as a POSIX shell would need it typed. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** A definition list of label → value (both escaped). */
export function facts(items: readonly (readonly [string, string])[]): string {
  return `<dl class="facts">${items.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
}

/** A table: header cells and rows of cells (escaped); `numeric` columns align right. */
export function table(head: readonly string[], rows: readonly (readonly string[])[], numeric: readonly number[] = []): string {
  const cls = (i: number): string => (numeric.includes(i) ? ' class="num"' : '');
  return `<table><thead><tr>${head.map((h, i) => `<th${cls(i)}>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c, i) => `<td${cls(i)}>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

/** A section with its heading; `body` is HTML already escaped. */
export function section(title: string, body: string, id?: string): string {
  return `<section${id ? ` id="${escapeHtml(id)}"` : ''}><h2>${escapeHtml(title)}</h2>${body}</section>`;
}

/** A paragraph of text (escaped). */
export function note(text: string): string {
  return `<p class="note">${escapeHtml(text)}</p>`;
}

const STYLE = `
:root{color-scheme:light}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;margin:24px auto;max-width:980px;padding:0 16px;color:#1b1f24;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d8dee4;padding-bottom:4px}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0}.facts dt{color:#57606a}.facts dd{margin:0;overflow-wrap:anywhere}
code,.cmd{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.cmd{background:#f6f8fa;border:1px solid #d8dee4;border-radius:4px;padding:6px 8px;overflow-wrap:anywhere;white-space:pre-wrap}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border-bottom:1px solid #e5e9ee;padding:3px 10px;text-align:left;vertical-align:top}
td{overflow-wrap:anywhere;max-width:420px}.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#57606a;font-size:13px}
svg{display:block;max-width:100%;height:auto;margin:8px 0}
svg text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;fill:#1b1f24}
svg .axis{stroke:#8c959f;stroke-width:1}svg .grid{stroke:#eaeef2;stroke-width:1}
`;

/**
 * The whole document: title, the environment header, then the sections (HTML already escaped). `inlineImages`
 * lets the page show `data:` images (thumbnails embedded in it), and nothing else from outside.
 */
export function reportPage(title: string, subject: readonly (readonly [string, string])[], env: ReportEnvironment, sections: readonly string[], options: { inlineImages?: boolean } = {}): string {
  const header = facts([
    ...subject,
    ['machine', `${env.cpu}, ${env.cores} core${env.cores === 1 ? '' : 's'}`],
    ['onnxruntime-node', env.onnxruntime],
    ['pplcnet', `${env.pplcnet} on Node.js ${env.node}`],
    ['date', env.date],
  ]);
  const cmd = env.commandLine?.length ? `<div class="cmd">${escapeHtml(env.commandLine.map(shellQuote).join(' '))}</div>` : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'${options.inlineImages ? '; img-src data:' : ''}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${escapeHtml(title)}</h1>${header}${cmd}</header>
${sections.join('\n')}
</body>
</html>
`;
}
