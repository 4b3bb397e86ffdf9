/**
 * Checking a model argument without loading it: a zoo name (or alias), or a path that holds a model. For
 * commands that hand the model to someone else (`queue add` hands it to workers), so that a misspelt name
 * or a missing file is said at once instead of failing later elsewhere.
 */
import { PplcnetError } from '../errors.js';
import { checkModelFile } from '../util/sniff.js';
import { type ZooEntry, findZooEntry, loadZoo } from '../zoo/registry.js';

/**
 * Optimal string alignment distance (Damerau–Levenshtein without repeated edits of a substring), case
 * folded: the measure commander uses to suggest commands and options.
 */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev2: number[] = [];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      row.push(d);
    }
    prev2 = prev;
    prev = row;
  }
  return prev[y.length]!;
}

/**
 * The zoo names nearest to `name` (those at the smallest distance found, at most `max`): by edit distance over
 * names and aliases (an alias is shown with its model's name), within a quarter of the longer string (at
 * least 2 edits); a name that extends what was typed (`…_textline` → `…_textline_ori`) counts as 2 edits.
 */
export function nearestZooNames(name: string, zoo: readonly ZooEntry[] = loadZoo(), max = 3): string[] {
  const scored: { text: string; d: number }[] = [];
  for (const e of zoo) {
    let best: { text: string; d: number } | undefined;
    for (const [candidate, text] of [[e.name, e.name], ...e.aliases.map((a) => [a, `${a} (${e.name})`] as const)] as const) {
      const extends_ = name.length >= 4 && candidate.toLowerCase().startsWith(name.toLowerCase());
      const d = extends_ ? Math.min(2, editDistance(name, candidate)) : editDistance(name, candidate);
      if (d <= Math.max(2, Math.floor(Math.max(name.length, candidate.length) / 4)) && (!best || d < best.d)) best = { text, d };
    }
    if (best) scored.push(best);
  }
  scored.sort((a, b) => a.d - b.d || a.text.localeCompare(b.text));
  return scored.filter((s) => s.d === scored[0]!.d).slice(0, max).map((s) => s.text);
}

/**
 * Check that `model` names a zoo model or a file or folder that can hold one (an image, a zip or a PDF is
 * refused by what it is). Throws E_MODEL for a name that is neither, with the nearest zoo names; E_FORMAT for
 * a file that is certainly no model. The model is not read further, pulled or converted.
 */
export async function checkModelArgument(model: string): Promise<void> {
  const zoo = loadZoo();
  if (findZooEntry(model, zoo)) return;
  if (await checkModelFile(model, 'model')) return;
  const near = nearestZooNames(model, zoo);
  const looksLikePath = /[\\/]/.test(model) || /\.(onnx|pdparams|pdmodel|json|tar)$/i.test(model);
  const hint = near.length ? `; did you mean ${near.length === 1 ? near[0] : `one of ${near.join(', ')}`}?` : '';
  throw new PplcnetError(
    looksLikePath ? 'E_IO' : 'E_MODEL',
    looksLikePath
      ? `model ${model}: no such file or folder${hint}`
      : `model '${model}' is neither a file nor a zoo model${hint} ('pplcnet zoo list' shows every zoo model)`,
  );
}
