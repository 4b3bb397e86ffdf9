/**
 * What every request goes through, whatever its route: errors in the project's shapes (router and parser
 * errors included), CORS, the API key, the body checks made before a body is read (Content-Encoding, the
 * content-type a route takes), the log line and metrics, and a bounded drain of a body left unread.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { ServeError, toHttpFailure } from './errors.js';
import type { ServeMetrics } from './metrics.js';
import { WHAT_TO_SEND } from './uploads.js';

export interface HttpOptions {
  readonly bodyLimit: number;
  readonly apiKey: string | undefined;
  readonly cors: readonly string[];
  readonly log: (line: string) => void;
  readonly logJson: boolean;
  readonly metrics: ServeMetrics;
}

/** URLs in messages are cut here (a 100 kB URL is not echoed back). */
const URL_SHOWN = 200;

export function shownUrl(url: string): string {
  const path = url.split('?')[0]!;
  return path.length > URL_SHOWN ? `${path.slice(0, URL_SHOWN)}… (${path.length} characters)` : path;
}

function isV2(url: string): boolean {
  return url === '/v2' || url.startsWith('/v2/') || url.startsWith('/v2?');
}

/** Answer a failure in the route's shape: `{error: {code, message}}`, or `{error: message}` on /v2. */
export function sendFailure(req: FastifyRequest, reply: FastifyReply, err: unknown, log: (line: string) => void): FastifyReply {
  const f = toHttpFailure(tooLarge(req, err) ?? err);
  if (f.internal) log(`error: ${req.method} ${shownUrl(req.url)}: ${(err as Error)?.stack ?? String(err)}`);
  reply.code(f.status).headers(f.headers);
  return reply.send(isV2(req.url) ? { error: f.message } : { error: { code: f.code, message: f.message } });
}

/** fastify's body-limit errors, said with the limit and the option that sets it. */
function tooLarge(req: FastifyRequest, err: unknown): ServeError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  const limit = req.routeOptions.bodyLimit;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const why = isV2(req.url) ? "--max-batch rows of the model's input in JSON, within --body-limit" : '--body-limit';
    return new ServeError('E_TOO_LARGE', `the request body is over ${limit} bytes, the most this route takes (${why})`);
  }
  if (code === 'FST_REQ_FILE_TOO_LARGE') return new ServeError('E_TOO_LARGE', `a file of the upload is over ${limit} bytes (--body-limit)`);
  return undefined;
}

/** A request fastify's router could not take (a bad percent-encoding): 400 in the project's shape. */
export function frameworkErrors(log: (line: string) => void): NonNullable<FastifyServerOptions['frameworkErrors']> {
  return (err, req, reply) => {
    const why = err.code === 'FST_ERR_BAD_URL' ? `the URL ${shownUrl(req.url)} is not valid (a bad %-escape?): escape '%' as %25` : `the request cannot be routed: ${err.message}`;
    sendFailure(req, reply, new ServeError('E_BAD_REQUEST', why), log);
  };
}

/**
 * A request Node's HTTP parser refused (a URL and headers over 16 kB, a malformed request line): answered on
 * the socket in the project's shape, as fastify's own handler would in its own.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, text, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'the URL and headers are over 16 kB: use a shorter URL (model names and query values are short)']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'the request was not received in time']
        : [400, 'Bad Request', `the request is not valid HTTP (${err.code ?? 'parse error'})`];
  const body = JSON.stringify({ error: { code: status === 400 ? 'E_BAD_REQUEST' : status === 431 ? 'E_TOO_LARGE' : 'E_TIMEOUT', message } });
  socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** A value as JSON for a message, cut at 100 characters (a body is not echoed back). */
function shortJson(v: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > 100 ? `${text.slice(0, 100)}… (${text.length} characters)` : text;
}

/** Schema failures as `Expected … for 'topk' but received "0x2"` (the schema's description says what is expected). */
export function schemaErrorFormatter(errors: FastifyError['validation'] & object, dataVar: string): Error {
  const e = errors[0] as { instancePath?: string; message?: string; parentSchema?: { description?: string }; data?: unknown } | undefined;
  const where = `${dataVar}${(e?.instancePath ?? '').replace(/\//g, '.')}`;
  const name = where.replace(/^querystring\.|^params\./, '');
  // a query or path value is short, and its schema says what is expected; a body is not echoed back
  const expected = dataVar === 'querystring' || dataVar === 'params' ? e?.parentSchema?.description : undefined;
  const message = expected ? `Expected ${expected} for '${name}' but received ${shortJson(e?.data)}` : `${where} ${e?.message ?? 'is not valid'}`;
  return new ServeError('E_BAD_REQUEST', message);
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

function isHealth(url: string): boolean {
  const path = url.split('?')[0]!;
  return path === '/v2/health/live' || path === '/v2/health/ready';
}

/** The page, the browser code it loads and the OpenAPI document (no model, no data): open without the API key. */
function isPublic(method: string, url: string): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const path = url.split('?')[0]!;
  return path === '/' || path.startsWith('/web/') || path === '/openapi.json';
}

/** CORS (only for the origins named), then the API key. */
function guard(app: FastifyInstance, o: HttpOptions): void {
  const keyDigest = o.apiKey === undefined ? undefined : sha256(o.apiKey);
  const corsOrigins = new Set(o.cors);
  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (origin && corsOrigins.size > 0 && (corsOrigins.has(origin) || corsOrigins.has('*'))) {
      reply.header('access-control-allow-origin', corsOrigins.has('*') ? '*' : origin).header('vary', 'Origin');
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
        return reply.code(204).header('access-control-allow-methods', 'GET, POST').header('access-control-allow-headers', 'authorization, content-type').header('access-control-max-age', '600').send();
      }
    }
    if (keyDigest && !isHealth(req.url) && !isPublic(req.method, req.url)) {
      const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
      // compared as SHA-256 digests with timingSafeEqual: equal lengths, constant time
      if (!m || !timingSafeEqual(sha256(m[1]!.trim()), keyDigest)) {
        reply.header('www-authenticate', 'Bearer');
        return sendFailure(req, reply, new ServeError('E_UNAUTHORIZED', m ? 'the API key is wrong' : 'this server requires an API key: send Authorization: Bearer <key>'), o.log);
      }
    }
    return undefined;
  });
}

function hasBody(req: FastifyRequest): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/** Before a body is read: identity encoding only, and the content-type the route takes. */
function bodyChecks(app: FastifyInstance): void {
  app.addHook('preParsing', async (req, _reply, payload) => {
    const encoding = req.headers['content-encoding']?.trim().toLowerCase();
    if (encoding && encoding !== 'identity') {
      throw new ServeError('E_MEDIA_TYPE', `Content-Encoding ${JSON.stringify(encoding)} is not supported: send the body uncompressed, without Content-Encoding`);
    }
    const accepts = req.routeOptions.config?.accepts;
    if (!accepts || !hasBody(req)) return payload;
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const shown = type ? `content-type ${type}` : 'a body without a content-type';
    if (accepts === 'image' && !(type.startsWith('image/') || type === 'application/octet-stream' || type === 'multipart/form-data')) {
      throw new ServeError('E_MEDIA_TYPE', `${shown} is not an image: ${WHAT_TO_SEND}`);
    }
    // a binary infer request (JSON, then tensor bytes) is known by its Inference-Header-Content-Length, whatever its type
    if (accepts === 'json' && type !== 'application/json' && req.headers['inference-header-content-length'] === undefined) {
      if (type === 'application/octet-stream') {
        throw new ServeError('E_BAD_REQUEST', 'Inference-Header-Content-Length is missing: a binary infer request must give the length of its JSON part in that header, the tensor bytes after it');
      }
      throw new ServeError('E_MEDIA_TYPE', `${shown} is not an infer request: send the request as JSON with content-type application/json, or JSON then the tensor bytes with the Inference-Header-Content-Length header`);
    }
    return payload;
  });
}

/**
 * A body left unread by an early answer (413, 415, 401) is read and thrown away up to twice the body limit,
 * so that a client still sending sees the answer; beyond that the connection is closed.
 */
function drainUnread(req: FastifyRequest, bound: number, start: number): void {
  const raw = req.raw;
  const socket = raw.socket as Socket | null;
  if (raw.complete || raw.destroyed || !socket) return;
  const check = (): void => {
    if (socket.bytesRead - start > bound) socket.destroy();
  };
  raw.on('data', check);
  raw.resume();
  check();
}

function logAndCount(app: FastifyInstance, o: HttpOptions): void {
  const started = new WeakMap<FastifyRequest, number>();
  app.addHook('onRequest', async (req) => {
    started.set(req, req.raw.socket?.bytesRead ?? 0);
  });
  app.addHook('onResponse', async (req, reply) => {
    drainUnread(req, 2 * o.bodyLimit, started.get(req) ?? 0);
    const route = req.routeOptions.url ?? 'unmatched';
    const code = String(reply.statusCode);
    o.metrics.requests.inc({ method: req.method, route, code });
    if (reply.statusCode >= 400) o.metrics.errors.inc({ route, code });
    o.metrics.latency.observe({ route }, reply.elapsedTime / 1000);
    const ms = Number(reply.elapsedTime.toFixed(1));
    const url = shownUrl(req.url);
    o.log(
      o.logJson
        ? JSON.stringify({ time: new Date().toISOString(), method: req.method, url, route, status: reply.statusCode, ms, images: req.images })
        : `${req.method} ${url} ${reply.statusCode} ${ms} ms ${req.images} image(s)`,
    );
  });
}

/** Install the hooks and handlers every route shares; `closing()` tells whether answers should end their connection. */
export function installHttp(app: FastifyInstance, o: HttpOptions, closing: () => boolean): void {
  app.decorateRequest('images', 0);
  app.setErrorHandler((err, req, reply) => sendFailure(req, reply, err, o.log));
  app.setNotFoundHandler((req, reply) => sendFailure(req, reply, new ServeError('E_NOT_FOUND', `no route ${req.method} ${shownUrl(req.url)}`), o.log));
  guard(app, o);
  bodyChecks(app);
  // once closing, answers end their keep-alive connection so the server can stop; otherwise an answer given
  // before its body was read keeps the connection (fastify closes it after a parser error, and a client still
  // sending then sees EPIPE instead of the answer): drainUnread reads the rest, up to its bound
  app.addHook('onSend', async (req, reply, payload) => {
    if (closing()) reply.header('connection', 'close');
    else if (!req.raw.complete && reply.getHeader('connection') === 'close') reply.removeHeader('connection');
    return payload;
  });
  logAndCount(app, o);
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/** Record the routes as they are added, then answer their other methods with 405 and Allow. */
export function methodGuard(app: FastifyInstance, log: (line: string) => void): () => void {
  const routes = new Map<string, Set<string>>();
  app.addHook('onRoute', (r) => {
    if (r.schema?.hide) return;
    const methods = routes.get(r.url) ?? new Set<string>();
    for (const m of [r.method].flat()) if (m !== 'HEAD') methods.add(m);
    routes.set(r.url, methods);
  });
  return () => {
    for (const [url, set] of routes) {
      const allowed = set.has('GET') ? [...set, 'HEAD'] : [...set];
      app.route({
        method: METHODS.filter((m) => !allowed.includes(m)) as unknown as string[],
        url,
        schema: { hide: true },
        handler: async (req, reply) => sendFailure(req, reply, new ServeError('E_METHOD', `${req.method} is not allowed on ${url}; use ${allowed.join(' or ')}`, { allow: allowed.join(', ') }), log),
      });
    }
  };
}
