/**
 * The page at `/` and what its "this browser" mode loads: the browser bundle (`/web/app.js`), onnxruntime-web's
 * files (`/web/ort/{file}`) and each model's ONNX bytes (`/v1/models/{name}/model.onnx`), all cross-origin
 * isolated (COOP/COEP) so the browser can use threads.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type BrowserAsset, BrowserAssets, type Copies, CopyStore, acceptedEncoding } from './browser.js';
import { type ServeContext, findModel } from './context.js';
import { ServeError } from './errors.js';
import { servePageHtml } from './page.js';
import { NAME_PARAMS, V1_ERROR, failures } from './schemas.js';

/** COOP/COEP: the page is cross-origin isolated (WASM threads); everything it loads is same-origin. */
const ISOLATION_HEADERS = Object.freeze({ 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });

/** A response of bytes of these media types (no serialization: the payload is sent as it is). */
const bytesOf = (...types: string[]): Record<string, unknown> => ({ description: 'the file', content: Object.fromEntries(types.map((t) => [t, { schema: { type: 'string', format: 'binary' } }])) });
const JS_FILE = bytesOf('text/javascript');

/**
 * Choose the representation for the request: a compressed copy (Content-Encoding, its own ETag, which is the
 * original's with `-br`/`-gzip` inside the quotes) when Accept-Encoding allows one; Vary says so either way.
 * Returns the copy's bytes, or undefined for the original.
 */
function negotiate(req: FastifyRequest, reply: FastifyReply, copies: Copies, etag?: string): Uint8Array | undefined {
  reply.header('vary', 'accept-encoding');
  const encoding = acceptedEncoding(req.headers['accept-encoding'], copies);
  if (etag) reply.header('etag', encoding ? `${etag.slice(0, -1)}-${encoding}"` : etag);
  if (!encoding) return undefined;
  reply.header('content-encoding', encoding);
  return copies[encoding];
}

const bodyOf = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** An asset with its ETag (304 when the browser has it), isolated like the page, compressed when accepted. */
async function sendAsset(req: FastifyRequest, reply: FastifyReply, browser: BrowserAssets, asset: Promise<BrowserAsset>): Promise<FastifyReply> {
  const a = await asset;
  reply.headers(ISOLATION_HEADERS).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').type(a.type);
  const copy = negotiate(req, reply, await browser.assetCopies(a), a.etag);
  if (req.headers['if-none-match'] === reply.getHeader('etag')) return reply.code(304).send();
  if (copy) return reply.header('content-length', copy.length).send(bodyOf(copy));
  return reply.header('content-length', a.size).send(BrowserAssets.body(a));
}

function browserRoutes(app: FastifyInstance, ctx: ServeContext, browser: BrowserAssets): void {
  const errs = failures(V1_ERROR);
  const tags = ['page'];
  app.get('/web/app.js', { schema: { tags, summary: "the page's browser bundle (export-web's app.js)", response: { 200: JS_FILE, ...errs } } }, async (req, reply) => sendAsset(req, reply, browser, browser.script()));
  app.get(
    '/web/ort/:file',
    { schema: { tags, summary: "onnxruntime-web's files", params: { type: 'object', required: ['file'], properties: { file: { type: 'string', description: browser.runtimeNames.join(', ') } } }, response: { 200: bytesOf('text/javascript', 'application/wasm'), ...errs } } },
    async (req, reply) => {
      const file = (req.params as { file: string }).file;
      const asset = browser.runtime(file);
      if (!asset) throw new ServeError('E_NOT_FOUND', `no file ${JSON.stringify(file)} here; /web/ort/ serves ${browser.runtimeNames.join(', ')}`);
      return sendAsset(req, reply, browser, asset);
    },
  );
  app.get('/v1/models/:name/model.onnx', { schema: { tags, summary: "the model's ONNX bytes", params: NAME_PARAMS, response: { 200: bytesOf('application/octet-stream'), ...errs } } }, async (req, reply) => {
    const m = findModel(ctx, (req.params as { name: string }).name);
    const bytes = ctx.onnx.get(m.name);
    if (!bytes) throw new ServeError('E_NOT_FOUND', `the ONNX bytes of model '${m.name}' are not available on this server`);
    reply
      .type('application/octet-stream')
      .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(m.name)}.onnx`)
      .header('cache-control', 'no-cache');
    return reply.send(bodyOf(negotiate(req, reply, await browser.copies.copiesOf(bytes)) ?? bytes));
  });
}

export async function pageRoutes(app: FastifyInstance, ctx: ServeContext): Promise<void> {
  const browser = ctx.browser;
  const html = Buffer.from(servePageHtml(browser ? { browser: true, ort: browser.ort, wasmSha256: await browser.wasmSha256() } : { browser: false }));
  const copies = browser?.copies ?? new CopyStore();
  app.get('/', { schema: { tags: ['page'], summary: 'the page: drop images, see their classes', response: { 200: { description: 'the page', content: { 'text/html': { schema: { type: 'string' } } } }, ...failures(V1_ERROR) } } }, async (req, reply) => {
    if (browser) reply.headers(ISOLATION_HEADERS);
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache');
    return reply.send(bodyOf(negotiate(req, reply, await copies.copiesOf(html)) ?? html));
  });
  if (browser) browserRoutes(app, ctx, browser);
}
