/** The HTML of the page `pplcnet export-web` writes: a drop zone, results, and the site's config inline. */

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe inside a `<script>` element (no `</script>` or `<!--` can close it). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export interface PageHtmlOptions {
  readonly title: string;
  /** The page's config (see SiteConfig in src/web/page.ts). */
  readonly config: unknown;
  /** Where `import 'onnxruntime-web'` resolves, relative to the page. */
  readonly ortModule: string;
  /** The bundled page script, relative to the page. */
  readonly script: string;
}

export function pageHtml(o: PageHtmlOptions): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(o.title)} · pplcnet</title>
<link rel="icon" href="data:,">
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 52rem; padding: 1rem; color: #222; }
  h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
  #status { color: #555; margin-bottom: 1rem; min-height: 1.4em; }
  #drop { border: 2px dashed #999; border-radius: 8px; padding: 2rem; text-align: center; cursor: pointer; color: #555; }
  #drop.over { border-color: #2a6; background: #f0fff4; }
  .card { display: flex; gap: 1rem; border-bottom: 1px solid #eee; padding: .8rem 0; }
  .card img { width: 160px; max-height: 160px; object-fit: contain; background: #f4f4f4; }
  .body { flex: 1; min-width: 0; }
  .name { font-weight: 600; margin-bottom: .3rem; overflow-wrap: anywhere; }
  .row { display: flex; align-items: center; gap: .5rem; margin: .15rem 0; }
  .label { width: 14rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .bar { flex: 1; height: .8rem; background: #eee; border-radius: 3px; overflow: hidden; }
  .bar span { display: block; height: 100%; background: #2a6; }
  .score { width: 4rem; text-align: right; font-variant-numeric: tabular-nums; }
  .time { color: #777; font-size: .85rem; margin-top: .3rem; }
  .error { color: #b00; }
  footer { margin-top: 1.5rem; color: #777; font-size: .85rem; }
  footer button { font: inherit; }
</style>
<script type="application/json" id="pplcnet-config">${scriptJson(o.config)}</script>
<script type="importmap">${scriptJson({ imports: { 'onnxruntime-web': o.ortModule } })}</script>
<script type="module" src="${escapeHtml(o.script)}"></script>
</head>
<body>
<h1>${escapeHtml(o.title)}</h1>
<div id="status">loading the model…</div>
<div id="drop">Drop images here, or click to pick them<input id="picker" type="file" accept="image/*" multiple hidden></div>
<div id="results"></div>
<footer>The model and the runtime are kept in this browser's cache, so the next visit downloads neither.
<button id="clear-cache" type="button">Forget cached files</button> (or open the page with <code>?clear-cache</code>)</footer>
</body>
</html>
`;
}
