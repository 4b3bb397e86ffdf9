/**
 * One representation for Paddle inference programs, whichever file they came from (Paddle 3 PIR
 * `inference.json` or legacy `inference.pdmodel`): persistable parameters, and ops in program order with
 * named input slots and plain attribute values.
 */

export interface ProgramParameter {
  /** Paddle name with any `_deepcopy_N` suffix removed (`conv2d_0.w_0`). */
  readonly name: string;
  readonly shape: readonly number[];
  /** Paddle data type name (`float32`, …). */
  readonly dtype: string;
}

/**
 * An attribute's value. One the reader could not decode (a type it does not know, an array of mixed or
 * boolean items) is kept as `{ unreadable }` describing what was found, so reading it fails naming the
 * attribute, while ops nobody reads still load.
 */
export type AttrValue = number | string | boolean | readonly number[] | readonly string[] | Unreadable;

export interface Unreadable {
  readonly unreadable: string;
}

export interface ProgramOp {
  /** Normalized type: `conv2d`, `depthwise_conv2d`, `batch_norm`, `hardswish`, `relu`, `relu6`, `hardsigmoid`,
   * `pool2d`, `add`, `multiply`, `matmul`, `flatten`, `reshape`, `softmax`, `dropout`, `scale`, `data`, `fetch`,
   * `full_int_array`, … (anything else keeps its own name). */
  readonly type: string;
  /** The type as the file wrote it (`1.batch_norm_`, `elementwise_add`). */
  readonly rawType: string;
  /** Input value names by slot (`Input`, `Filter`, `X`, `Y`, `Scale`, `Bias`, `Mean`, `Variance`, …). */
  readonly inputs: Readonly<Record<string, string | undefined>>;
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
  /** Where the op sits, for error messages: index and, when recorded, the layer path. */
  readonly where: string;
}

export interface Program {
  readonly format: 'pir-json' | 'program-desc';
  /** Paddle version that wrote it, when recorded. */
  readonly version?: string;
  readonly parameters: readonly ProgramParameter[];
  readonly ops: readonly ProgramOp[];
  /** The image input: its name, the value ops read it as, and its shape (−1 for dynamic). */
  readonly input?: { readonly name: string; readonly value: string; readonly shape: readonly number[] };
  /** Constant integer arrays (from `full_int_array` / `assign_value`), by value name. */
  readonly constants: ReadonlyMap<string, readonly number[]>;
}

/** Drop PIR's `_deepcopy_N` suffix. */
export function baseParameterName(name: string): string {
  return name.replace(/_deepcopy_\d+$/, '');
}

/** The order Paddle writes parameters into a combined `.pdiparams`: Python's sorted() of the names. */
export function pdiparamsOrder(names: Iterable<string>): string[] {
  // Python compares str by code point; JS's default sort compares UTF-16 units, identical for these names.
  return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
