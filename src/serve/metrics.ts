/** Prometheus metrics of the service, in a registry of its own (several servers may share a process). */
import type { FastifyInstance } from 'fastify';
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { V1_ERROR, failures } from './schemas.js';

export interface ServeMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'method' | 'route' | 'code'>;
  readonly errors: Counter<'route' | 'code'>;
  readonly latency: Histogram<'route'>;
  readonly batchSize: Histogram<'model'>;
  readonly batchSeconds: Histogram<'model'>;
  readonly queueDepth: Gauge;
  readonly images: Counter<'model'>;
}

/** prom-client loads here, when a server starts, so that the other commands do not pay for it at start-up. */
export async function createMetrics({ processMetrics = true }: { processMetrics?: boolean } = {}): Promise<ServeMetrics> {
  const { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } = await import('prom-client');
  const registry = new Registry();
  if (processMetrics) collectDefaultMetrics({ register: registry, prefix: 'pplcnet_' });
  const registers = [registry];
  return {
    registry,
    requests: new Counter({ name: 'pplcnet_http_requests_total', help: 'HTTP requests by method, route and status code', labelNames: ['method', 'route', 'code'], registers }),
    errors: new Counter({ name: 'pplcnet_http_errors_total', help: 'HTTP answers with a status of 400 or more, by route and status code', labelNames: ['route', 'code'], registers }),
    latency: new Histogram({
      name: 'pplcnet_http_request_duration_seconds',
      help: 'Time from request to response, by route',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    batchSize: new Histogram({ name: 'pplcnet_batch_size', help: 'Images per onnxruntime run, by model', labelNames: ['model'], buckets: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64], registers }),
    batchSeconds: new Histogram({
      name: 'pplcnet_batch_duration_seconds',
      help: 'Duration of one batched onnxruntime run, by model',
      labelNames: ['model'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    }),
    queueDepth: new Gauge({ name: 'pplcnet_queue_depth', help: 'Images accepted and not yet answered (being decoded, waiting for a batch, or running)', registers }),
    images: new Counter({ name: 'pplcnet_images_classified_total', help: 'Images classified, by model', labelNames: ['model'], registers }),
  };
}

/** `GET /metrics`: the registry in Prometheus's text format. */
export async function metricsRoutes(app: FastifyInstance, metrics: ServeMetrics): Promise<void> {
  app.get('/metrics', { schema: { tags: ['metrics'], summary: "Prometheus metrics (the service's and the process's)", response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } }, ...failures(V1_ERROR) } } }, async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
}
