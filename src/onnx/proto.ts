/**
 * The ONNX protobuf classes (from the `onnx-proto` package, a CommonJS module) re-exported for ES modules.
 * @internal
 */
import onnxProto from 'onnx-proto';

export const onnx = onnxProto.onnx;
export type { onnx as OnnxTypes } from 'onnx-proto';
