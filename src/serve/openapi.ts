/**
 * The OpenAPI 3 document of the service, made by @fastify/swagger from the routes' schemas and served at
 * `/openapi.json`. What schemas cannot say (a classify request's body is image bytes or a multipart form,
 * read by the route itself) is added to the document here.
 */
import type { FastifyInstance } from 'fastify';
import { VERSION } from '../index.js';
import { V1_ERROR, failures } from './schemas.js';

type Operation = Record<string, unknown>;
type Paths = Record<string, Record<string, Operation>>;

/** v2 infer's binary form (the binary tensor data extension): JSON then tensor bytes, both ways. */
function addBinaryInfer(paths: Paths): void {
  const binary = { schema: { type: 'string', format: 'binary', description: 'the JSON (Inference-Header-Content-Length bytes), then the tensor bytes, little-endian' } };
  const header = { name: 'Inference-Header-Content-Length', in: 'header', required: false, description: "the length of the JSON part of a binary request; the tensors' bytes follow it", schema: { type: 'string', pattern: '^[0-9]{1,15}$' } };
  for (const path of ['/v2/models/{name}/infer', '/v2/models/{name}/versions/{version}/infer']) {
    const infer = paths[path]?.post;
    if (!infer) continue;
    const body = infer.requestBody as { content?: Record<string, unknown> } | undefined;
    if (body?.content) body.content['application/octet-stream'] = binary;
    infer.parameters = [...((infer.parameters as unknown[] | undefined) ?? []), header];
    const ok = (infer.responses as Record<string, { content?: Record<string, unknown> }> | undefined)?.['200'];
    if (ok?.content) ok.content['application/octet-stream'] = binary;
  }
}

/** The request bodies the routes read themselves. */
function addRawBodies(paths: Paths): void {
  addBinaryInfer(paths);
  const classify = paths['/v1/models/{name}/classify']?.post;
  if (classify) {
    const bytes = { schema: { type: 'string', format: 'binary' } };
    classify.requestBody = {
      required: true,
      content: {
        'image/*': bytes,
        'application/octet-stream': bytes,
        'multipart/form-data': { schema: { type: 'object', additionalProperties: { type: 'string', format: 'binary' }, description: 'one or more image files' } },
      },
    };
  }
}

/** Register @fastify/swagger (before any route, it collects them as they are added). */
export async function registerOpenApi(app: FastifyInstance, withKey: boolean): Promise<void> {
  const { default: swagger } = await import('@fastify/swagger');
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'pplcnet serve', version: VERSION, description: 'PP-LCNet image classification: the v1 classify API, the v2 inference protocol (KServe/Triton REST), metrics and a page.' },
      tags: [{ name: 'v1' }, { name: 'v2' }, { name: 'page' }, { name: 'metrics' }, { name: 'meta' }],
      ...(withKey ? { components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } }, security: [{ bearer: [] }] } : {}),
    },
    transformObject: (doc) => {
      const o = (doc as { openapiObject: { paths?: Paths } }).openapiObject;
      addRawBodies(o.paths ?? {});
      return o as never;
    },
  });
}

/** `GET /openapi.json`. */
export async function openApiRoutes(app: FastifyInstance): Promise<void> {
  app.get('/openapi.json', { schema: { tags: ['meta'], summary: 'this document', response: { 200: { type: 'object', additionalProperties: true }, ...failures(V1_ERROR) } } }, async () => app.swagger());
}
