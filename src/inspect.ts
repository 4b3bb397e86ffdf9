/**
 * What a model file holds, without converting it: an ONNX model's inputs, outputs and metadata; a Paddle
 * inference model's program parameters and the architecture read off its ops; a `.pdparams` file's keys,
 * shapes and dtypes and the architecture they imply.
 */
import { existsSync } from 'node:fs';
import type { Architecture } from './builder/architecture.js';
import { inferArchitecture } from './convert/from-weights.js';
import { type InferenceModelFiles, locateInferenceModel, readInferenceModel, readProgramFile } from './convert/inference-model.js';
import { interpretProgram } from './convert/interpret.js';
import { readPdparams, selectPrefix } from './convert/pdparams.js';
import { readProgramDesc } from './convert/pdmodel.js';
import { readPirProgram } from './convert/pir.js';
import type { Program } from './convert/program.js';
import { PplcnetError } from './errors.js';
import { METADATA_KEYS } from './metadata.js';
import { type ResolveOptions, resolveModel } from './models/resolve.js';
import { type OnnxModelView, viewModel } from './onnx/read.js';
import { shortestFloat32 } from './util/float.js';
import { FILE_LIMITS } from './util/file-limits.js';
import { readFileBounded } from './util/fs.js';
import { checkModelFile } from './util/sniff.js';
import { findZooEntry, nearestZooNames, zooNameHint } from './zoo/registry.js';

export interface OnnxInspection {
  readonly producer: string;
  readonly opset: number;
  readonly inputs: readonly { readonly name: string; readonly dims: readonly (number | string)[] }[];
  readonly outputs: readonly { readonly name: string; readonly dims: readonly (number | string)[] }[];
  /** Number of nodes. */
  readonly nodes: number;
  /** Values held by the initializers. */
  readonly parameters: number;
  /** `metadata_props`, JSON values (architecture, preprocessing, labels, input size, top-k) decoded. */
  readonly metadata: Readonly<Record<string, unknown>>;
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
  | {
      readonly kind: 'onnx';
      /** The file, or for a zoo name the model as the user named it (`textline (PP-LCNet_x0_25_textline_ori)`). */
      readonly file: string;
      /** A zoo name's converted ONNX in the cache. */
      readonly path?: string;
      readonly report: OnnxInspection;
    }
  | { readonly kind: 'inference'; /** The program file read. */ readonly file: string; readonly report: InferenceModelInspection }
  | { readonly kind: 'pdparams'; readonly file: string; readonly report: PdparamsInspection };

function onnxInspection(bytes: Uint8Array): OnnxInspection {
  const m = viewModel(bytes);
  return {
    producer: `${m.producerName} ${m.producerVersion}`,
    opset: m.opset,
    inputs: m.inputs,
    outputs: m.outputs,
    nodes: m.nodes.length,
    parameters: countParameters(m),
    metadata: decodeMetadataProps(m.metadata),
  };
}

/** Keys of `metadata_props` whose values are JSON (or numbers), decoded for the report. */
const JSON_KEYS = new Set<string>([METADATA_KEYS.architecture, METADATA_KEYS.inputSize, METADATA_KEYS.preprocess, METADATA_KEYS.labels, METADATA_KEYS.topk, METADATA_KEYS.formatVersion]);

/** `metadata_props` with JSON values decoded: pplcnet's own keys, and any other value that is a JSON object or array. */
export function decodeMetadataProps(props: Readonly<Record<string, string>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(props)) {
    if (k === METADATA_KEYS.trained && (v === 'true' || v === 'false')) out[k] = v === 'true';
    else if (JSON_KEYS.has(k) || /^\s*[[{]/.test(v)) {
      try {
        const value: unknown = JSON.parse(v);
        out[k] = k === METADATA_KEYS.architecture && value && typeof value === 'object' ? float32Fields(value) : value;
      } catch {
        out[k] = v;
      }
    } else out[k] = v;
  }
  return out;
}

/** The architecture with float32 attributes at float32 precision (0.2, not 0.20000000298023224). */
function float32Fields<T extends object>(a: T): T {
  const round = (v: unknown): unknown => (typeof v === 'number' ? shortestFloat32(v) : Array.isArray(v) ? v.map(round) : v);
  return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, round(v)])) as T;
}

async function programFromFiles(input: string): Promise<{ files: InferenceModelFiles; program: Program }> {
  const files = locateInferenceModel(input);
  return { files, program: await readProgramFile(files) };
}

/** The program of a `*_infer.tar` archive (read in memory through the tar reader, as convert and predict read it). */
async function programFromArchive(input: string): Promise<{ files: InferenceModelFiles; program: Program }> {
  const src = await readInferenceModel(input);
  const { files } = src;
  const program = files.format === 'pir-json' ? readPirProgram(Buffer.from(src.program).toString('utf8'), files.program) : readProgramDesc(src.program, files.program);
  return { files, program };
}

/** Values held by the initializers, by their shapes; the per-channel scales of int8 weight storage are not parameters. */
function countParameters(m: OnnxModelView): number {
  const scales = new Set(m.nodes.filter((n) => n.opType === 'Mul' && n.name.endsWith('.dequantize')).map((n) => n.inputs[1]));
  return m.initializers.filter((t) => !scales.has(t.name)).reduce((a, t) => a + t.dims.reduce((x, y) => x * y, 1), 0);
}

/**
 * Inspect an `.onnx`, a `.pdparams`, or a Paddle inference model (folder, `.json`, `.pdmodel` or `*_infer.tar`). The
 * file's first bytes choose the reader (the name only when they tell nothing); an image or another file
 * that is no model is refused (E_FORMAT) with what it is. A zoo name (when no such path exists) is the ONNX
 * model the other commands run for it: pulled and converted as they would (`options` says from where).
 */
export async function inspectModel(
  input: string,
  options: { /** `.pdparams`: the distillation prefix to read. */ prefix?: string } & ResolveOptions = {},
): Promise<ModelInspection> {
  const sniffed = await checkModelFile(input, 'inspect');
  if (sniffed === undefined && findZooEntry(input)) {
    // a zoo name (no such path here): the ONNX model every command runs for it, pulled and converted as they do
    if (options.prefix !== undefined) throw new RangeError('--prefix applies to .pdparams only: other models hold one network');
    const resolved = await resolveModel(input, options);
    const named = input === resolved.name ? input : `${input} (${resolved.name})`;
    return { kind: 'onnx', file: named, ...(resolved.path ? { path: resolved.path } : {}), report: onnxInspection(resolved.bytes) };
  }
  if (sniffed === undefined && !existsSync(input) && nearestZooNames(input).length > 0) {
    throw new PplcnetError('E_IO', `${input}: no such file or folder, nor a zoo model; ${zooNameHint(input)}`);
  }
  const kind = sniffed?.kind === 'unknown' || sniffed === undefined ? (input.endsWith('.onnx') ? 'onnx' : input.endsWith('.pdparams') ? 'pickle' : 'unknown') : sniffed.kind;
  if (options.prefix !== undefined && kind !== 'pickle') throw new RangeError('--prefix applies to .pdparams only: other models hold one network');
  if (kind === 'onnx') return { kind: 'onnx', file: input, report: onnxInspection(await readFileBounded(input, FILE_LIMITS.onnx)) };
  if (kind !== 'pickle') {
    const { files, program } = kind === 'tar' || /\.tar$/i.test(input) ? await programFromArchive(input) : await programFromFiles(input);
    const reading = interpretProgram(program, files.program);
    const report: InferenceModelInspection = {
      format: program.format,
      version: program.version,
      input: program.input,
      ops: program.ops.length,
      parameters: program.parameters,
      architecture: float32Fields(reading.architecture),
      inputSize: reading.inputSize,
    };
    return { kind: 'inference', file: files.program, report };
  }
  const contents = readPdparams(await readFileBounded(input, FILE_LIMITS.pdparams), input);
  const { prefix, tensors } = selectPrefix(contents, options.prefix, input);
  const { architecture, problems, inferred } = inferArchitecture(tensors);
  let values = 0;
  for (const t of contents.tensors.values()) values += t.shape.reduce((a, b) => a * b, 1);
  const keys = [...contents.tensors].map(([k, t]) => ({ key: k, dtype: t.dtype, shape: t.shape }));
  const report: PdparamsInspection = { file: input, keys, ignored: contents.ignored, prefixes: contents.prefixes, prefix, values, inferred, architecture, problems };
  return { kind: 'pdparams', file: input, report };
}
