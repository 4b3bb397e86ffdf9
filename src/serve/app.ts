/**
 * The HTTP service as a fastify instance built from loaded classifiers: `POST /v1/models/{name}/classify`,
 * the v2 inference protocol (KServe/Triton REST), `GET /v1/models`, `GET /metrics` and the page at `/`,
 * which runs on the server or in the browser (`/web/*`, `/v1/models/{name}/model.onnx`: see browser.ts).
 * Requests that arrive close together share one onnxruntime run (see batcher.ts), which runs in an inference
 * lane (a worker thread with its own session: see models.ts), so this thread only parses, admits, batches and
 * answers; decoding and resizing run in the classifier's preprocessing worker threads. The routes are fastify plugins by protocol
 * (v1.ts, v2.ts, page-routes.ts, metrics.ts), each with its schemas, from which openapi.ts makes the
 * OpenAPI document at `/openapi.json`; http.ts holds what every request goes through.
 */
import type { FastifyInstance } from 'fastify';
import type { Classifier } from '../index.js';
import { BrowserAssets } from './browser.js';
import { type ServeContext, type ServeLimits } from './context.js';
import { Admission } from './flow.js';
import { clientErrorHandler, frameworkErrors, installHttp, methodGuard, schemaErrorFormatter } from './http.js';
import { type ServeMetrics, createMetrics, metricsRoutes } from './metrics.js';
import { type ServedModel, serveModel } from './models.js';
import { openApiRoutes, registerOpenApi } from './openapi.js';
import { pageRoutes } from './page-routes.js';
import { v1Routes } from './v1.js';
import { v2Routes } from './v2.js';

export type { ClassifyRow } from './v1.js';

export interface ServeOptions {
  /** Most images per onnxruntime run. [8] */
  maxBatch?: number;
  /** How long the first image of a batch waits for others, in ms. [2] */
  maxDelayMs?: number;
  /**
   * Inference lanes per model: worker threads with their own onnxruntime session (one intra-op thread) that
   * run the batches, one batch each at a time, off the thread that answers requests; 0 runs them on that
   * thread (health checks then wait behind every run). [per model: {@link defaultServeLanes}]
   */
  lanes?: number;
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
  /** Other names the model answers to (a zoo alias such as `textline`); one already served is skipped. */
  aliases?: readonly string[];
}

export interface ServeApp {
  readonly app: FastifyInstance;
  readonly models: ReadonlyMap<string, ServedModel>;
  readonly metrics: ServeMetrics;
  /** Images accepted and not yet answered. */
  readonly queueDepth: number;
  /** What the routes share (models, aliases, admission, limits): other protocols serve from it too. @internal */
  readonly context: ServeContext;
  /** Stop accepting, finish what is in flight, close the batchers and the lanes (not the classifiers). */
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

/**
 * Inference lanes for a model when not given: the intra-op threads its classifier's plan gives inference
 * (its share of the cores beside the preprocessing workers, see `planExecution`), at least 1 and at most 4.
 * On 2 cores: 1 lane and 1 preprocessing worker, for the text-line model as for x1_0 at 224.
 */
export function defaultServeLanes(classifier: Pick<Classifier, 'plan'>): number {
  return Math.max(1, Math.min(4, classifier.plan.threads));
}

/** `lanes` as given, checked: an integer from 0 to 64, or undefined. @internal */
export function checkLanes(n: number | undefined): number | undefined {
  if (n !== undefined && (!Number.isInteger(n) || n < 0 || n > 64)) throw new RangeError(`Expected an integer from 0 to 64 for 'lanes' but received ${String(n)}`);
  return n;
}

/** Lanes for each model: as given, else {@link defaultServeLanes}. */
function lanesOf(options: ServeOptions): (classifier: Classifier) => number {
  const n = checkLanes(options.lanes);
  return (classifier) => n ?? defaultServeLanes(classifier);
}

/** The options with their defaults, checked. */
function limitsOf(options: ServeOptions): ServeLimits {
  const o = { ...SERVE_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([k, v]) => v !== undefined && k in SERVE_DEFAULTS)) } as ServeLimits;
  for (const [k, min] of [['maxBatch', 1], ['maxQueue', 1], ['timeoutMs', 1], ['bodyLimit', 1], ['maxPixels', 1], ['maxFiles', 1], ['maxDelayMs', 0]] as const) {
    const v = o[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new RangeError(`Expected a number ≥ ${min} for '${k}' but received ${String(v)}`);
  }
  return o;
}

/** Each classifier wrapped for serving (its lanes opened), its ONNX bytes and its aliases. */
async function loadModels(classifiers: readonly NamedClassifier[], limits: ServeLimits, lanes: (c: Classifier) => number, metrics: ServeMetrics): Promise<Pick<ServeContext, 'models' | 'aliases' | 'onnx'>> {
  const models = new Map<string, ServedModel>();
  const onnx = new Map<string, Uint8Array>();
  try {
    for (const { name, classifier, onnx: bytes } of classifiers) {
      if (models.has(name)) throw new RangeError(`Two models are named '${name}'; model names must differ`);
      models.set(name, await serveModel(name, classifier, { maxBatch: limits.maxBatch, maxDelayMs: limits.maxDelayMs, lanes: lanes(classifier) }, metrics));
      if (bytes) onnx.set(name, bytes);
    }
  } catch (err) {
    await Promise.all([...models.values()].map((m) => m.lanes?.close()));
    throw err;
  }
  const aliases = new Map<string, string>();
  for (const { name, aliases: names = [] } of classifiers) {
    for (const a of names) if (a && !models.has(a) && !aliases.has(a)) aliases.set(a, name);
  }
  return { models, aliases, onnx };
}

/** The fastify instance over the shared context: hooks, parsers and the route plugins. */
async function buildFastify(ctx: ServeContext, options: ServeOptions, isClosing: () => boolean): Promise<FastifyInstance> {
  const { limits, metrics } = ctx;
  const log = options.log ?? (() => {});
  // fastify and its plugins load when a server is built, not when the library is imported (the one-image
  // predict stays quick)
  const [{ default: Fastify }, { default: multipart }] = await Promise.all([import('fastify'), import('@fastify/multipart')]);
  const app = Fastify({
    logger: false,
    bodyLimit: limits.bodyLimit,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 16 * 1024 },
    frameworkErrors: frameworkErrors(log),
    clientErrorHandler,
    schemaErrorFormatter,
    ajv: { customOptions: { verbose: true } },
  });
  installHttp(app, { bodyLimit: limits.bodyLimit, apiKey: options.apiKey, cors: options.cors ?? [], log, logJson: options.logJson ?? false, metrics }, isClosing);
  const allowOthers = methodGuard(app, log);
  await registerOpenApi(app, options.apiKey !== undefined);
  app.removeAllContentTypeParsers();
  // image bodies as bytes (JSON is v2's, read by its own parser)
  for (const type of ['application/octet-stream', /^image\/[\w.+-]+(;|$)/]) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: limits.bodyLimit }, (_req, body, done) => done(null, body));
  }
  await app.register(multipart, { limits: { fileSize: limits.bodyLimit, files: limits.maxFiles, fields: 16, parts: limits.maxFiles + 16, fieldSize: 64 * 1024 } });
  await app.register(async (child) => pageRoutes(child, ctx));
  await app.register(async (child) => v1Routes(child, ctx));
  await app.register(async (child) => v2Routes(child, ctx));
  await app.register(async (child) => metricsRoutes(child, metrics));
  await app.register(openApiRoutes);
  allowOthers();
  await app.ready();
  return app;
}

/** Close each model's batcher (what is queued runs), then its lanes. */
function closeModels(ctx: Pick<ServeContext, 'models'>): Promise<void> {
  return Promise.all(
    [...ctx.models.values()].map(async (m) => {
      await m.batcher.close();
      await m.lanes?.close();
    }),
  ).then(() => undefined);
}

/** Build the service over loaded classifiers (they stay open; the caller closes them). */
export async function createServeApp(classifiers: readonly NamedClassifier[], options: ServeOptions = {}): Promise<ServeApp> {
  const limits = limitsOf(options);
  const lanes = lanesOf(options);
  if (classifiers.length === 0) throw new RangeError("Expected at least one model for 'models' but received none");
  if (options.apiKey !== undefined && options.apiKey.length === 0) throw new RangeError("Expected a non-empty string for 'apiKey'");
  const metrics = await createMetrics({ processMetrics: options.processMetrics ?? true });
  const ctx: ServeContext = {
    limits,
    ...(await loadModels(classifiers, limits, lanes, metrics)),
    admission: new Admission(limits.maxQueue, (d) => metrics.queueDepth.set(d)),
    metrics,
    browser: options.browser === false ? undefined : new BrowserAssets(),
  };
  let closing = false;
  let app: FastifyInstance;
  try {
    app = await buildFastify(ctx, options, () => closing);
  } catch (err) {
    await closeModels(ctx);
    throw err;
  }
  return {
    app,
    models: ctx.models,
    metrics,
    context: ctx,
    get queueDepth() {
      return ctx.admission.depth;
    },
    async close() {
      closing = true;
      await app.close();
      await closeModels(ctx);
    },
  };
}
