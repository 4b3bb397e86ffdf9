/**
 * Adds intermediate values of an ONNX graph to its outputs, so a model built or converted by pplcnet can
 * give its pooled features without being rebuilt: the graph, its weights and its other outputs are kept.
 * @internal
 */
import { PplcnetError } from '../errors.js';
import { onnx } from './proto.js';

/** The intermediate values pplcnet exposes (embeddings, training's cut): stored models keep their shapes. */
export const EXPOSED_VALUES: readonly string[] = Object.freeze(['avg_pool', 'flatten']);

/**
 * `bytes` with `names` added to the graph outputs. Each must be a value the graph lists in `value_info`
 * (pplcnet's builder lists every intermediate; its fp16 and int8 storage keeps only `EXPOSED_VALUES`) or
 * already an output.
 */
export function exposeOutputs(bytes: Uint8Array, names: readonly string[], where = 'model'): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  if (!graph) throw new PplcnetError('E_FORMAT', `${where}: the ONNX file holds no graph`);
  graph.output ??= [];
  graph.valueInfo ??= [];
  const outputs = new Set(graph.output.map((o) => o.name));
  for (const name of names) {
    if (outputs.has(name)) continue;
    const info = graph.valueInfo.find((v) => v.name === name);
    if (!info) {
      throw new PplcnetError('E_MODEL', `${where}: the graph has no value '${name}' with a recorded shape; embeddings need a model built or converted by pplcnet (or one converted with --features)`);
    }
    graph.output.push(info);
    outputs.add(name);
  }
  return onnx.ModelProto.encode(model).finish();
}
