/**
 * What both converters share once a file has been read: the bounds of what a PP-LCNet can be, the check
 * that values taken from a file (class count, widths) are plausible before they reach the builder's option
 * validation, the search for the PP-LCNet scale that fits, and capped problem lists.
 */
import { type Architecture, type ArchitectureOptions, parameterShapes, resolveArchitecture } from '../builder/architecture.js';
import { type ErrorCode, PplcnetError } from '../errors.js';

/** The scales PaddleClas publishes, tried first. */
export const PUBLISHED_SCALES = Object.freeze([0.25, 0.35, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5]);

const elements = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Values in the largest published PP-LCNet (x2.5, 1000 classes). */
export const LARGEST_PPLCNET_VALUES = parameterShapes(resolveArchitecture({ scale: 2.5 })).reduce((n, [, s]) => n + elements(s), 0);

/**
 * Bounds on a weights file: far above any PP-LCNet (x2.5 has a few hundred keys and about 9 M values),
 * far below what would exhaust memory or time.
 */
export const WEIGHT_LIMITS = Object.freeze({
  maxKeys: 10_000,
  maxValues: 4 * LARGEST_PPLCNET_VALUES,
  /** Largest class count or channel width taken from a file. */
  maxWidth: 1 << 20,
  /** Problems listed in one error message. */
  maxListed: 20,
  /** The largest weights file read: every value as float32, plus room for keys and headers. */
  maxFileBytes: 4 * 4 * LARGEST_PPLCNET_VALUES + (16 << 20),
});

/** `problems` as indented lines, the first {@link WEIGHT_LIMITS.maxListed} then "… and K more". */
export function listProblems(problems: readonly string[], max: number = WEIGHT_LIMITS.maxListed): string {
  const shown = problems.slice(0, max).map((p) => (p.length > 300 ? `${p.slice(0, 297)}...` : p));
  const more = problems.length > max ? [`… and ${problems.length - max} more`] : [];
  return `  ${[...shown, ...more].join('\n  ')}`;
}

/** A value read from a file, with where it came from (`fc.bias shape[0]`). */
export interface FileValue {
  readonly value: number | undefined;
  /** What it is, in the builder's terms (`class count`). */
  readonly what: string;
  /** Where it was read (a key and dimension, a parameter name). */
  readonly from: string;
}

/**
 * Refuse values from a file that no PP-LCNet can have, as a file error (`code`, naming `file` and where each
 * value came from), before they reach the builder, whose option errors would name a command-line flag.
 */
export function checkFileValues(values: readonly FileValue[], file: string, code: ErrorCode): void {
  const bad = values.filter((v) => v.value !== undefined && !(Number.isSafeInteger(v.value) && v.value >= 1 && v.value <= WEIGHT_LIMITS.maxWidth));
  if (bad.length) {
    const lines = bad.map((v) => `${v.from}: ${v.what} ${String(v.value)}, expected an integer from 1 to ${WEIGHT_LIMITS.maxWidth}`);
    throw new PplcnetError(code, `${file}: the file's shapes give values no PP-LCNet has:\n${listProblems(lines)}`);
  }
}

/**
 * Try each candidate scale on `base` and keep the architecture `problemsFor` finds fewest problems with
 * (the first without any wins). Candidates that are not positive finite numbers are skipped. `base` must
 * hold values already checked ({@link checkFileValues}); a builder error is still reported against `file`.
 */
export function searchScale(
  base: ArchitectureOptions,
  candidates: readonly number[],
  problemsFor: (architecture: Architecture) => string[],
  file: string,
  code: ErrorCode,
): { architecture: Architecture; problems: string[] } {
  let best: { architecture: Architecture; problems: string[] } | undefined;
  for (const scale of [...candidates, base.scale ?? 1]) {
    if (!(scale > 0) || !Number.isFinite(scale)) continue;
    let architecture: Architecture;
    try {
      architecture = resolveArchitecture({ ...base, scale });
    } catch (err) {
      if (err instanceof TypeError || err instanceof RangeError) throw new PplcnetError(code, `${file}: the file describes no PP-LCNet: ${err.message}`);
      throw err;
    }
    const problems = problemsFor(architecture);
    if (!best || problems.length < best.problems.length) best = { architecture, problems };
    if (problems.length === 0) break;
  }
  return best!;
}

/** Tensors holding NaN or infinite values: one warning per tensor, with the count. */
export function nonFiniteWarnings(weights: ReadonlyMap<string, Float32Array>, file: string): string[] {
  const out: string[] = [];
  for (const [key, data] of weights) {
    let nan = 0;
    let inf = 0;
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v !== v) nan++;
      else if (v === Infinity || v === -Infinity) inf++;
    }
    if (nan || inf) {
      const what = [nan ? `${nan} NaN` : '', inf ? `${inf} infinite` : ''].filter(Boolean).join(' and ');
      out.push(`${file}: '${key}' holds ${what} value${nan + inf > 1 ? 's' : ''} of ${data.length}; the model's outputs will be NaN or meaningless`);
    }
  }
  return out;
}
