/**
 * `pplcnet/queue`: classify images at scale on BullMQ/Redis. An adapter over the library's public API
 * (`src/index.ts`), as the CLI is: a producer that adds paths in jobs (`ImageQueue`), workers that classify
 * them with `createClassifier` and store `predict --json`'s rows (`startImageWorker`). docs/queue.md says how.
 */
export { parseRedisUrl, redactRedisUrl, type RedisTarget } from './connection.js';
export { ImageQueue, type QueueTargetOptions, type AddOptions, type AddReport, type QueueStatus, type ExportReport } from './producer.js';
export { startImageWorker, type ImageWorker, type ImageWorkerOptions } from './worker.js';
export { type ImageJobData } from './keys.js';
