/**
 * The service's own protocol: `GET /v1/models`, `GET /v1/models/{name}`, its labels, and
 * `POST /v1/models/{name}/classify` (image bytes or a multipart upload → the rows `predict --json` writes,
 * `labels` and `threshold` included for a multi-label model).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Classification, type ErrorRow, type OutputHead, type ResultRow, answerOf, headWith, resultRow } from '../index.js';
import { type ServeContext, findModel } from './context.js';
import { ServeError, toHttpFailure } from './errors.js';
import { withTimeout } from './flow.js';
import { type ServedModel, describeModel } from './models.js';
import { CLASSIFY_ROW, DIGITS, MODEL_INFO, NAME_PARAMS, UNIT_NUMBER, V1_ERROR, failures } from './schemas.js';
import { RequestTiming, countRequests, submitTimed } from './stats.js';
import { type Upload, WHAT_TO_SEND, readUploads } from './uploads.js';

/** A row of a classify answer: the row `predict --json` writes, or `{file, error}`. */
export type ClassifyRow = Partial<ResultRow> & { file: string; error?: ErrorRow['error'] };

const CLASSIFY_QUERY = {
  type: 'object',
  description:
    "topk: classes per image [the model's topk, else 5]; threshold: multi-label models put every class reaching it in 'labels', two-class models answer class 1 when its probability reaches it [the model's, else 0.5]",
  properties: { topk: DIGITS, threshold: UNIT_NUMBER },
} as const;

/**
 * The head of a request that gives `?topk=` or `?threshold=`: the classifier's (classifier/head.ts) with them,
 * so a row is the row `predict --json --topk K --threshold T` writes. Undefined without either: the answer the
 * classifier gave in its batch is the row's as it is.
 */
function headOf(m: ServedModel, query: { topk?: string; threshold?: string }): OutputHead | undefined {
  const c = m.classifier;
  const topk = query.topk !== undefined && query.topk !== '' ? Number(query.topk) : undefined;
  if (topk !== undefined && topk < 1) throw new ServeError('E_BAD_REQUEST', `Expected a positive integer for 'topk' but received ${JSON.stringify(query.topk)}`);
  const given = query.threshold !== undefined && query.threshold !== '' ? Number(query.threshold) : undefined;
  if (given !== undefined && !(given >= 0 && given <= 1)) throw new ServeError('E_BAD_REQUEST', `Expected a number from 0 to 1 for 'threshold' but received ${JSON.stringify(query.threshold)}`);
  if (topk === undefined && given === undefined) return undefined;
  // without one in the request, the classifier's threshold (its options' or the model's)
  return headWith(c.head, { ...(topk !== undefined ? { topk: Math.min(topk, m.classes ?? Infinity) } : {}), ...(given !== undefined ? { threshold: given } : {}) });
}

/** Preprocessing (worker threads; the decoder refuses an image over --max-pixels from its header), then the batcher. */
async function classifyOne(ctx: ServeContext, m: ServedModel, u: Upload, signal: AbortSignal, timing: RequestTiming): Promise<Classification> {
  // the upload's bytes are not used again: hand them to the worker thread without a copy
  const prepared = await m.classifier.prepare(u.bytes, u.file, { transfer: true, maxPixels: ctx.limits.maxPixels });
  timing.inputMs += prepared.decodeMs + prepared.preprocessMs;
  signal.throwIfAborted();
  return submitTimed(ctx, m, prepared, signal, timing);
}

/**
 * Classify each upload; one bad file of a multipart upload is that file's row, anything else answers the
 * request. A row is the library's row of the classification (warnings included), with the request's head when
 * it gives one.
 */
async function classifyUploads(ctx: ServeContext, m: ServedModel, uploads: Upload[], multipart: boolean, head: OutputHead | undefined, timing: RequestTiming): Promise<ClassifyRow[]> {
  return withTimeout(
    ctx.limits.timeoutMs,
    (signal) =>
      Promise.all(
        uploads.map(async (u): Promise<ClassifyRow> => {
          try {
            const r = await classifyOne(ctx, m, u, signal, timing);
            return timing.time('outputMs', () => resultRow(head ? { ...r, ...answerOf(head, r.probs, m.classifier.labels) } : r, m.name, u.file));
          } catch (err) {
            const f = toHttpFailure(err);
            if (!multipart || f.status >= 500 || f.status === 401) throw err;
            return { file: u.file, error: { code: f.code, message: f.message } };
          }
        }),
      ),
    () => ctx.admission.give(uploads.length),
  );
}

export async function v1Routes(app: FastifyInstance, ctx: ServeContext): Promise<void> {
  const errs = failures(V1_ERROR);
  const tags = ['v1'];
  const { maxBatch, bodyLimit } = ctx.limits;
  const aliasesOf = (name: string): string[] => [...ctx.aliases].filter(([, n]) => n === name).map(([a]) => a);
  const info = (m: ServedModel): Record<string, unknown> => ({ ...describeModel(m, maxBatch), aliases: aliasesOf(m.name) });
  const timings = new WeakMap<FastifyRequest, RequestTiming>();

  app.get('/v1/models', { schema: { tags, summary: 'the models served', response: { 200: { type: 'object', properties: { models: { type: 'array', items: MODEL_INFO } } }, ...errs } } }, async () => ({
    models: [...ctx.models.values()].map(info),
  }));
  app.get('/v1/models/:name', { schema: { tags, summary: 'one model', params: NAME_PARAMS, response: { 200: MODEL_INFO, ...errs } } }, async (req) => info(findModel(ctx, (req.params as { name: string }).name)));
  app.get(
    '/v1/models/:name/labels',
    { schema: { tags, summary: "the model's class names", params: NAME_PARAMS, response: { 200: { type: 'object', properties: { model: { type: 'string' }, labels: { type: ['array', 'null'], items: { type: 'string' } } } }, ...errs } } },
    async (req) => {
      const m = findModel(ctx, (req.params as { name: string }).name);
      return { model: m.name, labels: m.classifier.labels ?? null };
    },
  );
  app.post(
    '/v1/models/:name/classify',
    {
      config: { accepts: 'image' },
      onResponse: countRequests(ctx, timings),
      schema: {
        tags,
        summary: 'classify images',
        description: `${WHAT_TO_SEND}. Each image answers the row predict --json writes; a bad file of a multipart upload is its own row {file, error}.`,
        params: NAME_PARAMS,
        querystring: CLASSIFY_QUERY,
        response: { 200: { type: 'object', properties: { model: { type: 'string' }, results: { type: 'array', items: CLASSIFY_ROW } } }, ...errs },
      },
    },
    async (req) => {
      const m = findModel(ctx, (req.params as { name: string }).name);
      const head = headOf(m, req.query as { topk?: string; threshold?: string });
      const { uploads, multipart } = await readUploads(req, bodyLimit);
      req.images = uploads.length;
      ctx.admission.take(uploads.length);
      const timing = new RequestTiming();
      timings.set(req, timing);
      return { model: m.name, results: await classifyUploads(ctx, m, uploads, multipart, head, timing) };
    },
  );
}
