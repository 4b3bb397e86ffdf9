/**
 * `pplcnet/serve`: the HTTP service (`pplcnet serve`): dynamic batching, the v1 and v2 (KServe/Triton)
 * protocols, metrics and the page. An adapter over the library's public API (`src/index.ts`), as the CLI is;
 * docs/serve.md says how.
 */
export { createServeApp, SERVE_DEFAULTS, type ServeApp, type ServeOptions, type NamedClassifier, type ClassifyRow } from './app.js';
export { startServer, modelServeName, type StartServerOptions, type RunningServer } from './start.js';
export { Batcher, BatcherFullError, BatcherClosedError, type BatcherOptions } from './batcher.js';
export { ServeError, STATUS_OF_CODE, toHttpFailure, type HttpFailure } from './errors.js';
