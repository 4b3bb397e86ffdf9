/**
 * What a model file holds, without converting it: an ONNX model's inputs, outputs and metadata; a Paddle
 * inference model's program parameters and the architecture read off its ops; a `.pdparams` file's keys,
 * shapes and dtypes and the architecture they imply.
 */
import { readFile } from 'node:fs/promises';
import type { Architecture } from './builder/architecture.js';
import { inferArchitecture } from './convert/from-weights.js';
import { locateInferenceModel, readProgramFile } from './convert/inference-model.js';
import { interpretProgram } from './convert/interpret.js';
import { readPdparams, selectPrefix } from './convert/pdparams.js';
import type { Program } from './convert/program.js';
import { viewModel } from './onnx/read.js';

export interface OnnxInspection {
  readonly producer: string;
  readonly opset: number;
  readonly inputs: readonly { readonly name: string; readonly dims: readonly (number | string)[] }[];
  readonly outputs: readonly { readonly name: string; readonly dims: readonly (number | string)[] }[];
  /** Number of nodes. */
  readonly nodes: number;
  /** Values held by the initializers. */
  readonly parameters: number;
  readonly metadata: Readonly<Record<string, string>>;
}

export interface InferenceModelInspection {
  readonly format: Program['format'];
  readonly version: Program['version'];
  readonly input: Program['input'];
  /** Number of ops in the program. */
  readonly ops: number;
  readonly parameters: Program['parameters'];
  readonly architecture: Architecture;
  readonly inputSize: readonly [number, number] | undefined;
}

export interface PdparamsInspection {
  readonly file: string;
  /** Every array, in the file's order. */
  readonly keys: readonly { readonly key: string; readonly dtype: string; readonly shape: readonly number[] }[];
  /** Entries that are not arrays. */
  readonly ignored: readonly string[];
  /** Distillation prefixes (`Student.`, `Teacher.`), when any. */
  readonly prefixes: readonly string[];
  /** The prefix the architecture was read from. */
  readonly prefix: string;
  /** Values in every array. */
  readonly values: number;
  /** What the shapes tell (scale, classes, SE placement, …). */
  readonly inferred: Readonly<Record<string, unknown>>;
  readonly architecture: Architecture;
  /** Keys and shapes that do not fit that architecture. */
  readonly problems: readonly string[];
}

export type ModelInspection =
  | { readonly kind: 'onnx'; readonly file: string; readonly report: OnnxInspection }
  | { readonly kind: 'inference'; /** The program file read. */ readonly file: string; readonly report: InferenceModelInspection }
  | { readonly kind: 'pdparams'; readonly file: string; readonly report: PdparamsInspection };

/** Inspect an `.onnx`, a `.pdparams`, or a Paddle inference model (folder, `.json` or `.pdmodel`). */
export async function inspectModel(input: string, options: { /** `.pdparams`: the distillation prefix to read. */ prefix?: string } = {}): Promise<ModelInspection> {
  if (input.endsWith('.onnx')) {
    const m = viewModel(new Uint8Array(await readFile(input)));
    const report: OnnxInspection = {
      producer: `${m.producerName} ${m.producerVersion}`,
      opset: m.opset,
      inputs: m.inputs,
      outputs: m.outputs,
      nodes: m.nodes.length,
      parameters: m.initializers.reduce((a, t) => a + t.data.length, 0),
      metadata: m.metadata,
    };
    return { kind: 'onnx', file: input, report };
  }
  if (!input.endsWith('.pdparams')) {
    const files = locateInferenceModel(input);
    const program = await readProgramFile(files);
    const reading = interpretProgram(program, files.program);
    const report: InferenceModelInspection = {
      format: program.format,
      version: program.version,
      input: program.input,
      ops: program.ops.length,
      parameters: program.parameters,
      architecture: reading.architecture,
      inputSize: reading.inputSize,
    };
    return { kind: 'inference', file: files.program, report };
  }
  const contents = readPdparams(new Uint8Array(await readFile(input)), input);
  const { prefix, tensors } = selectPrefix(contents, options.prefix, input);
  const { architecture, problems, inferred } = inferArchitecture(tensors);
  let values = 0;
  for (const t of contents.tensors.values()) values += t.shape.reduce((a, b) => a * b, 1);
  const keys = [...contents.tensors].map(([k, t]) => ({ key: k, dtype: t.dtype, shape: t.shape }));
  const report: PdparamsInspection = { file: input, keys, ignored: contents.ignored, prefixes: contents.prefixes, prefix, values, inferred, architecture, problems };
  return { kind: 'pdparams', file: input, report };
}
