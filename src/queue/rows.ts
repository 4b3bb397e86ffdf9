/**
 * Reading rows back from a queue's results hash: each value is parsed and checked against its key before it
 * is written out, so a value that Redis holds but no worker wrote (a newline inside, not JSON, another
 * file's row) never passes through as lines of its own.
 */
import type { ErrorRow, ResultRow } from '../index.js';

/** A stored row that is written out (`line`: re-serialized, one line), or why it is not. */
export type CheckedRow = { readonly line: string; readonly error: boolean } | { readonly problem: string };

/** A hash entry that is not a row a worker writes. */
export interface BadRow {
  /** The hash field (an image's path), as stored. */
  readonly key: string;
  readonly problem: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What is wrong with a parsed value as the row of `key`, or undefined when it is a result or an error row. */
function rowProblem(key: string, row: unknown): string | undefined {
  if (!isObject(row)) return `is ${Array.isArray(row) ? 'an array' : row === null ? 'null' : `a ${typeof row}`}, not a row object`;
  if (row.file !== key) return `names file ${JSON.stringify(row.file)}, not its key`;
  if ('error' in row) {
    const e = row.error;
    return isObject(e) && typeof e.code === 'string' && typeof e.message === 'string' ? undefined : 'has an error that is not {code, message} strings';
  }
  if (typeof row.model !== 'string') return 'has no model name';
  if (!Array.isArray(row.topk) || !row.topk.every((t) => isObject(t) && Number.isInteger(t.classId) && typeof t.score === 'number')) {
    return 'has no topk list of {classId, score}';
  }
  return undefined;
}

/** Parse and check the value stored for `key`; a good row comes back re-serialized (one line, no raw newline). */
export function checkStoredRow(key: string, value: string): CheckedRow {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    return { problem: `is not JSON (${(err as Error).message}): ${JSON.stringify(value.slice(0, 80))}${value.length > 80 ? '…' : ''}` };
  }
  const problem = rowProblem(key, parsed);
  if (problem) return { problem };
  const row = parsed as ResultRow | ErrorRow;
  return { line: JSON.stringify(row), error: 'error' in row };
}
