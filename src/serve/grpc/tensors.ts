/**
 * ModelInfer's tensors ↔ the service's v2 request and answer: a gRPC request (typed `contents` or
 * `raw_input_contents`) becomes the body the HTTP v2 route validates (same checks, same messages), and the
 * per-row results become output tensors in the form the request used.
 */
import type { Classification } from '../../index.js';
import { ServeError } from '../errors.js';
import type { ServedModel } from '../models.js';

/** `InferTensorContents`, as the proto loader gives it (field names as in the .proto, longs as numbers). */
export interface TensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: number[];
  uint_contents?: number[];
  uint64_contents?: number[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Buffer[];
}

export interface InferInputTensor {
  name: string;
  datatype: string;
  shape: number[];
  contents?: TensorContents | null;
}

export interface ModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  inputs: InferInputTensor[];
  outputs: { name: string }[];
  raw_input_contents: Buffer[];
}

export interface InferOutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  contents?: TensorContents;
}

export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: InferOutputTensor[];
  raw_output_contents: Buffer[];
}

const bad = (message: string): ServeError => new ServeError('E_BAD_REQUEST', message);

/** Little-endian FP32 bytes → numbers (read element by element: the bytes need not be aligned). */
function fromRaw(bytes: Buffer, name: string): Float64Array {
  if (bytes.length % 4 !== 0) throw bad(`raw_input_contents of input '${name}' is ${bytes.length} bytes, not a whole number of FP32 elements (4 bytes each, little-endian)`);
  const out = new Float64Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(4 * i);
  return out;
}

/** The FP32 elements of a typed tensor; elements in another datatype's field are named. */
function fromContents(t: InferInputTensor): number[] {
  const c = t.contents ?? {};
  const others = (Object.keys(c) as (keyof TensorContents)[]).filter((k) => k !== 'fp32_contents' && (c[k]?.length ?? 0) > 0);
  if (others.length > 0) throw bad(`input '${t.name}' is FP32 but carries its elements in contents.${others.join(', contents.')}: put them in contents.fp32_contents (or raw_input_contents)`);
  return c.fp32_contents ?? [];
}

/** The request as the v2 route's body: `{id, inputs: [{name, shape, datatype, data}], outputs}`. */
export function inferBody(req: ModelInferRequest): Record<string, unknown> {
  const raw = req.raw_input_contents ?? [];
  const inputs = req.inputs ?? [];
  if (raw.length > 0 && raw.length !== inputs.length) throw bad(`raw_input_contents holds ${raw.length} entries for ${inputs.length} inputs: send one entry per input, in order`);
  if (raw.length > 0) {
    const typed = inputs.find((t) => t.contents);
    if (typed) throw bad(`input '${typed.name}' has contents while the request uses raw_input_contents: use one form for every input`);
  }
  return {
    ...(req.id ? { id: req.id } : {}),
    inputs: inputs.map((t, i) => ({
      name: t.name,
      datatype: t.datatype,
      shape: t.shape,
      // only FP32 is decoded; other datatypes are refused by the v2 checks before the data is read
      data: t.datatype !== 'FP32' ? [] : raw.length > 0 ? fromRaw(raw[i]!, t.name) : fromContents(t),
    })),
    ...(req.outputs && req.outputs.length > 0 ? { outputs: req.outputs.map((o) => ({ name: o.name })) } : {}),
  };
}

/** Output tensors from per-row results: typed `fp32_contents`, or little-endian bytes in `raw_output_contents`. */
export function inferAnswer(m: ServedModel, id: string, results: readonly Classification[], outputs: readonly string[], raw: boolean): ModelInferResponse {
  const tensors = outputs.map((name) => {
    const rows = results.map((r) => (name === 'logits' ? r.logits! : r.probs));
    const cols = rows[0]?.length ?? 0;
    const flat = new Float32Array(rows.length * cols);
    rows.forEach((row, i) => flat.set(row, i * cols));
    return { name, shape: [rows.length, cols], flat };
  });
  const bytes = (flat: Float32Array): Buffer => {
    const b = Buffer.alloc(flat.length * 4);
    for (let i = 0; i < flat.length; i++) b.writeFloatLE(flat[i]!, 4 * i);
    return b;
  };
  return {
    model_name: m.name,
    model_version: '1',
    id,
    outputs: tensors.map(({ name, shape, flat }) => ({ name, datatype: 'FP32', shape, ...(raw ? {} : { contents: { fp32_contents: Array.from(flat) } }) })),
    raw_output_contents: raw ? tensors.map((t) => bytes(t.flat)) : [],
  };
}
