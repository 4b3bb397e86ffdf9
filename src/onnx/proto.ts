/**
 * The ONNX protobuf classes (from the `onnx-proto` package, a CommonJS module) re-exported for ES modules,
 * loaded on first use: reading the package takes ~90 ms, and a command that never builds or decodes an
 * ONNX graph (a one-image `predict` of a cached model) should not pay it.
 * @internal
 */
import { createRequire } from 'node:module';
import type onnxProto from 'onnx-proto';

type Onnx = typeof onnxProto.onnx;
let loaded: Onnx | undefined;
const load = (): Onnx => (loaded ??= (createRequire(import.meta.url)('onnx-proto') as typeof onnxProto).onnx);

export const onnx: Onnx = new Proxy({} as Onnx, {
  get: (_, key) => Reflect.get(load(), key),
  has: (_, key) => Reflect.has(load(), key),
});
export type { onnx as OnnxTypes } from 'onnx-proto';
