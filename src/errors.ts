/**
 * Error helpers shared by every module.
 *
 * `TypeError` for a value of the wrong kind, `RangeError` for a value out of range, and
 * {@link PplcnetError} (with a stable `code`) for failures at run time: unreadable files, keys that do
 * not match, programs the builder cannot express.
 */

/** Describe a value for an error message: `1.5 of type number`, `"abc" of type string`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return `${JSON.stringify(value)} of type string`;
  if (typeof value === 'number') return `${value} of type number`;
  if (Array.isArray(value)) return `${JSON.stringify(value)} of type array`;
  if (typeof value === 'object') {
    let text: string;
    try {
      text = JSON.stringify(value);
    } catch {
      text = String(value);
    }
    return `${text} of type object`;
  }
  return `${String(value)} of type ${typeof value}`;
}

/**
 * The one error for a bad option: "Expected a positive number for 'scale' but received -1 of type number".
 * `kind` chooses TypeError (wrong kind of value) or RangeError (right kind, out of range).
 */
export function invalidOption(
  name: string,
  expected: string,
  actual: unknown,
  kind: 'type' | 'range' = 'range',
): TypeError | RangeError {
  const message = `Expected ${expected} for '${name}' but received ${describe(actual)}`;
  return kind === 'type' ? new TypeError(message) : new RangeError(message);
}

/** Error codes that callers (and the CLI's exit-code logic) can rely on. */
export type ErrorCode =
  | 'E_PICKLE'
  | 'E_UNSAFE_PICKLE'
  | 'E_TRUNCATED'
  | 'E_FORMAT'
  | 'E_WEIGHTS'
  | 'E_PROGRAM'
  | 'E_IMAGE'
  | 'E_MODEL'
  | 'E_NETWORK'
  | 'E_CHECKSUM'
  | 'E_OFFLINE'
  | 'E_PROVIDER'
  | 'E_IO'
  | 'E_CLOSED'
  | 'E_UNSAFE_PATH'
  | 'E_TIMEOUT'
  | 'E_DATASET';

/** A run-time failure with a stable code; the message says which file, what was expected and what to do. */
export class PplcnetError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PplcnetError';
    this.code = code;
  }
}
