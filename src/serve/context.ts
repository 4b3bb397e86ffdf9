/** What every route plugin of the service shares: the options in force, the models, admission and metrics. @internal */
import type { BrowserAssets } from './browser.js';
import { ServeError } from './errors.js';
import type { Admission } from './flow.js';
import type { ServeMetrics } from './metrics.js';
import type { ServedModel } from './models.js';

/** The service's limits, defaults filled in. */
export interface ServeLimits {
  readonly maxBatch: number;
  readonly maxDelayMs: number;
  readonly maxQueue: number;
  readonly timeoutMs: number;
  readonly bodyLimit: number;
  readonly maxPixels: number;
  readonly maxFiles: number;
}

export interface ServeContext {
  readonly limits: ServeLimits;
  /** Models by the name they are served under. */
  readonly models: ReadonlyMap<string, ServedModel>;
  /** Other names → served name (a zoo alias such as `textline`). */
  readonly aliases: ReadonlyMap<string, string>;
  readonly admission: Admission;
  readonly metrics: ServeMetrics;
  /** ONNX bytes by served name, for the page's "this browser" mode. */
  readonly onnx: ReadonlyMap<string, Uint8Array>;
  /** The page's browser files; undefined with `browser: false`. */
  readonly browser: BrowserAssets | undefined;
}

/** The model served under `name` or one of its aliases; 404 naming what is loaded otherwise. */
export function findModel(ctx: ServeContext, name: string): ServedModel {
  const m = ctx.models.get(name) ?? ctx.models.get(ctx.aliases.get(name) ?? '');
  if (!m) {
    const shown = name.length > 200 ? `${name.slice(0, 200)}… (${name.length} characters)` : name;
    throw new ServeError('E_NOT_FOUND', `model '${shown}' is not loaded; loaded: ${[...ctx.models.keys()].join(', ')}`);
  }
  return m;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The bodies a route takes, checked before one is read: image bytes or multipart/form-data, or application/json. */
    accepts?: 'image' | 'json';
  }
  interface FastifyRequest {
    /** Images this request carried (for the log line). */
    images: number;
  }
}
