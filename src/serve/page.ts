/**
 * The page served at `/`: drop or pick images, see each thumbnail with its top-k classes as bars, the time and
 * where it ran; pick the model, and whether it runs on the server (`POST /v1/models/{name}/classify`) or in
 * this browser. Plain HTML, CSS and JavaScript in one string (it ships inside the compiled library, no build
 * step).
 *
 * "This browser" loads the browser bundle `pplcnet export-web` writes as `app.js` (served at `/web/app.js`)
 * as that site's page loads it: the site's config in `#pplcnet-config` (here the model's bytes, fetched with
 * the API key, as a blob: URL), an import map for onnxruntime-web (served at `/web/ort/`), and the elements
 * its script draws into, kept hidden in `#web-host`. The script exposes its classifier as `window.pplcnet`;
 * importing it again (another query string) loads another model.
 */

import { imageHeaderSize } from '../index.js';

export interface ServePageOptions {
  /** Offer "Run on: this browser". [true] */
  browser?: boolean;
  /** onnxruntime-web's files, relative to the page (see BrowserAssets.ort). */
  ort?: { readonly module: string; readonly mjs: string; readonly wasm: string };
  /** The .wasm's sha256 (hex): the page keeps it in the browser's Cache API under it. */
  wasmSha256?: string;
}

/** JSON safe inside a `<script>` element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function servePageHtml(options: ServePageOptions = {}): string {
  const browser = options.browser !== false && options.ort !== undefined;
  const ort = options.ort;
  const head = browser ? `<script type="importmap">${scriptJson({ imports: { 'onnxruntime-web': `./${ort!.module}` } })}</script>\n` : '';
  const sw = browser
    ? `<fieldset id="run" class="switch"><legend>Run on:</legend>
    <label><input type="radio" name="run" value="server" checked><span>server</span></label>
    <label><input type="radio" name="run" value="browser"><span>this browser</span></label>
  </fieldset>`
    : '';
  const host = browser
    ? `<div id="web-host" hidden><script type="application/json" id="pplcnet-config">{}</script><div id="status"></div><div id="drop"></div><input id="picker" type="file"><div id="results"></div></div>\n`
    : '';
  const config = scriptJson({ browser, ort: browser ? { mjs: ort!.mjs, wasm: ort!.wasm } : null, sha256: options.wasmSha256 ? { wasm: options.wasmSha256 } : undefined });
  return PAGE.replace('<!--HEAD-->', () => head)
    .replace('<!--SWITCH-->', () => sw)
    .replace('<!--HOST-->', () => host)
    .replace('__CONFIG__', () => config)
    .replace('/*__HEADER_SIZE__*/', () => `const imageHeaderSize = ${imageHeaderSize.toString()};`);
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pplcnet</title>
<link rel="icon" href="data:,">
<!--HEAD--><style>
  :root { color-scheme: light dark; --accent: #2f6fdf; --muted: #7a7a7a; --line: rgba(127,127,127,.3); }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
  header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding: .75rem 1rem; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 1.1rem; margin: 0; flex: 1 1 auto; }
  label.inline { display: flex; gap: .4rem; align-items: center; font-size: .9rem; }
  select, input[type=number], input[type=password] { font: inherit; padding: .25rem .4rem; max-width: 100%; }
  select { min-width: 0; }
  header label.inline:has(select) { flex: 1 1 16rem; min-width: 0; }
  header label.inline select { flex: 1 1 auto; width: 100%; }
  input[type=number] { width: 4rem; }
  .switch { display: flex; align-items: center; gap: 0; border: 0; padding: 0; margin: 0; font-size: .9rem; }
  .switch legend { float: left; margin-right: .4rem; padding: 0; }
  .switch label { cursor: pointer; }
  .switch input { position: absolute; opacity: 0; width: 1px; height: 1px; }
  .switch span { display: inline-block; padding: .2rem .6rem; border: 1px solid var(--line); }
  .switch label:first-of-type span { border-radius: .4rem 0 0 .4rem; }
  .switch label:last-of-type span { border-radius: 0 .4rem .4rem 0; border-left: 0; }
  .switch input:checked + span { background: var(--accent); border-color: var(--accent); color: #fff; }
  .switch input:focus-visible + span { outline: 2px solid var(--accent); outline-offset: 2px; }
  main { padding: 1rem; max-width: 60rem; margin: 0 auto; }
  #dropzone { display: block; border: 2px dashed var(--line); border-radius: .75rem; padding: 1.5rem 1rem; text-align: center; cursor: pointer; }
  #dropzone.over { border-color: var(--accent); background: rgba(47,111,223,.08); }
  #dropzone input { display: block; margin: .75rem auto 0; max-width: 100%; }
  #key-box { display: none; margin: 1rem 0; gap: .5rem; flex-wrap: wrap; align-items: center; }
  #key-box.shown { display: flex; }
  #message { color: var(--muted); font-size: .9rem; min-height: 1.4em; margin: .5rem 0; overflow-wrap: anywhere; }
  #list { list-style: none; padding: 0; margin: 0; display: grid; gap: .75rem; }
  .result { display: grid; grid-template-columns: 96px 1fr; gap: .75rem; align-items: start; border: 1px solid var(--line); border-radius: .5rem; padding: .6rem; }
  .result img { width: 96px; max-height: 96px; object-fit: contain; background: rgba(127,127,127,.12); border-radius: .25rem; }
  .file { font-weight: 600; overflow-wrap: anywhere; margin-bottom: .3rem; }
  .rows { display: grid; gap: .3rem; }
  .row { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: .1rem .5rem; font-size: .9rem; }
  .label { overflow-wrap: anywhere; }
  .score { font-variant-numeric: tabular-nums; }
  .bar { grid-column: 1 / -1; height: .45rem; background: rgba(127,127,127,.18); border-radius: .25rem; overflow: hidden; }
  .bar span { display: block; height: 100%; background: var(--accent); }
  .time { color: var(--muted); font-size: .8rem; margin-top: .35rem; overflow-wrap: anywhere; }
  .ran { font-weight: 600; }
  .error { color: #d03a3a; font-size: .9rem; overflow-wrap: anywhere; }
  @media (max-width: 420px) { .result { grid-template-columns: 64px 1fr; } .result img { width: 64px; } }
</style>
</head>
<body>
<header>
  <h1>pplcnet</h1>
  <label class="inline">model <select id="model" aria-label="model"></select></label>
  <label class="inline">top-k <input id="topk" type="number" min="1" value="3" aria-label="top-k"></label>
  <!--SWITCH-->
</header>
<main>
  <label id="dropzone">Drop images here, or pick them:
    <input id="file" type="file" accept="image/*" multiple>
  </label>
  <div id="key-box"><label class="inline">API key <input id="key" type="password" autocomplete="off"></label><button id="key-save" type="button">use</button></div>
  <div id="message" role="status"></div>
  <ul id="list"></ul>
</main>
<!--HOST--><script>
(() => {
  const CONFIG = __CONFIG__;
  // a thumbnail is decoded by the browser too: only for an image whose header declares at most 100 megapixels
  /*__HEADER_SIZE__*/
  async function thumbnail(img, file) {
    const head = imageHeaderSize(new Uint8Array(await file.slice(0, 65536).arrayBuffer()), file.size <= 65536);
    if (head && head.width * head.height <= 100e6) img.src = URL.createObjectURL(file);
  }
  const $ = (id) => document.getElementById(id);
  const say = (t) => { $('message').textContent = t; };
  const headers = () => { const k = sessionStorage.getItem('pplcnet-key'); return k ? { authorization: 'Bearer ' + k } : {}; };
  const needKey = () => { $('key-box').classList.add('shown'); say('This server needs an API key.'); };
  const models = new Map();
  let mode = 'server';

  async function loadModels() {
    const res = await fetch('v1/models', { headers: headers() });
    if (res.status === 401) return needKey();
    if (!res.ok) return say('Cannot list the models: HTTP ' + res.status);
    const list = (await res.json()).models;
    const sel = $('model');
    sel.textContent = '';
    for (const m of list) {
      models.set(m.name, m);
      const o = document.createElement('option');
      o.value = m.name;
      o.textContent = m.name;
      o.title = m.name;
      sel.append(o);
    }
    if (list[0]) $('topk').value = Math.min(list[0].topk || 3, list[0].classes || 5);
    document.body.dataset.ready = '1';
    say(list.length + ' model(s) loaded. ' + (list[0] ? list[0].provider + ' provider.' : ''));
    if (mode === 'browser') prepareBrowser();
  }

  // ---- this browser: export-web's bundle, one instance per model ----
  const loaded = new Map();
  let loads = Promise.resolve();
  let instance = 0;
  const threadsText = (n) => n + ' thread' + (n === 1 ? '' : 's');
  const describe = (api) => 'browser (' + api.backend + (api.backend === 'wasm' ? ', ' + threadsText(api.threads) : '') + ')';

  function browserModel(name) {
    if (!loaded.has(name)) {
      // one at a time: the bundle reads #pplcnet-config and sets window.pplcnet when it is imported
      const p = loads.then(async () => {
        const path = 'v1/models/' + encodeURIComponent(name);
        const [onnx, lab] = await Promise.all([fetch(path + '/model.onnx', { headers: headers() }), fetch(path + '/labels', { headers: headers() })]);
        if (onnx.status === 401 || lab.status === 401) { needKey(); throw new Error('this server needs an API key'); }
        if (!onnx.ok) throw new Error('cannot fetch the model: HTTP ' + onnx.status);
        const url = URL.createObjectURL(await onnx.blob());
        const labels = lab.ok ? (await lab.json()).labels : null;
        $('pplcnet-config').textContent = JSON.stringify(Object.assign({ model: url, ort: CONFIG.ort, webgpu: false }, CONFIG.sha256 ? { sha256: CONFIG.sha256 } : {}, labels ? { labels } : {}));
        delete window.pplcnet;
        delete window.pplcnetError;
        const title = document.title;
        try {
          await import('./web/app.js?instance=' + (++instance));
          while (!window.pplcnet && !window.pplcnetError) await new Promise((r) => setTimeout(r, 20));
        } finally {
          URL.revokeObjectURL(url);
          document.title = title;
        }
        if (window.pplcnetError) throw new Error(window.pplcnetError);
        return window.pplcnet;
      });
      loads = p.catch(() => {});
      p.catch(() => loaded.delete(name));
      loaded.set(name, p);
    }
    return loaded.get(name);
  }

  function prepareBrowser() {
    const name = $('model').value;
    if (!name) return;
    document.body.dataset.browser = 'loading';
    say('Loading ' + name + ' into this browser (onnxruntime-web)…');
    browserModel(name).then((api) => {
      if (mode !== 'browser' || $('model').value !== name) return;
      document.body.dataset.browser = 'ready';
      say(name + ' runs in this browser: ' + describe(api).slice(9, -1) + (api.crossOriginIsolated ? '' : ' (page not cross-origin isolated: 1 thread)') + '. Images stay on this device.');
    }, (err) => {
      document.body.dataset.browser = 'error';
      say('Cannot run ' + name + ' in this browser: ' + (err.message || err));
    });
  }

  function setMode(m) {
    mode = CONFIG.browser && m === 'browser' ? 'browser' : 'server';
    const radio = document.querySelector('input[name=run][value=' + mode + ']');
    if (radio) radio.checked = true;
    document.body.dataset.mode = mode;
    sessionStorage.setItem('pplcnet-run', mode);
    const u = new URL(location.href);
    if (mode === 'browser') u.searchParams.set('run', 'browser'); else u.searchParams.delete('run');
    history.replaceState(null, '', u);
    if (mode === 'browser') prepareBrowser();
    else if (models.size) say('Images are sent to the server (' + [...models.values()][0].provider + ').');
  }

  // top-k as the server computes it: highest first, ties by class id
  function topK(probs, k, labels) {
    const idx = Array.from({ length: probs.length }, (_, i) => i);
    idx.sort((a, b) => probs[b] - probs[a] || a - b);
    return idx.slice(0, Math.min(k, probs.length)).map((i) => ({ classId: i, label: labels && labels[i] !== undefined ? labels[i] : String(i), score: probs[i] }));
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  const ms = (x) => x.toFixed(1) + ' ms';

  async function classify(file) {
    const li = el('li', 'result');
    li.dataset.file = file.name;
    li.dataset.state = 'pending';
    const img = el('img');
    img.alt = file.name;
    void thumbnail(img, file);
    const body = el('div');
    body.append(el('div', 'file', file.name));
    const rows = el('div', 'rows', 'classifying…');
    body.append(rows);
    li.append(img, body);
    $('list').append(li);
    const model = $('model').value;
    const k = Math.max(1, Number($('topk').value) || 1);
    const where = mode;
    li.dataset.mode = where;
    try {
      const t0 = performance.now();
      let topk, timings, ran;
      if (where === 'browser') {
        const api = await browserModel(model);
        const r = await api.classify(file);
        topk = topK(r.probs, k, api.classifier.labels);
        timings = r.timings;
        ran = describe(api);
      } else {
        // a multipart upload: the server knows the file's name, and its errors name it
        const form = new FormData();
        form.append('file', file, file.name);
        const res = await fetch('v1/models/' + encodeURIComponent(model) + '/classify?topk=' + k, { method: 'POST', headers: headers(), body: form });
        if (res.status === 401) needKey();
        const answer = await res.json();
        if (!res.ok) throw new Error(file.name + ': ' + (answer.error && answer.error.message || ('HTTP ' + res.status)));
        const r = answer.results[0];
        if (r.error) throw new Error(r.error.message);
        topk = r.topk;
        timings = r.timings;
        const m = models.get(model);
        ran = 'server (' + (m ? m.provider : '?') + ')';
      }
      const total = performance.now() - t0;
      rows.textContent = '';
      for (const t of topk) {
        const row = el('div', 'row');
        row.dataset.label = t.label;
        row.dataset.score = String(t.score);
        row.dataset.classId = String(t.classId);
        row.append(el('span', 'label', t.label), el('span', 'score', t.score.toFixed(4)));
        const bar = el('div', 'bar');
        const fill = el('span');
        fill.style.width = (Math.max(0, Math.min(1, t.score)) * 100).toFixed(1) + '%';
        bar.append(fill);
        row.append(bar);
        rows.append(row);
      }
      const time = el('div', 'time');
      time.append(el('span', 'ran', ran), ' · inference ' + ms(timings.inferenceMs ?? timings.batchInferenceMs) + ' · decode ' + ms(timings.decodeMs) + ' · preprocess ' + ms(timings.preprocessMs) + ' · ' + ms(total) + ' in all');
      rows.append(time);
      li.dataset.ran = ran;
      li.dataset.state = 'done';
    } catch (err) {
      rows.textContent = '';
      rows.append(el('div', 'error', String(err.message || err)));
      li.dataset.state = 'error';
    }
  }

  function handle(files) {
    const list = Array.from(files).filter((f) => !f.type || f.type.startsWith('image/'));
    say(list.length + ' image(s) ' + (mode === 'browser' ? 'classified in this browser' : 'sent to the server') + ' with ' + $('model').value + '.');
    list.forEach(classify);
  }

  $('key-save').onclick = () => { sessionStorage.setItem('pplcnet-key', $('key').value); $('key-box').classList.remove('shown'); loaded.clear(); loadModels(); };
  $('model').addEventListener('change', () => { if (mode === 'browser') prepareBrowser(); });
  for (const r of document.querySelectorAll('input[name=run]')) r.addEventListener('change', () => setMode(r.value));
  $('file').addEventListener('change', (e) => { handle(e.target.files); e.target.value = ''; });
  const drop = $('dropzone');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); handle(e.dataTransfer.files); });
  const asked = new URLSearchParams(location.search).get('run') || sessionStorage.getItem('pplcnet-run');
  mode = CONFIG.browser && asked === 'browser' ? 'browser' : 'server';
  setMode(mode);
  loadModels().catch((e) => say('Cannot reach the server: ' + e.message));
})();
</script>
</body>
</html>
`;
