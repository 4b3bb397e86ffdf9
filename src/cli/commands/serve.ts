/** `pplcnet serve`: an HTTP inference service (dynamic batching, a page, the v2 inference protocol). */
import { Command, InvalidArgumentError, Option } from '../commander.js';
import { type DecodeMode } from '../../index.js';
import { SERVE_DEFAULTS, startServer } from '../../serve/index.js';
import type { CliContext } from '../context.js';
import { type ModelSourceFlags, type SessionFlags, addDecodeOption, addModelSourceOptions, addSessionOptions, decodeOptionFrom, modelSourceOptionsFrom, requireModels, sessionOptionsFrom } from '../options.js';
import { parseInteger, parseNumber, parsePositiveInteger } from '../parse.js';

interface ServeFlags extends SessionFlags, ModelSourceFlags {
  decode: DecodeMode;
  model: string[];
  host: string;
  port: number;
  grpcPort?: number;
  maxBatch: number;
  maxDelayMs: number;
  maxQueue: number;
  timeoutMs: number;
  bodyLimit: number;
  maxPixels: number;
  apiKey?: string;
  cors: string[];
  logJson: boolean;
  browser: boolean;
  graceMs: number;
  workers?: number;
  lanes?: number;
}

/** `20MB`, `512k`, `1048576` → bytes (k/M/G are powers of 1024). */
export function parseByteSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`Expected a size such as 20MB, 512k or 1048576 but received ${JSON.stringify(value)}.`);
  const n = Math.round(Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase()));
  if (n < 1) throw new InvalidArgumentError(`Expected a size of at least 1 byte but received ${JSON.stringify(value)}.`);
  return n;
}

/** `50M`, `50e6`, `4000000` → pixels (k/M are powers of 1000). */
function parsePixels(value: string): number {
  const m = /^(\d+(?:\.\d+)?(?:e\d+)?)\s*([km]?)p?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`Expected a pixel count such as 50M or 4000000 but received ${JSON.stringify(value)}.`);
  const n = Math.round(Number(m[1]) * 1000 ** ' km'.indexOf((m[2] || ' ').toLowerCase()));
  if (n < 1) throw new InvalidArgumentError(`Expected at least 1 pixel but received ${JSON.stringify(value)}.`);
  return n;
}

function parseNonNegative(value: string): number {
  const n = parseNumber(value);
  if (n < 0) throw new InvalidArgumentError(`Expected a number ≥ 0 but received ${JSON.stringify(value)}.`);
  return n;
}

function parsePort(value: string): number {
  const n = parseInteger(value);
  if (n < 0 || n > 65535) throw new InvalidArgumentError(`Expected a port from 0 to 65535 but received ${JSON.stringify(value)}.`);
  return n;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];
const collectList = (value: string, previous: string[]): string[] => [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];

export function serveCommand(ctx: CliContext): Command {
  const d = SERVE_DEFAULTS;
  const cmd = new Command('serve')
    .description('serve models over HTTP: classify endpoint, v2 inference protocol, metrics and a page at /')
    .addOption(new Option('-m, --model <name|path>', 'a model to serve (repeat for several)').argParser(collect).default([], '$PPLCNET_MODEL'))
    .option('--host <address>', 'address to bind (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--port <n>', 'port (0: any free port)', parsePort, 8080)
    .option('--grpc-port <n>', 'also serve the v2 protocol over gRPC (KServe GRPCInferenceService) on this port (0: any free port)', parsePort)
    .option('--max-batch <n>', 'most images per onnxruntime run', parsePositiveInteger, d.maxBatch)
    .option('--max-delay-ms <ms>', 'how long the first image of a batch waits for others', parseNonNegative, d.maxDelayMs)
    .option('--max-queue <n>', 'most images waiting; beyond, 503 with Retry-After', parsePositiveInteger, d.maxQueue)
    .option('--timeout-ms <ms>', 'per-request time limit; beyond, 504', parsePositiveInteger, d.timeoutMs)
    .addOption(new Option('--body-limit <size>', 'largest request body, e.g. 20MB, 512k; beyond, 413').argParser(parseByteSize).default(d.bodyLimit, '20MB'))
    .addOption(new Option('--max-pixels <n>', 'largest image, width × height, e.g. 50M; beyond, 400').argParser(parsePixels).default(d.maxPixels, '50M'))
    .option('--api-key <key>', 'require Authorization: Bearer <key> on every route but the health checks (default $PPLCNET_API_KEY)')
    .addOption(new Option('--cors <origins>', 'origins allowed to call from a browser, comma-separated (* for any)').argParser(collectList).default([], 'none'))
    .option('--log-json', 'one JSON object per request on stderr', false)
    .option('--no-browser', "no \"Run on: this browser\" on the page: no /web/* files, no /v1/models/NAME/model.onnx")
    .option('--grace-ms <ms>', 'on SIGTERM/SIGINT, how long in-flight requests may take before exiting', parsePositiveInteger, 10_000)
    .option('--workers <n>', 'preprocessing threads (0: main thread; default: planned from the core count)', parseInteger)
    .option('--lanes <n>', 'inference lanes per model: threads with their own session that run the batches, so the main thread keeps answering (0: batches run on the main thread; default: the intra-op threads the plan gives inference, 1 to 4)', parseInteger);
  addDecodeOption(cmd);
  addSessionOptions(cmd);
  addModelSourceOptions(cmd);
  return cmd.action(async (flags: ServeFlags) => {
    const models = requireModels(flags.model);
    const apiKey = flags.apiKey ?? (process.env.PPLCNET_API_KEY || undefined);
    const server = await startServer({
      models,
      host: flags.host,
      port: flags.port,
      ...(flags.grpcPort !== undefined ? { grpcPort: flags.grpcPort } : {}),
      maxBatch: flags.maxBatch,
      maxDelayMs: flags.maxDelayMs,
      maxQueue: flags.maxQueue,
      timeoutMs: flags.timeoutMs,
      bodyLimit: flags.bodyLimit,
      maxPixels: flags.maxPixels,
      cors: flags.cors,
      logJson: flags.logJson,
      browser: flags.browser,
      log: (line) => ctx.stderr(`${line}\n`),
      ...(apiKey ? { apiKey } : {}),
      ...sessionOptionsFrom(flags, ctx),
      ...modelSourceOptionsFrom(flags, ctx),
      ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
      ...(flags.lanes !== undefined ? { lanes: flags.lanes } : {}),
      ...decodeOptionFrom(flags),
    });
    for (const w of server.warnings) ctx.stderr(`pplcnet: warning: ${w}\n`);
    const lines = [`pplcnet serve: ${server.url} (provider ${server.provider}${apiKey ? ', API key required' : ''})`];
    if (server.grpcPort !== undefined) lines.push(`  gRPC (inference.GRPCInferenceService): ${flags.host.includes(':') ? `[${flags.host}]` : flags.host}:${server.grpcPort}`);
    for (const name of server.models.keys()) lines.push(`  model ${name}: POST ${server.url}v1/models/${encodeURIComponent(name)}/classify`);
    ctx.stdout(`${lines.join('\n')}\n`);
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    ctx.stderr(`pplcnet: ${signal}: finishing the requests in flight (up to ${flags.graceMs} ms)\n`);
    const clean = await server.shutdown(flags.graceMs);
    if (!clean) {
      ctx.stderr(`pplcnet: requests still running after ${flags.graceMs} ms (--grace-ms) were cut\n`);
      process.exitCode = 1;
    } else ctx.stderr('pplcnet: stopped\n');
  });
}
