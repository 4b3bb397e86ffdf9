/** Reading ONNX files: the metadata fast (without decoding the graph), or a full typed view. */
import { float32FromLE } from '../util/float32.js';
import { utf8 } from '../util/protobuf.js';
import { onnx } from './proto.js';

export { readMetadataProps } from './metadata-props.js';

export interface OnnxModelView {
  irVersion: number;
  opset: number;
  producerName: string;
  producerVersion: string;
  inputs: { name: string; dims: (number | string)[] }[];
  outputs: { name: string; dims: (number | string)[] }[];
  nodes: { name: string; opType: string; inputs: string[]; outputs: string[]; attributes: Record<string, number | string | number[]> }[];
  /** `data` holds the values of float32 initializers only (empty for other types: int8 or float16 weight storage). */
  initializers: { name: string; dims: number[]; dataType: number; data: Float32Array }[];
  metadata: Record<string, string>;
}

/** Decode a whole model into plain, non-nullable values. */
export function viewModel(bytes: Uint8Array): OnnxModelView {
  const m = onnx.ModelProto.decode(bytes);
  const g = m.graph ?? {};
  const dims = (v: import('onnx-proto').onnx.IValueInfoProto) =>
    (v.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue ?? 0)));
  const attrValue = (a: import('onnx-proto').onnx.IAttributeProto): number | string | number[] => {
    switch (a.type) {
      case onnx.AttributeProto.AttributeType.INT:
        return Number(a.i ?? 0);
      case onnx.AttributeProto.AttributeType.FLOAT:
        return a.f ?? 0;
      case onnx.AttributeProto.AttributeType.INTS:
        return (a.ints ?? []).map(Number);
      case onnx.AttributeProto.AttributeType.FLOATS:
        return [...(a.floats ?? [])];
      case onnx.AttributeProto.AttributeType.STRING:
        return utf8(a.s ?? new Uint8Array());
      default:
        return '';
    }
  };
  return {
    irVersion: Number(m.irVersion),
    opset: Number((m.opsetImport ?? []).find((o) => !o.domain)?.version ?? 0),
    producerName: m.producerName,
    producerVersion: m.producerVersion,
    inputs: (g.input ?? []).map((v) => ({ name: v.name ?? '', dims: dims(v) })),
    outputs: (g.output ?? []).map((v) => ({ name: v.name ?? '', dims: dims(v) })),
    nodes: (g.node ?? []).map((n) => ({
      name: n.name ?? '',
      opType: n.opType ?? '',
      inputs: n.input ?? [],
      outputs: n.output ?? [],
      attributes: Object.fromEntries((n.attribute ?? []).map((a) => [a.name ?? '', attrValue(a)])),
    })),
    initializers: (g.initializer ?? []).map((t) => ({
      name: t.name ?? '',
      dims: (t.dims ?? []).map(Number),
      dataType: t.dataType ?? 0,
      data: t.dataType === onnx.TensorProto.DataType.FLOAT ? float32FromLE(t.rawData ?? new Uint8Array()) : new Float32Array(0),
    })),
    metadata: Object.fromEntries((m.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? ''])),
  };
}
