/**
 * The v2 inference protocol over gRPC (KServe's `inference.GRPCInferenceService`): ServerLive, ServerReady,
 * ModelReady, ServerMetadata, ModelMetadata and ModelInfer, served from the same models, batchers, admission,
 * limits and API key as the HTTP service. ModelInfer goes through the HTTP v2 route's checks (one FP32
 * `[N,3,H,W]` input, at most --max-batch rows, finite elements) and its rows join the same batches as HTTP
 * requests. Errors are gRPC statuses made from the service's one error table (400 → INVALID_ARGUMENT, 401 →
 * UNAUTHENTICATED, 404 → NOT_FOUND, 413 → RESOURCE_EXHAUSTED, 503 → UNAVAILABLE, 504 → DEADLINE_EXCEEDED).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { fileURLToPath } from 'node:url';
import type * as Grpc from '@grpc/grpc-js';
import { PplcnetError, VERSION } from '../../index.js';
import { type ServeContext, findModel } from '../context.js';
import { ServeError, toHttpFailure } from '../errors.js';
import type { ServedModel } from '../models.js';
import { modelReady, serverReady } from '../repository.js';
import { RequestTiming, recordRequest, runRows } from '../stats.js';
import { parseInferRequest, v2ModelMetadata } from '../v2.js';
import { type ModelInferRequest, type ModelInferResponse, inferAnswer, inferBody } from './tensors.js';

/** The service definition, copied next to this file at build time. */
export const INFERENCE_PROTO = fileURLToPath(new URL('./inference.proto', import.meta.url));

/** Room in a message for everything but the tensor's elements. */
const ENVELOPE_BYTES = 64 * 1024;

export interface GrpcOptions {
  /** [127.0.0.1] */
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** When set, every call but ServerLive and ServerReady needs metadata `authorization: Bearer <key>`. */
  apiKey?: string;
  /** One line per call goes here (and server faults with their stack). [nothing] */
  log?: (line: string) => void;
  /** Log lines as JSON objects. */
  logJson?: boolean;
}

export interface GrpcService {
  readonly port: number;
  /** Stop accepting calls; resolves when the calls in flight have finished. */
  close(): Promise<void>;
  /** Cut the calls still in flight. */
  forceClose(): void;
}

/** gRPC status of an HTTP status from the service's error table. */
function grpcStatus(grpc: typeof Grpc, http: number): Grpc.status {
  const s = grpc.status;
  const byHttp: Record<number, Grpc.status> = { 400: s.INVALID_ARGUMENT, 401: s.UNAUTHENTICATED, 404: s.NOT_FOUND, 405: s.UNIMPLEMENTED, 413: s.RESOURCE_EXHAUSTED, 415: s.INVALID_ARGUMENT, 503: s.UNAVAILABLE, 504: s.DEADLINE_EXCEEDED };
  return byHttp[http] ?? s.INTERNAL;
}

/** The largest message a ModelInfer may need: --max-batch rows of the biggest model's input as FP32, within --body-limit. */
export function grpcMessageBound(ctx: ServeContext): number {
  const { maxBatch, bodyLimit } = ctx.limits;
  const sizes = [...ctx.models.values()].map((m) => (m.inputSize ? maxBatch * 3 * m.inputSize[0] * m.inputSize[1] * 4 + ENVELOPE_BYTES : bodyLimit));
  return Math.min(bodyLimit, Math.max(...sizes));
}

/** The model a call names, and its version checked ('' or '1'). */
function modelOf(ctx: ServeContext, name: string, version: string): ServedModel {
  const m = findModel(ctx, name ?? '');
  if (version && version !== '1') throw new ServeError('E_NOT_FOUND', `model '${m.name}' has no version '${version}'; it has version 1`);
  return m;
}

/** ModelInfer: the v2 checks, admission, the model's batcher, the answer in the request's form. */
async function modelInfer(ctx: ServeContext, req: ModelInferRequest, call: CallInfo): Promise<ModelInferResponse> {
  const m = modelOf(ctx, req.model_name, req.model_version);
  const timing = new RequestTiming();
  try {
    const { rows, n, outputs } = timing.time('inputMs', () => parseInferRequest(inferBody(req), m, Math.min(ctx.limits.maxBatch, ctx.admission.limit)));
    call.images = n;
    const results = await runRows(ctx, m, rows, timing, call.cancelled);
    const answer = timing.time('outputMs', () => inferAnswer(m, req.id ?? '', results, outputs, (req.raw_input_contents ?? []).length > 0));
    recordRequest(ctx, m.name, true, performance.now() - timing.start, timing);
    return answer;
  } catch (err) {
    recordRequest(ctx, m.name, false, performance.now() - timing.start, undefined);
    throw err;
  }
}

/** What the log line says about a call. */
interface CallInfo {
  images: number;
  /** Aborts when the client cancels the call or its deadline passes: its rows leave the queue. */
  cancelled: AbortSignal;
}

/** The calls by name: each takes the request and answers the response message. */
function handlers(ctx: ServeContext): Record<string, (req: never, call: CallInfo) => unknown> {
  return {
    ServerLive: () => ({ live: true }),
    ServerReady: () => ({ ready: serverReady(ctx) }),
    ModelReady: (req: { name: string; version: string }) => ({ ready: modelReady(ctx, modelOf(ctx, req.name, req.version).name) }),
    // the v2 extensions the HTTP service has are not served over gRPC
    ServerMetadata: () => ({ name: 'pplcnet', version: VERSION, extensions: [] }),
    ModelMetadata: (req: { name: string; version: string }) => v2ModelMetadata(modelOf(ctx, req.name, req.version)),
    ModelInfer: (req: ModelInferRequest, call: CallInfo) => modelInfer(ctx, req, call),
  };
}

/** Calls that need no key, as the HTTP health checks. */
const OPEN_CALLS = new Set(['ServerLive', 'ServerReady']);

/** Bind, or say which port is taken and what to do. */
function bind(grpc: typeof Grpc, server: Grpc.Server, host: string, port: number): Promise<number> {
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) => {
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(new PplcnetError('E_IO', `the gRPC service cannot listen on ${address} (${err.message}): is the port in use? choose another --grpc-port, or 0 for any free port`, { cause: err }));
      else resolve(bound);
    });
  });
}

/** Start the gRPC service over the HTTP service's context. */
export async function startGrpcService(ctx: ServeContext, options: GrpcOptions): Promise<GrpcService> {
  // loaded when a gRPC server is started, not when the library is imported
  const [grpc, protoLoader] = await Promise.all([import('@grpc/grpc-js'), import('@grpc/proto-loader')]);
  const definition = await protoLoader.load(INFERENCE_PROTO, { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  const service = (grpc.loadPackageDefinition(definition).inference as Grpc.GrpcObject).GRPCInferenceService as Grpc.ServiceClientConstructor;
  const bound = grpcMessageBound(ctx);
  const server = new grpc.Server({ 'grpc.max_receive_message_length': bound });
  const keyDigest = options.apiKey === undefined ? undefined : sha256(options.apiKey);
  const log = options.log ?? (() => {});
  const implementation: Grpc.UntypedServiceImplementation = {};
  for (const [name, handle] of Object.entries(handlers(ctx))) {
    implementation[name] = (call: Grpc.ServerUnaryCall<unknown, unknown>, callback: Grpc.sendUnaryData<unknown>) => {
      const t0 = performance.now();
      const cancel = new AbortController();
      // every row of the call follows this one signal
      setMaxListeners(0, cancel.signal);
      call.once('cancelled', () => cancel.abort(new ServeError('E_TIMEOUT', 'the client cancelled the call or its deadline passed')));
      const info: CallInfo = { images: 0, cancelled: cancel.signal };
      const done = (code: Grpc.status): void => {
        const ms = Number((performance.now() - t0).toFixed(1));
        const status = grpc.status[code];
        log(options.logJson ? JSON.stringify({ time: new Date().toISOString(), method: 'gRPC', rpc: name, status, ms, images: info.images }) : `gRPC ${name} ${status} ${ms} ms ${info.images} image(s)`);
      };
      const answer = async (): Promise<unknown> => {
        if (keyDigest && !OPEN_CALLS.has(name)) checkKey(call.metadata, keyDigest);
        return handle(call.request as never, info);
      };
      answer().then(
        (response) => {
          callback(null, response);
          done(grpc.status.OK);
        },
        (err: unknown) => {
          const f = toHttpFailure(err);
          if (f.internal) log(`gRPC ${name}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
          const code = grpcStatus(grpc, f.status);
          callback({ code, details: f.message });
          done(code);
        },
      );
    };
  }
  server.addService(service.service, implementation);
  const port = await bind(grpc, server, options.host ?? '127.0.0.1', options.port);
  return {
    port,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    forceClose: () => server.forceShutdown(),
  };
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Metadata `authorization: Bearer <key>`, compared as SHA-256 digests in constant time (as over HTTP). */
function checkKey(metadata: Grpc.Metadata, keyDigest: Buffer): void {
  const value = metadata.get('authorization')[0];
  const m = /^Bearer\s+(.+)$/i.exec(typeof value === 'string' ? value : '');
  if (!m || !timingSafeEqual(sha256(m[1]!.trim()), keyDigest)) {
    throw new ServeError('E_UNAUTHORIZED', m ? 'the API key is wrong' : 'this server requires an API key: send metadata authorization: Bearer <key>');
  }
}
