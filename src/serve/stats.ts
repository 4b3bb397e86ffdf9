/**
 * The v2 statistics extension (Triton's): per model, since the server started, the successful inferences
 * (`inference_count`, one per image or tensor row), the onnxruntime runs (`execution_count`: one per batch, so
 * several requests' rows share one), and per request the count and cumulative nanoseconds of success, failure,
 * queueing, input preparation, inference and output building (`inference_stats`). Counted where the routes
 * (HTTP v1 and v2, gRPC) admit and answer requests; the runs are the batcher's, read from the service's
 * `pplcnet_batch_size` metric. `GET /v2/models/stats`, `GET /v2/models/{name}[/versions/1]/stats`.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PreparedInput, Classification } from '../index.js';
import { type ServeContext, findModel } from './context.js';
import { ServeError } from './errors.js';
import { withTimeout } from './flow.js';
import type { ServedModel } from './models.js';
import { V2_ERROR, failures } from './schemas.js';

/** `{count, ns}`: how many times, and their cumulative duration in nanoseconds. */
class Duration {
  count = 0;
  ns = 0;
  add(ms: number): void {
    this.count++;
    this.ns += Math.max(0, Math.round(ms * 1e6));
  }
  toJSON(): { count: number; ns: number } {
    return { count: this.count, ns: this.ns };
  }
}

/** One model's counters. */
export class ModelStats {
  inferenceCount = 0;
  lastInference = 0;
  readonly success = new Duration();
  readonly fail = new Duration();
  readonly queue = new Duration();
  readonly computeInput = new Duration();
  readonly computeInfer = new Duration();
  readonly computeOutput = new Duration();
}

/**
 * Where one request's time went: preparing its input (parsing a tensor, decoding images), waiting for its
 * batch (the longest of its rows), the run of its batch, and building its answer.
 */
export class RequestTiming {
  readonly start = performance.now();
  inputMs = 0;
  queueMs = 0;
  inferMs = 0;
  outputMs = 0;
  /** Rows answered. */
  rows = 0;
  /** One row came back `totalMs` after it was submitted, `inferMs` of which were its batch's run. */
  ran(totalMs: number, inferMs: number): void {
    this.queueMs = Math.max(this.queueMs, totalMs - inferMs);
    this.inferMs = Math.max(this.inferMs, inferMs);
    this.rows++;
  }
  /** Time `work` into `inputMs` or `outputMs`. */
  time<T>(into: 'inputMs' | 'outputMs', work: () => T): T {
    const t = performance.now();
    try {
      return work();
    } finally {
      this[into] += performance.now() - t;
    }
  }
}

const byContext = new WeakMap<ServeContext, Map<string, ModelStats>>();

/** The counters of the model served as `name`. */
export function statsOf(ctx: ServeContext, name: string): ModelStats {
  let models = byContext.get(ctx);
  if (!models) byContext.set(ctx, (models = new Map()));
  let s = models.get(name);
  if (!s) models.set(name, (s = new ModelStats()));
  return s;
}

/** Count one request of model `name` that ended, successfully or not, `ms` after it began. */
export function recordRequest(ctx: ServeContext, name: string, ok: boolean, ms: number, timing: RequestTiming | undefined): void {
  const s = statsOf(ctx, name);
  if (!ok || !timing) {
    s.fail.add(ms);
    return;
  }
  s.success.add(ms);
  s.queue.add(timing.queueMs);
  s.computeInput.add(timing.inputMs);
  s.computeInfer.add(timing.inferMs);
  s.computeOutput.add(timing.outputMs);
  s.inferenceCount += timing.rows;
  s.lastInference = Date.now();
}

/** Submit one row to the model's batcher; its wait and run go into `timing`. */
export async function submitTimed(ctx: ServeContext, m: ServedModel, row: PreparedInput, signal: AbortSignal, timing: RequestTiming): Promise<Classification> {
  const t = performance.now();
  const r = await m.batcher.submit(row, signal);
  ctx.metrics.images.inc({ model: m.name });
  timing.ran(performance.now() - t, r.timings.batchInferenceMs);
  return r;
}

/** Admit a request's rows, run them through the batcher within the time limit, and give them back in order. */
export function runRows(ctx: ServeContext, m: ServedModel, rows: readonly PreparedInput[], timing: RequestTiming, cancelled?: AbortSignal): Promise<Classification[]> {
  const n = rows.length;
  ctx.admission.take(n);
  return withTimeout(
    ctx.limits.timeoutMs,
    (signal) => Promise.all(rows.map((row) => submitTimed(ctx, m, row, cancelled ? AbortSignal.any([signal, cancelled]) : signal, timing))),
    () => ctx.admission.give(n),
  );
}

/** The batcher's runs of each model, from the service's batch-size metric. */
async function executions(ctx: ServeContext): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const v of (await ctx.metrics.batchSize.get()).values) {
    if (v.metricName?.endsWith('_count')) out.set(String(v.labels.model), v.value);
  }
  return out;
}

/** One model's statistics in the extension's shape. */
function modelStat(ctx: ServeContext, name: string, runs: Map<string, number>): Record<string, unknown> {
  const s = statsOf(ctx, name);
  const zero = { count: 0, ns: 0 };
  return {
    name,
    version: '1',
    last_inference: s.lastInference,
    inference_count: s.inferenceCount,
    execution_count: runs.get(name) ?? 0,
    inference_stats: {
      success: s.success.toJSON(),
      fail: s.fail.toJSON(),
      queue: s.queue.toJSON(),
      compute_input: s.computeInput.toJSON(),
      compute_infer: s.computeInfer.toJSON(),
      compute_output: s.computeOutput.toJSON(),
      // no response cache
      cache_hit: zero,
    },
  };
}

const DURATION = { type: 'object', properties: { count: { type: 'integer' }, ns: { type: 'integer' } } } as const;
const INFERENCE_STATS = {
  type: 'object',
  properties: Object.fromEntries(['success', 'fail', 'queue', 'compute_input', 'compute_infer', 'compute_output', 'cache_hit'].map((k) => [k, DURATION])),
} as const;
const MODEL_STAT = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    version: { type: 'string' },
    last_inference: { type: 'integer', description: 'ms since the epoch; 0 before the first' },
    inference_count: { type: 'integer', description: 'images or tensor rows inferred successfully' },
    execution_count: { type: 'integer', description: 'onnxruntime runs (one per batch)' },
    inference_stats: INFERENCE_STATS,
  },
} as const;
const STATS_RESPONSE = { type: 'object', properties: { model_stats: { type: 'array', items: MODEL_STAT } } } as const;
const NAME = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } as const;
const NAME_VERSION = { type: 'object', required: ['name', 'version'], properties: { name: { type: 'string' }, version: { type: 'string' } } } as const;

/** The statistics routes (registered inside the v2 plugin). */
export function statsRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const schema = (summary: string, params?: typeof NAME | typeof NAME_VERSION): Record<string, unknown> => ({ tags: ['v2'], summary, ...(params ? { params } : {}), response: { 200: STATS_RESPONSE, ...failures(V2_ERROR) } });
  app.get('/v2/models/stats', { schema: schema('statistics of every model') }, async () => {
    const runs = await executions(ctx);
    return { model_stats: [...ctx.models.keys()].map((name) => modelStat(ctx, name, runs)) };
  });
  const one = async (req: FastifyRequest): Promise<Record<string, unknown>> => {
    const p = req.params as { name: string; version?: string };
    const m = findModel(ctx, p.name);
    if (p.version !== undefined && p.version !== '1') throw new ServeError('E_NOT_FOUND', `model '${m.name}' has no version '${p.version}'; it has version 1`);
    return { model_stats: [modelStat(ctx, m.name, await executions(ctx))] };
  };
  app.get('/v2/models/:name/stats', { schema: schema("one model's statistics", NAME) }, one);
  app.get('/v2/models/:name/versions/:version/stats', { schema: schema("one model's statistics", NAME_VERSION) }, one);
}

/**
 * Count a route's requests: an `onResponse` hook for the infer and classify routes. A request for a model not
 * served is not counted (there is no model to count it for), nor one refused for its API key.
 */
export function countRequests(ctx: ServeContext, timings: WeakMap<FastifyRequest, RequestTiming>) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const name = (req.params as { name?: string } | undefined)?.name;
    // a request refused for its API key never reached the model
    if (name === undefined || reply.statusCode === 401) return;
    let m: ServedModel;
    try {
      m = findModel(ctx, name);
    } catch {
      return;
    }
    recordRequest(ctx, m.name, reply.statusCode < 400, reply.elapsedTime, timings.get(req));
  };
}
