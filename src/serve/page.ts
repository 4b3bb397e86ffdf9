/**
 * The page served at `/`: drop or pick images, see each thumbnail with its top-k classes as bars, pick the
 * model. Plain HTML, CSS and JavaScript in one string (it ships inside the compiled library, no build step),
 * using only `/v1/models` and `/v1/models/{name}/classify`.
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pplcnet</title>
<style>
  :root { color-scheme: light dark; --accent: #2f6fdf; --muted: #7a7a7a; --line: rgba(127,127,127,.3); }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; }
  header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; padding: .75rem 1rem; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 1.1rem; margin: 0; flex: 1 1 auto; }
  label.inline { display: flex; gap: .4rem; align-items: center; font-size: .9rem; }
  select, input[type=number], input[type=password] { font: inherit; padding: .25rem .4rem; max-width: 100%; }
  select { min-width: 0; max-width: 14rem; }
  input[type=number] { width: 4rem; }
  main { padding: 1rem; max-width: 60rem; margin: 0 auto; }
  #drop { display: block; border: 2px dashed var(--line); border-radius: .75rem; padding: 1.5rem 1rem; text-align: center; cursor: pointer; }
  #drop.over { border-color: var(--accent); background: rgba(47,111,223,.08); }
  #drop input { display: block; margin: .75rem auto 0; max-width: 100%; }
  #key-box { display: none; margin: 1rem 0; gap: .5rem; flex-wrap: wrap; align-items: center; }
  #key-box.shown { display: flex; }
  #status { color: var(--muted); font-size: .9rem; min-height: 1.4em; margin: .5rem 0; }
  #results { list-style: none; padding: 0; margin: 0; display: grid; gap: .75rem; }
  .result { display: grid; grid-template-columns: 96px 1fr; gap: .75rem; align-items: start; border: 1px solid var(--line); border-radius: .5rem; padding: .6rem; }
  .result img { width: 96px; max-height: 96px; object-fit: contain; background: rgba(127,127,127,.12); border-radius: .25rem; }
  .file { font-weight: 600; overflow-wrap: anywhere; margin-bottom: .3rem; }
  .rows { display: grid; gap: .3rem; }
  .row { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: .1rem .5rem; font-size: .9rem; }
  .label { overflow-wrap: anywhere; }
  .score { font-variant-numeric: tabular-nums; }
  .bar { grid-column: 1 / -1; height: .45rem; background: rgba(127,127,127,.18); border-radius: .25rem; overflow: hidden; }
  .bar span { display: block; height: 100%; background: var(--accent); }
  .error { color: #d03a3a; font-size: .9rem; overflow-wrap: anywhere; }
  @media (max-width: 420px) { .result { grid-template-columns: 64px 1fr; } .result img { width: 64px; } }
</style>
</head>
<body>
<header>
  <h1>pplcnet</h1>
  <label class="inline">model <select id="model" aria-label="model"></select></label>
  <label class="inline">top-k <input id="topk" type="number" min="1" value="3" aria-label="top-k"></label>
</header>
<main>
  <label id="drop">Drop images here, or pick them:
    <input id="file" type="file" accept="image/*" multiple>
  </label>
  <div id="key-box"><label class="inline">API key <input id="key" type="password" autocomplete="off"></label><button id="key-save" type="button">use</button></div>
  <div id="status" role="status"></div>
  <ul id="results"></ul>
</main>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  const status = (t) => { $('status').textContent = t; };
  const headers = () => { const k = sessionStorage.getItem('pplcnet-key'); return k ? { authorization: 'Bearer ' + k } : {}; };
  const needKey = () => { $('key-box').classList.add('shown'); status('This server needs an API key.'); };
  $('key-save').onclick = () => { sessionStorage.setItem('pplcnet-key', $('key').value); $('key-box').classList.remove('shown'); loadModels(); };

  async function loadModels() {
    const res = await fetch('v1/models', { headers: headers() });
    if (res.status === 401) return needKey();
    if (!res.ok) return status('Cannot list the models: HTTP ' + res.status);
    const { models } = await res.json();
    const sel = $('model');
    sel.textContent = '';
    for (const m of models) {
      const o = document.createElement('option');
      o.value = m.name;
      o.textContent = m.name;
      sel.append(o);
    }
    if (models[0]) $('topk').value = Math.min(models[0].topk || 3, models[0].classes || 5);
    document.body.dataset.ready = '1';
    status(models.length + ' model(s) loaded. ' + (models[0] ? models[0].provider + ' provider.' : ''));
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  async function classify(file) {
    const li = el('li', 'result');
    li.dataset.file = file.name;
    li.dataset.state = 'pending';
    const img = el('img');
    img.alt = file.name;
    img.src = URL.createObjectURL(file);
    const body = el('div');
    body.append(el('div', 'file', file.name));
    const rows = el('div', 'rows', 'classifying…');
    body.append(rows);
    li.append(img, body);
    $('results').prepend(li);
    const model = $('model').value;
    const k = Math.max(1, Number($('topk').value) || 1);
    try {
      const res = await fetch('v1/models/' + encodeURIComponent(model) + '/classify?topk=' + k, {
        method: 'POST',
        headers: Object.assign({ 'content-type': file.type || 'application/octet-stream' }, headers()),
        body: file,
      });
      if (res.status === 401) needKey();
      const answer = await res.json();
      rows.textContent = '';
      if (!res.ok) throw new Error(answer.error && answer.error.message || ('HTTP ' + res.status));
      const r = answer.results[0];
      for (const t of r.topk) {
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
      li.dataset.state = 'done';
    } catch (err) {
      rows.textContent = '';
      rows.append(el('div', 'error', String(err.message || err)));
      li.dataset.state = 'error';
    }
  }

  function handle(files) {
    const list = Array.from(files).filter((f) => !f.type || f.type.startsWith('image/'));
    status(list.length + ' image(s) sent to ' + $('model').value + '.');
    list.forEach(classify);
  }

  $('file').addEventListener('change', (e) => { handle(e.target.files); e.target.value = ''; });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); handle(e.dataTransfer.files); });
  loadModels().catch((e) => status('Cannot reach the server: ' + e.message));
})();
</script>
</body>
</html>
`;
