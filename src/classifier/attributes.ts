/**
 * What follows a multi-label model's scores: PaddleClas's attribute post-processing, and the L2
 * normalization of embeddings.
 */
import { invalidOption } from '../errors.js';
import { ATTRIBUTE_POSTPROCESSES, type AttributePostprocess } from '../metadata.js';

/** Divide `v` by its L2 norm, in place (a zero vector stays zero). */
export function l2Normalize(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] = v[i]! / n;
  return v;
}

/*
 * PaddleClas's attribute post-processing (`ppcls/data/postprocess/attr_rec.py`), reproduced from its source
 * over the per-class sigmoid scores: `PersonAttribute` (PA-100K's 26), `VehicleAttribute` (10 colours, 9
 * types), `TableAttribute` (6 yes/no). Same comparisons (strict `>` except the vehicle's `>=`), same argmax
 * (first index on ties), same group names and strings, same default thresholds.
 */

/** What PaddleClas returns per image: readable `attributes` and the 0/1 `output` vector. */
export interface AttributeResult {
  readonly attributes: readonly string[];
  readonly output: readonly number[];
}

const CLASS_COUNT: Record<AttributePostprocess, number> = { PersonAttribute: 26, VehicleAttribute: 19, TableAttribute: 6 };

function argmax(v: ArrayLike<number>, from: number, to: number): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (v[i]! > v[best]!) best = i;
  return best - from;
}

/** `PersonAttribute(threshold=0.5, glasses_threshold=0.3, hold_threshold=0.6)`. */
function person(res: ArrayLike<number>, threshold = 0.5, glassesThreshold = 0.3, holdThreshold = 0.6): AttributeResult {
  const ages = ['AgeLess18', 'Age18-60', 'AgeOver60'];
  const directions = ['Front', 'Side', 'Back'];
  const bags = ['HandBag', 'ShoulderBag', 'Backpack'];
  const uppers = ['UpperStride', 'UpperLogo', 'UpperPlaid', 'UpperSplice'];
  const lowers = ['LowerStripe', 'LowerPattern', 'LongCoat', 'Trousers', 'Shorts', 'Skirt&Dress'];
  const out: string[] = [];
  out.push(res[22]! > threshold ? 'Female' : 'Male');
  out.push(ages[argmax(res, 19, 22)]!);
  out.push(directions[argmax(res, 23, 26)]!);
  out.push(`Glasses: ${res[1]! > glassesThreshold ? 'True' : 'False'}`);
  out.push(`Hat: ${res[0]! > threshold ? 'True' : 'False'}`);
  out.push(`HoldObjectsInFront: ${res[18]! > holdThreshold ? 'True' : 'False'}`);
  const bag = argmax(res, 15, 18);
  out.push(res[15 + bag]! > threshold ? bags[bag]! : 'No bag');
  let upper = `Upper: ${res[3]! > res[2]! ? 'LongSleeve' : 'ShortSleeve'}`;
  uppers.forEach((u, i) => {
    if (res[4 + i]! > threshold) upper += ` ${u}`;
  });
  out.push(upper);
  let lower = 'Lower: ';
  let hasLower = false;
  lowers.forEach((l, i) => {
    if (res[8 + i]! > threshold) {
      lower += ` ${l}`;
      hasLower = true;
    }
  });
  if (!hasLower) lower += ` ${lowers[argmax(res, 8, 14)]}`;
  out.push(lower);
  out.push(res[14]! > threshold ? 'Boots' : 'No boots');
  const thresholds = Array.from({ length: res.length }, (_, i) => (i === 1 ? glassesThreshold : i === 18 ? holdThreshold : 0.5));
  return { attributes: out, output: thresholds.map((t, i) => (res[i]! > t ? 1 : 0)) };
}

/** `VehicleAttribute(color_threshold=0.5, type_threshold=0.5)`; the probability printed as Python prints a float. */
function vehicle(res: ArrayLike<number>, colorThreshold = 0.5, typeThreshold = 0.5): AttributeResult {
  const colors = ['yellow', 'orange', 'green', 'gray', 'red', 'blue', 'white', 'golden', 'brown', 'black'];
  const types = ['sedan', 'suv', 'van', 'hatchback', 'mpv', 'pickup', 'bus', 'truck', 'estate'];
  const c = argmax(res, 0, 10);
  const t = argmax(res, 10, 19);
  const color = res[c]! >= colorThreshold ? `Color: (${colors[c]}, prob: ${pyFloat(res[c]!)})` : 'Color unknown';
  const type = res[10 + t]! >= typeThreshold ? `Type: (${types[t]}, prob: ${pyFloat(res[10 + t]!)})` : 'Type unknown';
  return { attributes: [`${color}, ${type}`], output: Array.from({ length: 19 }, (_, i) => (res[i]! > (i < 10 ? colorThreshold : typeThreshold) ? 1 : 0)) };
}

/** `TableAttribute` (every threshold 0.5; the source compares obstruction and angle against number_threshold). */
function table(res: ArrayLike<number>, threshold = 0.5): AttributeResult {
  const pairs: [string, string][] = [['Scanned', 'Photo'], ['Little', 'Numerous'], ['Black-and-White', 'Multicolor'], ['Clear', 'Blurry'], ['Without-Obstacles', 'With-Obstacles'], ['Horizontal', 'Tilted']];
  return { attributes: pairs.map(([yes, no], i) => (res[i]! > threshold ? yes : no)), output: pairs.map((_, i) => (res[i]! > threshold ? 1 : 0)) };
}

/** Python's repr of a float (shortest round trip; JS writes the same digits for numbers in [1e-4, 1e16)). */
function pyFloat(x: number): string {
  const s = String(x);
  return Number.isInteger(x) ? `${s}.0` : s;
}

/**
 * PaddleClas's readable attributes for one image's per-class sigmoid scores. Thresholds are the defaults of
 * the deploy configs (`deploy/configs/PULC/person_attribute/inference_person_attribute.yaml`: 0.5, glasses
 * 0.3, hold 0.6; vehicle and table: 0.5).
 */
export function paddleClasAttributes(kind: AttributePostprocess, scores: ArrayLike<number>): AttributeResult {
  if (!ATTRIBUTE_POSTPROCESSES.includes(kind)) throw invalidOption('postprocess', `one of ${ATTRIBUTE_POSTPROCESSES.join(', ')}`, kind);
  if (scores.length !== CLASS_COUNT[kind]) throw invalidOption('scores', `${CLASS_COUNT[kind]} scores for ${kind}`, scores.length);
  return kind === 'PersonAttribute' ? person(scores) : kind === 'VehicleAttribute' ? vehicle(scores) : table(scores);
}
