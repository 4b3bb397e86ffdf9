/**
 * A small ONNX graph builder: every value carries its shape, every node is named, and a shape mistake
 * throws at the line that built the node, naming the op.
 */
import { onnx, type OnnxTypes } from '../onnx/proto.js';
import { float32ToLE } from '../util/float32.js';

import { type Dim, numel, shapeToString } from './shape.js';

export { type Dim, numel, shapeToString };

/** A value in the graph: its name and its (fully known) shape. All values are float32. */
export interface Value {
  readonly name: string;
  readonly shape: readonly Dim[];
}

/** A node attribute, typed the way ONNX stores it. */
export type Attribute =
  | { readonly int: number }
  | { readonly float: number }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] }
  | { readonly string: string }
  | { readonly tensor: { readonly dims: readonly number[]; readonly data: Float32Array } };

interface NodeRecord {
  name: string;
  opType: string;
  inputs: string[];
  outputs: string[];
  attributes: [string, Attribute][];
}

interface InitializerRecord {
  name: string;
  dims: number[];
  dataType: number;
  raw: Uint8Array;
}

/** Options for {@link GraphBuilder.toModel}. */
export interface ModelOptions {
  /** ONNX opset of the default domain. */
  opset: number;
  producerName: string;
  producerVersion: string;
  /** Graph name. */
  graphName: string;
  docString?: string;
  /** Entries for the model's `metadata_props`, written in the order given. */
  metadata?: readonly (readonly [string, string])[];
}

/** The smallest IR version each opset needs (onnx/helper.py's table). */
export function irVersionForOpset(opset: number): number {
  if (opset <= 8) return 3;
  if (opset <= 9) return 4;
  if (opset <= 10) return 5;
  if (opset <= 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  if (opset <= 22) return 10;
  return 11;
}

/** Builds one ONNX graph. Names must be unique among values, initializers and nodes. */
export class GraphBuilder {
  private readonly nodes: NodeRecord[] = [];
  private readonly initializers: InitializerRecord[] = [];
  private readonly inputs: Value[] = [];
  private readonly outputs: Value[] = [];
  private readonly valueNames = new Set<string>();
  private readonly nodeNames = new Set<string>();
  /** Intermediate values, for `value_info` (shapes a reader can see without running inference). */
  private readonly intermediates: Value[] = [];

  /** Declare a graph input. */
  input(name: string, shape: readonly Dim[]): Value {
    const value = this.claim(name, shape);
    this.inputs.push(value);
    return value;
  }

  /** Add a float32 initializer; `data.length` must equal the product of `shape`. */
  initializer(name: string, shape: readonly number[], data: Float32Array): Value {
    if (data.length !== numel(shape)) {
      throw new RangeError(
        `initializer '${name}': shape ${shapeToString(shape)} holds ${numel(shape)} values but ${data.length} were given`,
      );
    }
    const value = this.claim(name, shape);
    this.initializers.push({ name, dims: [...shape], dataType: onnx.TensorProto.DataType.FLOAT, raw: float32ToLE(data) });
    return value;
  }

  /** Add a node producing one output per entry of `outputShapes`; returns those values. */
  node(
    opType: string,
    name: string,
    inputs: readonly (Value | undefined)[],
    outputShapes: readonly (readonly Dim[])[],
    attributes: Record<string, Attribute> = {},
    outputNames?: readonly string[],
  ): Value[] {
    if (this.nodeNames.has(name)) throw new Error(`${opType} '${name}': a node of that name already exists`);
    this.nodeNames.add(name);
    const outputs = outputShapes.map((shape, i) =>
      this.claim(outputNames?.[i] ?? (outputShapes.length === 1 ? name : `${name}:${i}`), shape),
    );
    this.intermediates.push(...outputs);
    this.nodes.push({
      name,
      opType,
      inputs: inputs.map((v) => (v ? v.name : '')),
      outputs: outputs.map((v) => v.name),
      attributes: Object.entries(attributes),
    });
    return outputs;
  }

  /** Mark a value as a graph output. */
  output(value: Value): void {
    this.outputs.push(value);
  }

  /** Serialize to ONNX protobuf bytes. The same calls always give the same bytes. */
  toModel(options: ModelOptions): Uint8Array {
    const outputNames = new Set(this.outputs.map((v) => v.name));
    const graph: OnnxTypes.IGraphProto = {
      name: options.graphName,
      node: this.nodes.map((n) => ({
        name: n.name,
        opType: n.opType,
        input: n.inputs,
        output: n.outputs,
        attribute: n.attributes.map(([key, attr]) => encodeAttribute(key, attr)),
      })),
      initializer: this.initializers.map((t) => ({
        name: t.name,
        dims: t.dims,
        dataType: t.dataType,
        rawData: t.raw,
      })),
      input: this.inputs.map(valueInfo),
      output: this.outputs.map(valueInfo),
      valueInfo: this.intermediates.filter((v) => !outputNames.has(v.name)).map(valueInfo),
    };
    const model: OnnxTypes.IModelProto = {
      irVersion: irVersionForOpset(options.opset),
      opsetImport: [{ domain: '', version: options.opset }],
      producerName: options.producerName,
      producerVersion: options.producerVersion,
      docString: options.docString ?? '',
      graph,
      metadataProps: (options.metadata ?? []).map(([key, value]) => ({ key, value })),
    };
    return onnx.ModelProto.encode(onnx.ModelProto.fromObject(model)).finish();
  }

  private claim(name: string, shape: readonly Dim[]): Value {
    if (this.valueNames.has(name)) throw new Error(`value '${name}' is defined twice`);
    this.valueNames.add(name);
    return Object.freeze({ name, shape: Object.freeze([...shape]) });
  }
}

function encodeAttribute(name: string, attr: Attribute): OnnxTypes.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('int' in attr) return { name, type: T.INT, i: attr.int };
  if ('float' in attr) return { name, type: T.FLOAT, f: attr.float };
  if ('ints' in attr) return { name, type: T.INTS, ints: [...attr.ints] };
  if ('floats' in attr) return { name, type: T.FLOATS, floats: [...attr.floats] };
  if ('tensor' in attr) return { name, type: T.TENSOR, t: { dims: [...attr.tensor.dims], dataType: onnx.TensorProto.DataType.FLOAT, rawData: float32ToLE(attr.tensor.data) } };
  return { name, type: T.STRING, s: new TextEncoder().encode(attr.string) };
}


function valueInfo(v: Value): OnnxTypes.IValueInfoProto {
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
