/**
 * The v2 model repository extension (Triton's), as far as a server whose models are fixed at start can
 * have it: `POST /v2/repository/index` lists every model served, its version and state; load and unload
 * answer 400 saying that models are chosen when the server starts. Triton's clients send the index request's
 * JSON (`{"ready": true}`) with or without a content-type, so any is read here, within a small bound.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type ServeContext } from './context.js';
import { ServeError } from './errors.js';
import { parseJsonBounded } from './json-body.js';
import { V2_ERROR, failures } from './schemas.js';

/** Largest index, load or unload request body. */
const REQUEST_BYTES = 4096;

const INDEX_REQUEST = { type: 'object', properties: { ready: { type: 'boolean', description: 'only models ready for inference [false]' } } } as const;
const INDEX_ENTRY = {
  type: 'object',
  required: ['name', 'version', 'state', 'reason'],
  properties: { name: { type: 'string' }, version: { type: 'string' }, state: { type: 'string', description: 'READY, or LOADING while the warm-up run has not learnt its classes' }, reason: { type: 'string' } },
} as const;
const NAME = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } as const;

/** A model is ready once its warm-up run has told its class count (or its input size is not fixed). */
export function modelReady(ctx: ServeContext, name: string): boolean {
  const m = ctx.models.get(name);
  // lanes that failed (a thread died) answer every batch with an error: not ready until restarted
  return m !== undefined && m.lanes?.failure === undefined && (m.classes !== undefined || m.inputSize === undefined);
}

/** Whether every served model is ready (the server's readiness, over HTTP and gRPC). */
export function serverReady(ctx: ServeContext): boolean {
  return [...ctx.models.keys()].every((name) => modelReady(ctx, name));
}

/** Why the server is not ready: a model whose lanes failed (named, with the reason), else loading. */
export function notReadyReason(ctx: ServeContext): string {
  for (const [name, m] of ctx.models) {
    if (m.lanes?.failure !== undefined) return `model ${name} cannot run (${m.lanes.failure}): restart the server`;
  }
  return 'models are loading';
}

export async function repositoryRoutes(app: FastifyInstance, ctx: ServeContext): Promise<void> {
  const tags = ['v2'];
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: REQUEST_BYTES }, (_req: FastifyRequest, body: Buffer, done) => {
    if (body.length === 0) return done(null, {});
    parseJsonBounded(body, { maxDepth: 4, maxContainers: 64, what: 'the repository request' }).then((v) => done(null, v), (err: Error) => done(err));
  });
  // an empty body is the empty request (`ready` false)
  const emptyIsEmptyObject = async (req: FastifyRequest): Promise<void> => {
    if (req.body === undefined) req.body = {};
  };
  app.post('/v2/repository/index', { preValidation: emptyIsEmptyObject, schema: { tags, summary: 'every model served, its version and state', body: INDEX_REQUEST, response: { 200: { type: 'array', items: INDEX_ENTRY }, ...failures(V2_ERROR) } } }, async (req) => {
    const onlyReady = (req.body as { ready?: boolean } | undefined)?.ready === true;
    return [...ctx.models.keys()]
      .map((name) => {
        const failure = ctx.models.get(name)?.lanes?.failure;
        if (failure !== undefined) return { name, version: '1', state: 'UNAVAILABLE', reason: failure };
        return { name, version: '1', state: modelReady(ctx, name) ? 'READY' : 'LOADING', reason: '' };
      })
      .filter((e) => !onlyReady || e.state === 'READY');
  });
  for (const action of ['load', 'unload'] as const) {
    app.post(`/v2/repository/models/:name/${action}`, { schema: { tags, summary: `${action} a model: refused, the models are fixed at start`, params: NAME, response: { 200: { type: 'object' }, ...failures(V2_ERROR) } } }, async (req) => {
      const name = (req.params as { name: string }).name;
      const shown = name.length > 200 ? `${name.slice(0, 200)}…` : name;
      throw new ServeError('E_BAD_REQUEST', `cannot ${action} model '${shown}': this server serves the models it was started with (pplcnet serve -m …); restart it with the models wanted`);
    });
  }
}
