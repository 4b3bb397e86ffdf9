/**
 * Embeddings: the pooled feature vector of an image, from a second onnxruntime session on the same model
 * with its feature values exposed as outputs (opened on first use; nothing is rebuilt or written).
 */
import { invalidOption } from '../errors.js';
import type { ImageInput } from '../image/decode.js';
import type { ResolvedModel } from '../models/resolve.js';
import { exposeOutputs } from '../onnx/expose-outputs.js';
import type { SessionOptions } from '../runtime/providers.js';
import { createSession, ort } from '../runtime/session.js';
import { l2Normalize } from './attributes.js';
import type { PreparedInput } from './types.js';
import type { EmbedOptions } from './types.js';

export interface Embedder {
  embed(input: ImageInput, options?: EmbedOptions): Promise<Float32Array>;
  release(): Promise<void>;
}

/** `prepare` readies one image as the classifier does; `assertOpen` refuses use after close. */
export function createEmbedder(
  resolved: ResolvedModel,
  inputName: string,
  session: SessionOptions,
  prepare: (input: ImageInput) => Promise<PreparedInput>,
  assertOpen: (what: string) => void,
): Embedder {
  let featureSession: Promise<Awaited<ReturnType<typeof createSession>>['session']> | undefined;
  return {
    async embed(input, options = {}) {
      assertOpen('embed');
      const layer = options.layer ?? 'embedding';
      if (layer !== 'embedding' && layer !== 'gap') throw invalidOption('layer', "'embedding' or 'gap'", layer);
      featureSession ??= (async () => {
        // pplcnet's builder names the fc input `flatten` and the pooled last block `avg_pool`
        const bytes = exposeOutputs(resolved.bytes, ['flatten', 'avg_pool'], resolved.path ?? resolved.name);
        return (await createSession(bytes, { ...session, notice: () => {} })).session;
      })();
      const fs = await featureSession;
      assertOpen('embed');
      const p = await prepare(input);
      const out = await fs.run({ [inputName]: new ort.Tensor('float32', p.data, [1, 3, p.height, p.width]) });
      const v = Float32Array.from(out[layer === 'gap' ? 'avg_pool' : 'flatten']!.data as Float32Array);
      if (options.normalize) l2Normalize(v);
      return v;
    },
    async release() {
      const fs = featureSession;
      featureSession = undefined;
      if (fs) await (await fs.catch(() => undefined))?.release();
    },
  };
}
