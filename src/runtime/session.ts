/**
 * onnxruntime-node sessions: the execution provider chosen (see providers.ts), threads and graph optimization
 * from options. Internal: its declarations name onnxruntime's types, which the public API never does.
 */
import ort from './ort.js';
import type * as Ort from 'onnxruntime-node';
import { PplcnetError, invalidOption } from '../errors.js';
import { FILE_LIMITS } from '../util/file-limits.js';
import { readFileBounded } from '../util/fs.js';
import { GRAPH_OPT_LEVELS, type SessionOptions, availableProviders, chooseProvider } from './providers.js';

export * from './providers.js';

const said = new Set<string>();

/** Build onnxruntime session options from ours. */
export function toOrtOptions(options: SessionOptions, provider: string): Ort.InferenceSession.SessionOptions {
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
    // Without the memory pattern only a session's first run of a shape is slow, not its first two (the
    // second replays the pattern the first recorded): batch 8, one thread, text-line model 30 + 28 ms then
    // 8 ms per run with it, 28 then 8 without; x1_0 95 + 90 then 20, and 96 then 20. Later runs cost the same.
    enableMemPattern: false,
    ...(options.optimizedModelPath ? { optimizedModelFilePath: options.optimizedModelPath } : {}),
    ...(options.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } } : {}),
  };
}

/** Create a session on a model file (read under `FILE_LIMITS.onnx`: a regular file of at most 54.3 MB) or bytes. */
export async function createSession(
  model: string | Uint8Array,
  options: SessionOptions = {},
  available: readonly string[] = availableProviders(),
): Promise<{ session: Ort.InferenceSession; provider: string; ortOptions: Ort.InferenceSession.SessionOptions }> {
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
