/**
 * onnxruntime-node sessions: execution-provider choice (oneDNN when the binding offers it, the CPU provider
 * otherwise, said once and never silently), threads and graph optimization from options.
 */
import ort from 'onnxruntime-node';
import { PplcnetError, invalidOption } from '../errors.js';
import { FILE_LIMITS } from '../util/file-limits.js';
import { readFileBounded } from '../util/fs.js';

/** Graph optimization levels, as onnxruntime names them. */
export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';
export const GRAPH_OPT_LEVELS: readonly GraphOptimizationLevel[] = Object.freeze(['disabled', 'basic', 'extended', 'all']);

/** `auto` picks oneDNN (`dnnl`) when the binding offers it, else `cpu`. Any name the binding lists is accepted. */
export type ExecutionProviderChoice = 'auto' | 'cpu' | 'dnnl' | (string & {});

export interface SessionOptions {
  /** Execution provider. ['auto'] */
  ep?: ExecutionProviderChoice;
  /** Intra-op threads; 0 lets onnxruntime choose (one per physical core). [0] */
  threads?: number;
  /** Inter-op threads; 0 lets onnxruntime choose. [0] */
  interThreads?: number;
  /** Graph optimization level. ['all'] */
  graphOpt?: GraphOptimizationLevel;
  /** Where notices go (the provider choice, said once per process). The library never writes to stderr by itself. [none] */
  notice?: (message: string) => void;
  /** Save onnxruntime's optimized model here (for inspection or a faster start). */
  optimizedModelPath?: string;
  /**
   * Let idle intra-op threads spin between runs (onnxruntime's default). Spinning lowers latency for one
   * busy session, and wastes the cores when several sessions or other work share them. [spinning=true]
   */
  spinning?: boolean;
}

/** What the loaded binding can run: its bundled providers. @internal */
export function availableProviders(): string[] {
  return ort.listSupportedBackends().filter((b) => b.bundled).map((b) => b.name);
}

export interface ProviderDecision {
  readonly provider: string;
  /** Why, in one line, when it is worth saying (auto fell back, or auto found oneDNN). */
  readonly notice?: string;
}

/** Decide the execution provider. An explicit provider the binding lacks is an error, never a fallback. */
export function chooseProvider(choice: ExecutionProviderChoice = 'auto', available: readonly string[] = availableProviders()): ProviderDecision {
  if (typeof choice !== 'string' || choice === '') throw invalidOption('ep', "'auto' or an execution provider name", choice, 'type');
  const offered = available.join(', ');
  if (choice === 'auto') {
    if (available.includes('dnnl')) return { provider: 'dnnl', notice: 'execution provider: oneDNN (dnnl), offered by this onnxruntime-node binding' };
    return {
      provider: 'cpu',
      notice: `execution provider: cpu (oneDNN 'dnnl' is not in this onnxruntime-node binding, which offers ${offered})`,
    };
  }
  if (!available.includes(choice)) {
    throw new PplcnetError('E_PROVIDER', `execution provider '${choice}' is not available: this onnxruntime-node binding offers ${offered}. Use --ep auto or one of those.`);
  }
  return { provider: choice };
}

const said = new Set<string>();

/** Build onnxruntime session options from ours. */
export function toOrtOptions(options: SessionOptions, provider: string): ort.InferenceSession.SessionOptions {
  const threads = options.threads ?? 0;
  const inter = options.interThreads ?? 0;
  for (const [name, v] of [['threads', threads], ['interThreads', inter]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 1024) throw invalidOption(name, 'an integer from 0 (automatic) to 1024', v);
  }
  const level = options.graphOpt ?? 'all';
  if (!GRAPH_OPT_LEVELS.includes(level)) throw invalidOption('graphOpt', GRAPH_OPT_LEVELS.join(', '), level);
  return {
    executionProviders: [provider],
    ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
    ...(inter > 0 ? { interOpNumThreads: inter } : {}),
    graphOptimizationLevel: level,
    ...(options.optimizedModelPath ? { optimizedModelFilePath: options.optimizedModelPath } : {}),
    ...(options.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } } : {}),
  };
}

/** Create a session on a model file (read under `FILE_LIMITS.onnx`: a regular file of at most 54.3 MB) or bytes. */
export async function createSession(
  model: string | Uint8Array,
  options: SessionOptions = {},
  available: readonly string[] = availableProviders(),
): Promise<{ session: ort.InferenceSession; provider: string; ortOptions: ort.InferenceSession.SessionOptions }> {
  const decision = chooseProvider(options.ep ?? 'auto', available);
  if (decision.notice && options.notice && !said.has(decision.notice)) {
    said.add(decision.notice);
    options.notice(decision.notice);
  }
  const ortOptions = toOrtOptions(options, decision.provider);
  // a path is read here, bounded, rather than by onnxruntime (which would read any file, a FIFO or a device)
  const bytes = typeof model === 'string' ? await readFileBounded(model, FILE_LIMITS.onnx) : model;
  try {
    const session = await ort.InferenceSession.create(bytes, ortOptions);
    return { session, provider: decision.provider, ortOptions };
  } catch (err) {
    const what = typeof model === 'string' ? model : 'model';
    throw new PplcnetError('E_MODEL', `${what}: onnxruntime cannot load it (${(err as Error).message})`, { cause: err });
  }
}

export { ort };

/** The version of the loaded onnxruntime-node binding. */
export function onnxruntimeVersion(): string {
  const v = ort.env.versions as { node?: string; common?: string } | undefined;
  return v?.node ?? v?.common ?? 'unknown';
}
