/**
 * The HTTP service as a fastify instance built from loaded classifiers: `POST /v1/models/{name}/classify`,
 * the v2 inference protocol (KServe/Triton REST), `GET /v1/models`, `GET /metrics` and the page at `/`,
 * which runs on the server or in the browser (`/web/*`, `/v1/models/{name}/model.onnx`: see browser.ts).
 * Requests that arrive close together share one onnxruntime run (see batcher.ts); decoding and resizing run
 * in the classifier's preprocessing worker threads meanwhile.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Classification, type Classifier, type Timings, topK } from '../classifier.js';
import { PplcnetError } from '../errors.js';
import { roundTimings } from '../output-row.js';
import { ServeError, toHttpFailure } from './errors.js';
import { type ServeMetrics, createMetrics } from './metrics.js';
import { type ServedModel, describeModel, serveModel } from './models.js';
import { servePageHtml } from './page.js';
import { type BrowserAsset, BrowserAssets } from './browser.js';
import { Admission, withTimeout } from './flow.js';
import { registerV2 } from './v2.js';

export interface ServeOptions {
  /** Most images per onnxruntime run. [8] */
  maxBatch?: number;
  /** How long the first image of a batch waits for others, in ms. [2] */
  maxDelayMs?: number;
  /** Most images accepted and not yet answered; beyond, 503 with Retry-After. [256] */
  maxQueue?: number;
  /** Per-request time limit in ms; beyond, 504. [30000] */
  timeoutMs?: number;
  /** Largest request body in bytes; beyond, 413. [20 MiB] */
  bodyLimit?: number;
  /** Largest image in pixels (width × height, read from its header); beyond, 400. [50e6] */
  maxPixels?: number;
  /** Most files in one multipart upload. [64] */
  maxFiles?: number;
  /** When set, every route but the health checks and the page requires `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Origins allowed to call the API from a browser (CORS); none when empty. */
  cors?: readonly string[];
  /** One line per request goes here (and server faults with their stack). [nothing] */
  log?: (line: string) => void;
  /** Log lines as JSON objects. */
  logJson?: boolean;
  /** Collect process metrics (memory, CPU, event loop) into /metrics. [true] */
  processMetrics?: boolean;
  /**
   * Offer "Run on: this browser" on the page: serve the browser bundle (`/web/app.js`), onnxruntime-web's
   * files (`/web/ort/…`) and each model's ONNX bytes (`/v1/models/{name}/model.onnx`), and send the page
   * cross-origin isolated (COOP/COEP) so the browser can use threads. [true]
   */
  browser?: boolean;
}

/** A classifier to serve, under a name. */
export interface NamedClassifier {
  name: string;
  classifier: Classifier;
  /**
   * The ONNX model the classifier runs, for `GET /v1/models/{name}/model.onnx` (the page's "this browser"
   * mode). Without it that route answers 404 for this model.
   */
  onnx?: Uint8Array;
}

export interface ServeApp {
  readonly app: FastifyInstance;
  readonly models: ReadonlyMap<string, ServedModel>;
  readonly metrics: ServeMetrics;
  /** Images accepted and not yet answered. */
  readonly queueDepth: number;
  /** Stop accepting, finish what is in flight, close the batchers (not the classifiers). */
  close(): Promise<void>;
}

export const SERVE_DEFAULTS = Object.freeze({
  maxBatch: 8,
  maxDelayMs: 2,
  maxQueue: 256,
  timeoutMs: 30_000,
  bodyLimit: 20 * 1024 * 1024,
  maxPixels: 50_000_000,
  maxFiles: 64,
});

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function isV2(url: string): boolean {
  return url === '/v2' || url.startsWith('/v2/') || url.startsWith('/v2?');
}

/** The page and the browser code it loads (no model, no data): open without the API key, as a browser loads them without headers. */
function isPublicAsset(method: string, url: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const path = url.split('?')[0]!;
  return path === '/' || path.startsWith('/web/');
}

/** COOP/COEP: the page is cross-origin isolated (WASM threads); everything it loads is same-origin. */
const ISOLATION_HEADERS = Object.freeze({ 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });

function isHealth(url: string): boolean {
  const path = url.split('?')[0]!;
  return path === '/v2/health/live' || path === '/v2/health/ready';
}

/** A file of a classify request. */
interface Upload {
  file: string;
  bytes: Uint8Array;
}

export interface ClassifyRow {
  file: string;
  topk?: { classId: number; label: string; score: number }[];
  timings?: Timings;
  error?: { code: string; message: string };
}


declare module 'fastify' {
  interface FastifyRequest {
    /** Images this request carried (for the log line). */
    images: number;
  }
}

/** Build the service over loaded classifiers (they stay open; the caller closes them). */
export async function createServeApp(classifiers: readonly NamedClassifier[], options: ServeOptions = {}): Promise<ServeApp> {
  const o = { ...SERVE_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as ServeOptions & typeof SERVE_DEFAULTS;
  for (const [k, min] of [['maxBatch', 1], ['maxQueue', 1], ['timeoutMs', 1], ['bodyLimit', 1], ['maxPixels', 1], ['maxFiles', 1], ['maxDelayMs', 0]] as const) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new RangeError(`Expected a number ≥ ${min} for '${k}' but received ${String(v)}`);
  }
  if (classifiers.length === 0) throw new RangeError("Expected at least one model for 'models' but received none");
  if (o.apiKey !== undefined && o.apiKey.length === 0) throw new RangeError("Expected a non-empty string for 'apiKey'");
  const log = o.log ?? (() => {});
  // fastify and its multipart plugin load when a server is built, not when the library is imported (the
  // one-image predict stays quick)
  const [{ default: Fastify }, { default: multipart }] = await Promise.all([import('fastify'), import('@fastify/multipart')]);
  const metrics = await createMetrics({ processMetrics: o.processMetrics ?? true });
  const models = new Map<string, ServedModel>();
  const onnx = new Map<string, Uint8Array>();
  for (const { name, classifier, onnx: bytes } of classifiers) {
    if (models.has(name)) throw new RangeError(`Two models are named '${name}'; model names must differ`);
    models.set(name, await serveModel(name, classifier, { maxBatch: o.maxBatch, maxDelayMs: o.maxDelayMs }, metrics));
    if (bytes) onnx.set(name, bytes);
  }
  const browser = o.browser === false ? undefined : new BrowserAssets();
  const pageHtml = servePageHtml(browser ? { browser: true, ort: browser.ort } : { browser: false });
  const admission = new Admission(o.maxQueue, (d) => metrics.queueDepth.set(d));
  const keyDigest = o.apiKey === undefined ? undefined : sha256(o.apiKey);
  const corsOrigins = new Set(o.cors ?? []);

  const app = Fastify({
    logger: false,
    bodyLimit: o.bodyLimit,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.decorateRequest('images', 0);

  // image bodies as bytes; JSON stays fastify's (for v2)
  for (const type of ['application/octet-stream', /^image\/[\w.+-]+(;|$)/]) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: o.bodyLimit }, (_req, body, done) => done(null, body));
  }
  await app.register(multipart, { limits: { fileSize: o.bodyLimit, files: o.maxFiles, fields: 16, parts: o.maxFiles + 16, fieldSize: 64 * 1024 } });

  const sendFailure = (req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply => {
    const f = toHttpFailure(err);
    if (f.internal) log(`error: ${req.method} ${req.url}: ${(err as Error)?.stack ?? String(err)}`);
    reply.code(f.status).headers(f.headers);
    return reply.send(isV2(req.url) ? { error: f.message } : { error: { code: f.code, message: f.message } });
  };
  app.setErrorHandler((err, req, reply) => sendFailure(req, reply, err));
  app.setNotFoundHandler((req, reply) => sendFailure(req, reply, new ServeError('E_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`)));

  // CORS (only for the origins named), then the API key
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (origin && corsOrigins.size > 0 && (corsOrigins.has(origin) || corsOrigins.has('*'))) {
      reply.header('access-control-allow-origin', corsOrigins.has('*') ? '*' : origin).header('vary', 'Origin');
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
        return reply
          .code(204)
          .header('access-control-allow-methods', 'GET, POST')
          .header('access-control-allow-headers', 'authorization, content-type')
          .header('access-control-max-age', '600')
          .send();
      }
    }
    if (keyDigest && !isHealth(req.url) && !isPublicAsset(req.method, req.url)) {
      const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
      // compared as SHA-256 digests with timingSafeEqual: equal lengths, constant time
      if (!m || !timingSafeEqual(sha256(m[1]!.trim()), keyDigest)) {
        reply.header('www-authenticate', 'Bearer');
        return sendFailure(req, reply, new ServeError('E_UNAUTHORIZED', m ? 'the API key is wrong' : 'this server requires an API key: send Authorization: Bearer <key>'));
      }
    }
    return undefined;
  });

  // once closing, answers end their keep-alive connection so the server can stop
  let closing = false;
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    const code = String(reply.statusCode);
    metrics.requests.inc({ method: req.method, route, code });
    if (reply.statusCode >= 400) metrics.errors.inc({ route, code });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
    const ms = Number(reply.elapsedTime.toFixed(1));
    const url = req.url.split('?')[0]!;
    log(
      o.logJson
        ? JSON.stringify({ time: new Date().toISOString(), method: req.method, url, route, status: reply.statusCode, ms, images: req.images })
        : `${req.method} ${url} ${reply.statusCode} ${ms} ms ${req.images} image(s)`,
    );
  });

  const getModel = (name: string): ServedModel => {
    const m = models.get(name);
    if (!m) throw new ServeError('E_NOT_FOUND', `model '${name}' is not loaded; loaded: ${[...models.keys()].join(', ')}`);
    return m;
  };

  /** Preprocessing (worker threads; the decoder refuses an image over --max-pixels from its header), then the batcher. */
  const classifyOne = async (m: ServedModel, u: Upload, signal: AbortSignal): Promise<Classification> => {
    // the upload's bytes are not used again: hand them to the worker thread without a copy
    const prepared = await m.classifier.prepare(u.bytes, u.file, { transfer: true, maxPixels: o.maxPixels });
    signal.throwIfAborted();
    const r = await m.batcher.submit(prepared, signal);
    metrics.images.inc({ model: m.name });
    return r;
  };

  const parseTopk = (value: unknown, m: ServedModel): number => {
    if (value === undefined || value === '') return m.classifier.metadata.topk ?? 5;
    const k = Number(value);
    const max = m.classes ?? Infinity;
    if (!Number.isInteger(k) || k < 1) throw new ServeError('E_BAD_REQUEST', `Expected a positive integer for 'topk' but received ${JSON.stringify(value)}`);
    return Math.min(k, max);
  };

  const readUploads = async (req: FastifyRequest): Promise<{ uploads: Upload[]; multipart: boolean }> => {
    if (req.isMultipart()) {
      const uploads: Upload[] = [];
      let total = 0;
      for await (const part of req.parts()) {
        if (part.type !== 'file') continue;
        const bytes = await part.toBuffer();
        total += bytes.length;
        if (total > o.bodyLimit) throw new ServeError('E_TOO_LARGE', `the upload is over ${o.bodyLimit} bytes (--body-limit)`);
        uploads.push({ file: part.filename || part.fieldname || `file${uploads.length}`, bytes });
      }
      if (uploads.length === 0) throw new ServeError('E_BAD_REQUEST', 'the multipart upload holds no file');
      return { uploads, multipart: true };
    }
    const body = req.body;
    if (body === undefined || body === null || (Buffer.isBuffer(body) && body.length === 0)) {
      throw new PplcnetError('E_IMAGE', 'the request body is empty: send the image bytes (content-type image/* or application/octet-stream) or a multipart/form-data upload');
    }
    if (!Buffer.isBuffer(body)) {
      throw new ServeError('E_MEDIA_TYPE', `content-type ${req.headers['content-type'] ?? '(none)'} is not an image: send image/*, application/octet-stream or multipart/form-data`);
    }
    return { uploads: [{ file: 'body', bytes: body }], multipart: false };
  };

  const routes: { url: string; methods: string[] }[] = [];
  const route = (method: 'GET' | 'POST', url: string, handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>): void => {
    app.route({ method, url, handler });
    const r = routes.find((x) => x.url === url);
    if (r) r.methods.push(method);
    else routes.push({ url, methods: [method] });
  };

  route('GET', '/', async (_req, reply) => {
    if (browser) reply.headers(ISOLATION_HEADERS);
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(pageHtml);
  });

  if (browser) {
    /** An asset with its ETag (304 when the browser has it), isolated like the page. */
    const sendAsset = async (req: FastifyRequest, reply: FastifyReply, asset: Promise<BrowserAsset>): Promise<FastifyReply> => {
      const a = await asset;
      reply.headers(ISOLATION_HEADERS).header('cache-control', 'no-cache').header('etag', a.etag).header('x-content-type-options', 'nosniff');
      if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
      return reply.type(a.type).header('content-length', a.size).send(BrowserAssets.body(a));
    };
    route('GET', '/web/app.js', async (req, reply) => sendAsset(req, reply, browser.script()));
    route('GET', '/web/ort/:file', async (req, reply) => {
      const file = (req.params as { file: string }).file;
      const asset = browser.runtime(file);
      if (!asset) throw new ServeError('E_NOT_FOUND', `no file ${JSON.stringify(file)} here; /web/ort/ serves ${browser.runtimeNames.join(', ')}`);
      return sendAsset(req, reply, asset);
    });
    route('GET', '/v1/models/:name/model.onnx', async (req, reply) => {
      const m = getModel((req.params as { name: string }).name);
      const bytes = onnx.get(m.name);
      if (!bytes) throw new ServeError('E_NOT_FOUND', `the ONNX bytes of model '${m.name}' are not available on this server`);
      return reply
        .type('application/octet-stream')
        .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(m.name)}.onnx`)
        .header('cache-control', 'no-cache')
        .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    });
  }

  route('GET', '/v1/models', async () => ({ models: [...models.values()].map((m) => describeModel(m, o.maxBatch)) }));
  route('GET', '/v1/models/:name', async (req) => describeModel(getModel((req.params as { name: string }).name), o.maxBatch));
  route('GET', '/v1/models/:name/labels', async (req) => {
    const m = getModel((req.params as { name: string }).name);
    return { model: m.name, labels: m.classifier.labels ?? null };
  });

  route('POST', '/v1/models/:name/classify', async (req) => {
    const m = getModel((req.params as { name: string }).name);
    const k = parseTopk((req.query as Record<string, unknown>).topk, m);
    const { uploads, multipart: isMultipart } = await readUploads(req);
    req.images = uploads.length;
    admission.take(uploads.length);
    const labels = m.classifier.labels;
    const rows = await withTimeout(
      o.timeoutMs,
      (signal) =>
        Promise.all(
          uploads.map(async (u): Promise<ClassifyRow> => {
            try {
              const r = await classifyOne(m, u, signal);
              return { file: u.file, topk: topK(r.probs, k, labels), timings: roundTimings(r.timings) };
            } catch (err) {
              const f = toHttpFailure(err);
              // one bad file of a multipart upload is that file's row; anything else answers the request
              if (!isMultipart || f.status >= 500 || f.status === 401) throw err;
              return { file: u.file, error: { code: f.code, message: f.message } };
            }
          }),
        ),
      () => admission.give(uploads.length),
    );
    return { model: m.name, results: rows };
  });

  route('GET', '/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  registerV2({ models, getModel, admission, timeoutMs: o.timeoutMs, maxBatch: o.maxBatch, route, metrics });

  // a known path with another method: 405 with Allow
  for (const r of routes) {
    const allowed = r.methods.includes('GET') ? [...r.methods, 'HEAD'] : r.methods;
    const others = METHODS.filter((mth) => !allowed.includes(mth));
    app.route({
      method: others as unknown as string[],
      url: r.url,
      handler: async (req, reply) => sendFailure(req, reply, new ServeError('E_METHOD', `${req.method} is not allowed on ${r.url}; use ${allowed.join(' or ')}`, { allow: allowed.join(', ') })),
    });
  }

  await app.ready();
  return {
    app,
    models,
    metrics,
    get queueDepth() {
      return admission.depth;
    },
    async close() {
      closing = true;
      await app.close();
      await Promise.all([...models.values()].map((m) => m.batcher.close()));
    },
  };
}
