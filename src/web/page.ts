/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The script of the page `pplcnet export-web` writes: loads the model named in the page's config, classifies
 * dropped or picked images (top-k bars, inference time, backend), and exposes the classifier as
 * `window.pplcnet` so the page can be scripted and tested. URL parameters: `?threads=N`, `?backend=webgpu`,
 * `?clear-cache` (forget the files kept in the browser's Cache API before loading).
 *
 * The model and onnxruntime-web's .wasm are kept in the Cache API under the sha256 the config gives (see
 * cache.ts): a second visit downloads neither; the page's "Forget cached files" button clears them.
 */
import { CACHE_NAME, clearCache } from './cache.js';
import { type WebBackend, type WebClassification, type WebClassifier, type WebImageInput, createClassifier, decodeImageWeb } from './index.js';

/** The JSON the exporter embeds in the page (`<script type="application/json" id="pplcnet-config">`). */
export interface SiteConfig {
  /** The model file, relative to the page. */
  readonly model: string;
  /** onnxruntime-web's loader script and .wasm, relative to the page. */
  readonly ort: { readonly mjs: string; readonly wasm: string };
  /** Whether the onnxruntime-web build on the site has WebGPU. */
  readonly webgpu: boolean;
  /** Class names when the model's metadata has none. */
  readonly labels?: readonly string[];
  /** The sha256 (hex) of the model and of the .wasm: they are kept in the browser's Cache API under them. */
  readonly sha256?: { readonly model?: string; readonly wasm?: string };
}

/** What the page exposes on `window.pplcnet`. */
export interface PageApi {
  readonly classifier: WebClassifier;
  classify(input: WebImageInput): Promise<WebClassification>;
  /** The tensor the network reads for an image (for parity checks against Node's preprocess). */
  prepare(input: WebImageInput): Promise<{ data: Float32Array; width: number; height: number }>;
  /** The RGB pixels the browser decodes (interleaved, 3 channels). */
  decode(input: WebImageInput): Promise<{ data: Uint8Array; width: number; height: number }>;
  readonly backend: WebBackend;
  readonly threads: number;
  readonly crossOriginIsolated: boolean;
  /** Where the model and the .wasm came from (see WebClassifier.loadedFrom). */
  readonly loadedFrom: WebClassifier['loadedFrom'];
  /** Forget the files kept in the Cache API (the next visit downloads them again). */
  clearCache(): Promise<boolean>;
}

declare global {
  interface Window {
    pplcnet?: PageApi;
    /** Set instead of `pplcnet` when the classifier could not be created. */
    pplcnetError?: string;
  }
}

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function escapeText(s: string): string {
  const d = document.createElement('span');
  d.textContent = s;
  return d.innerHTML;
}

function renderResult(file: File, r: WebClassification | Error): HTMLElement {
  const card = document.createElement('div');
  card.className = 'card';
  const img = document.createElement('img');
  img.alt = file.name;
  // a thumbnail is decoded too: only for an image the classifier decoded (within its pixel limit)
  if (!(r instanceof Error)) {
    img.src = URL.createObjectURL(file);
    img.onload = () => URL.revokeObjectURL(img.src);
  }
  card.append(img);
  const body = document.createElement('div');
  body.className = 'body';
  if (r instanceof Error) {
    body.innerHTML = `<div class="name">${escapeText(file.name)}</div><div class="error">${escapeText(r.message)}</div>`;
  } else {
    const t = r.timings;
    const bars = r.topk
      .map(
        (c) =>
          `<div class="row"><span class="label" title="class ${c.classId}">${escapeText(c.label)}</span><span class="bar"><span style="width:${(c.score * 100).toFixed(2)}%"></span></span><span class="score">${c.score.toFixed(4)}</span></div>`,
      )
      .join('');
    body.innerHTML = `<div class="name">${escapeText(file.name)}</div>${bars}<div class="time">inference ${t.batchInferenceMs.toFixed(1)} ms · decode ${t.decodeMs.toFixed(1)} ms · preprocess ${t.preprocessMs.toFixed(1)} ms</div>`;
  }
  card.append(body);
  return card;
}

/** The status line's note on where the model came from. */
function sourceText(from: WebClassifier['loadedFrom']): string {
  if (from.model !== 'cache') return '';
  return from.wasm === 'network' ? ' · model from this browser’s cache' : ' · from this browser’s cache';
}

/** The "Forget cached files" button (absent where the page has none). */
function wireClearButton(): void {
  const button = document.getElementById('clear-cache');
  if (!button) return;
  button.addEventListener('click', () => {
    void clearCache(CACHE_NAME).then(
      (had) => (button.textContent = had ? 'Cached files forgotten: the next visit downloads them' : 'Nothing was cached'),
      (err: unknown) => (button.textContent = `Could not clear the cache: ${(err as Error).message}`),
    );
  });
}

async function main(): Promise<void> {
  const config = JSON.parse($('pplcnet-config').textContent ?? '{}') as SiteConfig;
  const params = new URLSearchParams(location.search);
  const threadsParam = params.get('threads');
  const backend = params.get('backend') === 'webgpu' && config.webgpu ? 'webgpu' : 'wasm';
  const status = $('status');
  const abs = (p: string): string => new URL(p, location.href).href;
  if (params.has('clear-cache')) await clearCache(CACHE_NAME);
  wireClearButton();
  let classifier: WebClassifier;
  try {
    classifier = await createClassifier({
      ...(config.sha256?.model ? { modelSha256: config.sha256.model } : {}),
      ...(config.sha256?.wasm ? { wasmSha256: config.sha256.wasm } : {}),
      model: abs(config.model),
      backend,
      wasmPaths: { mjs: abs(config.ort.mjs), wasm: abs(config.ort.wasm) },
      ...(threadsParam ? { threads: Number(threadsParam) } : {}),
      ...(config.labels ? { labels: config.labels } : {}),
    });
  } catch (err) {
    window.pplcnetError = (err as Error).message;
    status.textContent = `could not load the model: ${(err as Error).message}`;
    status.className = 'error';
    return;
  }
  const isolated = typeof crossOriginIsolated !== 'undefined' && crossOriginIsolated;
  status.textContent = `${classifier.name} · ${classifier.backend}${classifier.backend === 'wasm' ? ` · ${classifier.threads} thread${classifier.threads === 1 ? '' : 's'}` : ''}${isolated ? '' : ' (page not cross-origin isolated: 1 thread)'}${sourceText(classifier.loadedFrom)}`;
  document.title = `${classifier.name} · pplcnet`;

  const results = $('results');
  const handle = async (files: Iterable<File>): Promise<void> => {
    for (const file of files) {
      const r = await classifier.classify(file).catch((err: unknown) => err as Error);
      results.prepend(renderResult(file, r));
    }
  };
  const drop = $('drop');
  const picker = $<HTMLInputElement>('picker');
  picker.addEventListener('change', () => void handle(picker.files ?? []));
  drop.addEventListener('click', () => picker.click());
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    void handle([...(e.dataTransfer?.files ?? [])].filter((f) => f.type.startsWith('image/') || f.type === ''));
  });

  window.pplcnet = {
    classifier,
    classify: (input) => classifier.classify(input),
    prepare: (input) => classifier.prepare(input),
    decode: (input) => decodeImageWeb(input),
    backend: classifier.backend,
    threads: classifier.threads,
    crossOriginIsolated: isolated,
    loadedFrom: classifier.loadedFrom,
    clearCache: () => clearCache(CACHE_NAME),
  };
}

void main();
