/** Load models, build the service and listen: what `pplcnet serve` runs. */
import { existsSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { isIP } from 'node:net';
import { type Classifier, type ClassifierOptions, PplcnetError, createClassifier, findZooEntry, resolveModel, untrainedMessage } from '../index.js';
import { type NamedClassifier, type ServeApp, type ServeOptions, checkLanes, createServeApp } from './app.js';
import { type GrpcService, startGrpcService } from './grpc/service.js';

export interface StartServerOptions extends ServeOptions, Omit<ClassifierOptions, 'model'> {
  /** Zoo names or model paths; a path is served under its file or folder name without extension. */
  models: readonly string[];
  /** [127.0.0.1] */
  host?: string;
  /** 0 picks a free port. [8080] */
  port?: number;
  /** Also serve the v2 protocol over gRPC on this port, on the same host (0 picks a free port). [none] */
  grpcPort?: number;
}

export interface RunningServer extends ServeApp {
  /** `http://host:port/`. */
  readonly url: string;
  readonly port: number;
  /** The gRPC port, when `grpcPort` was given. */
  readonly grpcPort: number | undefined;
  readonly provider: string;
  /** Warnings worth printing at start (a public address without a key). */
  readonly warnings: readonly string[];
  /**
   * Stop accepting, finish the requests in flight, close the models. Resolves `true` when everything
   * finished within `graceMs`, `false` when the time ran out (in-flight requests were cut).
   */
  shutdown(graceMs?: number): Promise<boolean>;
}

/** The name a model is served under: a path's file or folder name without extension, else the classifier's. */
export function modelServeName(spec: string, classifier: Classifier): string {
  if (existsSync(spec)) {
    const base = basename(spec.replace(/[\\/]+$/, ''));
    const ext = extname(base);
    return ext ? base.slice(0, -ext.length) : base;
  }
  return classifier.name;
}

/** Other names a model answers to: the zoo name the user typed (`textline`) and its zoo entry's names. */
export function modelAliases(spec: string, served: string, classifier: Classifier): string[] {
  const names = new Set<string>();
  if (!existsSync(spec)) names.add(spec);
  const entry = findZooEntry(classifier.name) ?? (existsSync(spec) ? undefined : findZooEntry(spec));
  if (entry) for (const n of [entry.name, ...entry.aliases]) names.add(n);
  names.delete(served);
  return [...names];
}

/** Listen, or say which port is taken and what to do. */
async function listen(served: ServeApp, host: string, port: number): Promise<void> {
  try {
    await served.app.listen({ host, port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new PplcnetError('E_IO', `port ${port} on ${host} is already in use: stop what listens there, choose another --port, or --port 0 for any free port`, { cause: err });
    if (code === 'EACCES') throw new PplcnetError('E_IO', `port ${port} on ${host} needs privileges this process lacks: choose a --port above 1023, or --port 0 for any free port`, { cause: err });
    if (code === 'EADDRNOTAVAIL') throw new PplcnetError('E_IO', `address ${host} is not one of this machine's: choose another --host (127.0.0.1, 0.0.0.0 for every interface)`, { cause: err });
    throw err;
  }
}

/** Whether an address is reachable only from this machine. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/**
 * Each model resolved once (a zoo model or a converted Paddle model comes from the cache) and loaded; its
 * bytes are also what the page's "this browser" mode runs. On a failure the ones loaded are closed.
 */
async function loadClassifiers(specs: readonly string[], options: Omit<ClassifierOptions, 'model'> & { browser?: boolean }): Promise<NamedClassifier[]> {
  const classifiers: NamedClassifier[] = [];
  try {
    for (const spec of specs) {
      const resolved = await resolveModel(spec, options);
      const classifier = await createClassifier({ ...options, model: resolved });
      const name = modelServeName(spec, classifier);
      classifiers.push({ name, classifier, aliases: modelAliases(spec, name, classifier), ...(options.browser !== false ? { onnx: resolved.bytes } : {}) });
    }
  } catch (err) {
    await Promise.all(classifiers.map((c) => c.classifier.close()));
    throw err;
  }
  return classifiers;
}

/** What is worth saying at start: a public address without a key, models that were never trained. */
function startWarnings(host: string, apiKey: string | undefined, classifiers: readonly NamedClassifier[]): string[] {
  const warnings: string[] = [];
  if (!isLoopback(host) && apiKey === undefined) {
    warnings.push(`listening on ${host}, reachable from other machines, without an API key: anyone who can reach it may use it (set --api-key or PPLCNET_API_KEY)`);
  }
  for (const { name, classifier } of classifiers) {
    if (classifier.metadata.trained === false) warnings.push(untrainedMessage(name));
  }
  return warnings;
}

/** `shutdown(graceMs)`: close everything, or cut what is still in flight when the time runs out. */
function shutdownWith(closeAll: () => Promise<void>, cut: () => void): (graceMs?: number) => Promise<boolean> {
  let closing: Promise<boolean> | undefined;
  return (graceMs = 10_000) => {
    closing ??= new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        cut();
        resolve(false);
      }, graceMs);
      closeAll().then(
        () => {
          clearTimeout(timer);
          resolve(true);
        },
        () => {
          clearTimeout(timer);
          resolve(false);
        },
      );
    });
    return closing;
  };
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { models: specs, host = '127.0.0.1', port = 8080, grpcPort, lanes, ...rest } = options;
  if (!specs || specs.length === 0) throw new RangeError("Expected at least one model for 'models' but received none");
  for (const [k, p] of [['port', port], ['grpcPort', grpcPort ?? 0]] as const) {
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new RangeError(`Expected a port from 0 to 65535 for '${k}' but received ${p}`);
  }
  checkLanes(lanes); // before any model is loaded
  const classifiers = await loadClassifiers(specs, rest);
  const closeClassifiers = (): Promise<unknown> => Promise.all(classifiers.map((c) => c.classifier.close()));
  let served: ServeApp | undefined;
  let grpc: GrpcService | undefined;
  try {
    served = await createServeApp(classifiers, { ...rest, ...(lanes !== undefined ? { lanes } : {}) });
    await listen(served, host, port);
    if (grpcPort !== undefined) grpc = await startGrpcService(served.context, { host, port: grpcPort, ...(rest.apiKey !== undefined ? { apiKey: rest.apiKey } : {}), ...(rest.log ? { log: rest.log } : {}), ...(rest.logJson ? { logJson: true } : {}) });
  } catch (err) {
    await served?.close();
    await closeClassifiers();
    throw err;
  }
  const address = served.app.server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const closeAll = async (): Promise<void> => {
    await grpc?.close();
    await served.close();
    await closeClassifiers();
  };
  return {
    ...served,
    get queueDepth() {
      return served.queueDepth;
    },
    url: `http://${shownHost}:${actualPort}/`,
    port: actualPort,
    grpcPort: grpc?.port,
    provider: classifiers[0]!.classifier.provider,
    warnings: startWarnings(host, rest.apiKey, classifiers),
    close: closeAll,
    shutdown: shutdownWith(closeAll, () => {
      grpc?.forceClose();
      served.app.server.closeAllConnections();
    }),
  };
}
