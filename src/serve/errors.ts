/**
 * Errors of the HTTP service: one table from error code to HTTP status, used by every route. Clients get
 * `{error: {code, message}}` (v1) or `{error: message}` (v2), never a stack trace.
 */
import { PplcnetError } from '../index.js';
import { BatcherClosedError, BatcherFullError } from './batcher.js';

/** Codes the service adds to the library's. */
export type ServeErrorCode =
  | 'E_NOT_FOUND'
  | 'E_METHOD'
  | 'E_UNAUTHORIZED'
  | 'E_BAD_REQUEST'
  | 'E_TOO_LARGE'
  | 'E_MEDIA_TYPE'
  | 'E_QUEUE_FULL'
  | 'E_TIMEOUT'
  | 'E_CLOSING'
  | 'E_INTERNAL';

/** Error code → HTTP status. Codes not listed are server faults (500). */
export const STATUS_OF_CODE: Readonly<Record<string, number>> = Object.freeze({
  // the image or request is at fault
  E_IMAGE: 400,
  E_TRUNCATED: 400,
  E_FORMAT: 400,
  E_BAD_REQUEST: 400,
  E_UNAUTHORIZED: 401,
  E_NOT_FOUND: 404,
  E_METHOD: 405,
  E_TOO_LARGE: 413,
  E_MEDIA_TYPE: 415,
  // the service is busy or stopping
  E_QUEUE_FULL: 503,
  E_CLOSING: 503,
  E_TIMEOUT: 504,
});

/** A failure with an HTTP meaning. */
export class ServeError extends Error {
  readonly status: number;
  constructor(
    readonly code: ServeErrorCode | string,
    message: string,
    /** Extra response headers (Retry-After, Allow). */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ServeError';
    this.status = STATUS_OF_CODE[code] ?? 500;
  }
}

/** How an error is answered: status, code, the message a client may see, and whether it is our fault. */
export interface HttpFailure {
  status: number;
  code: string;
  message: string;
  headers: Readonly<Record<string, string>>;
  /** A server fault: log its stack, show the client a generic message. */
  internal: boolean;
}

/** Map any thrown value to its HTTP answer through {@link STATUS_OF_CODE}. */
export function toHttpFailure(err: unknown): HttpFailure {
  if (err instanceof ServeError) return { status: err.status, code: err.code, message: err.message, headers: err.headers, internal: err.status >= 500 && err.status !== 503 && err.status !== 504 };
  if (err instanceof BatcherFullError) return toHttpFailure(new ServeError('E_QUEUE_FULL', `the server is busy: ${err.message}; retry later`, { 'retry-after': '1' }));
  if (err instanceof BatcherClosedError) return toHttpFailure(new ServeError('E_CLOSING', 'the server is shutting down', { 'retry-after': '1' }));
  if (err instanceof PplcnetError) {
    const status = STATUS_OF_CODE[err.code] ?? 500;
    return { status, code: err.code, message: status < 500 ? err.message : 'internal error (see the server log)', headers: {}, internal: status >= 500 };
  }
  // fastify's own errors (body too large, bad JSON, unsupported media type, multipart limits) carry a 4xx statusCode
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown };
  if (e && typeof e === 'object' && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const byStatus: Record<number, string> = { 400: 'E_BAD_REQUEST', 404: 'E_NOT_FOUND', 405: 'E_METHOD', 413: 'E_TOO_LARGE', 415: 'E_MEDIA_TYPE' };
    return { status: e.statusCode, code: byStatus[e.statusCode] ?? 'E_BAD_REQUEST', message: String(e.message), headers: {}, internal: false };
  }
  return { status: 500, code: 'E_INTERNAL', message: 'internal error (see the server log)', headers: {}, internal: true };
}
