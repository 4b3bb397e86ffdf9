/** Counting positive values in log-spaced bins (decades split evenly), for differences that span many orders. */

export interface LogHistogram {
  /** Bin edges, ascending: bin i holds values in [edges[i], edges[i+1]); the last bin also holds its upper edge. */
  readonly edges: readonly number[];
  /** Values per bin (`edges.length - 1` of them). */
  readonly counts: readonly number[];
  /** Values exactly 0 (no log bin holds them). */
  readonly zeros: number;
  /** Values above 0 but under `edges[0]` (the floor). */
  readonly below: number;
  /** Every value counted: zeros + below + the bins. */
  readonly total: number;
}

export interface LogHistogramOptions {
  /** Bins per power of ten. [2] */
  binsPerDecade?: number;
  /** The smallest edge considered; smaller positive values count in `below`. [1e-12] */
  floor?: number;
}

/**
 * A histogram of non-negative values over the decades their positive values span (from the decade of the
 * smallest, at least `floor`, to that of the largest). NaN and negative values are refused (RangeError).
 */
export function logHistogram(values: Iterable<number>, options: LogHistogramOptions = {}): LogHistogram {
  const perDecade = options.binsPerDecade ?? 2;
  const floor = options.floor ?? 1e-12;
  if (!Number.isInteger(perDecade) || perDecade < 1 || perDecade > 10) throw new RangeError(`binsPerDecade must be an integer from 1 to 10, not ${perDecade}`);
  if (!(floor > 0) || !Number.isFinite(floor)) throw new RangeError(`floor must be a positive number, not ${floor}`);
  const floorExp = Math.floor(Math.log10(floor));
  let zeros = 0;
  let below = 0;
  let positive = 0;
  let min = Infinity;
  let max = 0;
  // bin index (counted from the floor's decade) → count: no copy of the values is kept
  const byIndex = new Map<number, number>();
  for (const v of values) {
    if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`a histogram value is ${v}; expected finite values ≥ 0`);
    if (v === 0) {
      zeros++;
      continue;
    }
    positive++;
    if (v < min) min = v;
    if (v > max) max = v;
    const l = Math.log10(v);
    if (l < floorExp) below++;
    else {
      const i = Math.floor((l - floorExp) * perDecade);
      byIndex.set(i, (byIndex.get(i) ?? 0) + 1);
    }
  }
  if (positive === 0) return { edges: [], counts: [], zeros, below: 0, total: zeros };
  const lo = Math.max(floorExp, Math.floor(Math.log10(min)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(max)));
  const bins = (hi - lo) * perDecade;
  const edges = Array.from({ length: bins + 1 }, (_, i) => 10 ** (lo + i / perDecade));
  const counts = new Array<number>(bins).fill(0);
  const offset = (lo - floorExp) * perDecade;
  for (const [i, n] of byIndex) counts[Math.min(bins - 1, i - offset)]! += n;
  return { edges, counts, zeros, below, total: zeros + positive };
}
