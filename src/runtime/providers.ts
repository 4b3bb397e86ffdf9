/**
 * Execution providers and session options as pplcnet names them: the choice of provider (oneDNN when the
 * binding offers it, the CPU provider otherwise, said once and never silently), and the binding's version.
 * Its declarations name no onnxruntime type, so the package's public types stand alone (a consumer's
 * type check with `skipLibCheck: false` never reads onnxruntime's browser-facing declarations).
 */
import ort from './ort.js';
import { PplcnetError, invalidOption } from '../errors.js';

import type { GraphOptimizationLevel } from './levels.js';

export { GRAPH_OPT_LEVELS, type GraphOptimizationLevel } from './levels.js';

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

/** The version of the loaded onnxruntime-node binding. */
export function onnxruntimeVersion(): string {
  const v = ort.env.versions as { node?: string; common?: string } | undefined;
  return v?.node ?? v?.common ?? 'unknown';
}
