/**
 * PaddleClas dygraph weights (`.pdparams`, `paddle.save(layer.state_dict())`): a pickled dict of
 * name → numpy array (or `(name, array)` tuples), plus a `StructuredToParameterName@@` entry to ignore.
 * Distillation checkpoints prefix keys with `Student.` / `Teacher.`.
 */
import { PplcnetError } from '../errors.js';
import { float32FromLE } from '../util/float32.js';
import { LARGEST_PPLCNET_VALUES as LARGEST, WEIGHT_LIMITS } from './architecture-check.js';
import { type NdArray, type PickleValue, PyFloat, PyTuple, unpickle } from './pickle.js';

export interface WeightTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  /** float32 values (only float32 files convert; other dtypes keep `data` empty and are reported). */
  readonly data: Float32Array;
}

export interface PdparamsFile {
  /** Every array by key, as stored (prefixes included). */
  readonly tensors: ReadonlyMap<string, WeightTensor>;
  /** Keys that held something other than an array (ignored). */
  readonly ignored: readonly string[];
  /** Distillation prefixes found (`Student.`, `Teacher.`, …). */
  readonly prefixes: readonly string[];
}

const IGNORED_KEYS = new Set(['StructuredToParameterName@@']);

function isNdArray(v: PickleValue): v is NdArray {
  return v !== null && typeof v === 'object' && 'kind' in v && v.kind === 'ndarray';
}

/** Parse a `.pdparams` file. Never executes pickle code. */
export function readPdparams(buf: Uint8Array, file: string): PdparamsFile {
  const root = unpickle(buf, file);
  if (!(root instanceof Map)) {
    throw new PplcnetError('E_WEIGHTS', `${file}: the pickle holds ${describeValue(root)}, expected a dict of parameter name → array (a PaddleClas state dict)`);
  }
  if (root.size > WEIGHT_LIMITS.maxKeys) {
    throw new PplcnetError('E_WEIGHTS', `${file}: ${root.size.toLocaleString('en-US')} keys, more than the ${WEIGHT_LIMITS.maxKeys.toLocaleString('en-US')} a PP-LCNet state dict can have (it has a few hundred)`);
  }
  const tensors = new Map<string, WeightTensor>();
  const ignored: string[] = [];
  let values = 0;
  for (const [k, v] of root) {
    if (typeof k !== 'string') throw new PplcnetError('E_WEIGHTS', `${file}: a key is ${describeValue(k)}, expected a string`);
    if (IGNORED_KEYS.has(k)) {
      ignored.push(k);
      continue;
    }
    let arr: PickleValue = v;
    if (v instanceof PyTuple && v.items.length === 2 && typeof v.items[0] === 'string' && isNdArray(v.items[1]!)) arr = v.items[1]!;
    if (!isNdArray(arr)) {
      ignored.push(k);
      continue;
    }
    if (!arr.filled) throw new PplcnetError('E_PICKLE', `${file}: '${k}': the array's data never arrived`);
    if (arr.fortran && arr.shape.filter((d) => d > 1).length > 1) {
      throw new PplcnetError('E_WEIGHTS', `${file}: '${k}' is stored in Fortran order; re-save it from numpy in C order (np.ascontiguousarray)`);
    }
    if (arr.dtype.startsWith('>')) {
      throw new PplcnetError('E_WEIGHTS', `${file}: '${k}' is big-endian (${arr.dtype}); re-save it little-endian (arr.astype('<f4'))`);
    }
    // counted per key: one array shared by many keys (pickle memo) counts once for each
    values += arr.shape.reduce((a, b) => a * b, 1);
    if (values > WEIGHT_LIMITS.maxValues) {
      throw new PplcnetError(
        'E_WEIGHTS',
        `${file}: more than ${WEIGHT_LIMITS.maxValues.toLocaleString('en-US')} values by key '${k.length > 80 ? `${k.slice(0, 77)}...` : k}' (the largest PP-LCNet has ${LARGEST.toLocaleString('en-US')}); this is not a PP-LCNet weights file`,
      );
    }
    const data = arr.dtype === '<f4' ? float32FromLE(arr.data) : new Float32Array(0);
    tensors.set(k, { dtype: arr.dtype.replace('<', ''), shape: arr.shape, data });
  }
  const prefixes = [...new Set([...tensors.keys()].map((k) => /^(Student|Teacher)\d*\./.exec(k)?.[0]).filter((p): p is string => p !== undefined))].sort();
  if (tensors.size === 0) throw new PplcnetError('E_WEIGHTS', `${file}: no arrays in this file; it is not a weights file`);
  return { tensors, ignored, prefixes };
}

function describeValue(v: PickleValue): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof PyTuple) return 'a tuple';
  if (v instanceof Map) return 'a dict';
  if (v instanceof Uint8Array) return 'bytes';
  if (v instanceof PyFloat) return 'a float';
  if (typeof v === 'object') return `a ${v.kind}`;
  return `a ${typeof v}`;
}

/**
 * The tensors under one key prefix (`Student.`), with the prefix removed. Without a prefix argument, a file
 * with distillation prefixes uses `Student.`.
 */
export function selectPrefix(file: PdparamsFile, prefix: string | undefined, where: string): { prefix: string; tensors: Map<string, WeightTensor> } {
  let p = prefix ?? (file.prefixes.includes('Student.') ? 'Student.' : file.prefixes.length ? file.prefixes[0]! : '');
  if (p && !p.endsWith('.')) p += '.';
  const out = new Map<string, WeightTensor>();
  for (const [k, v] of file.tensors) if (k.startsWith(p)) out.set(k.slice(p.length), v);
  if (out.size === 0) {
    const seen = file.prefixes.length ? file.prefixes.join(', ') : 'none';
    throw new PplcnetError('E_WEIGHTS', `${where}: no keys start with '${p}' (prefixes in this file: ${seen})`);
  }
  return { prefix: p, tensors: out };
}
