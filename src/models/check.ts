/**
 * Checking a model argument without loading it: a zoo name (or alias), or a path that holds a model. For
 * commands that hand the model to someone else (`queue add` hands it to workers), so that a misspelt name
 * or a missing file is said at once instead of failing later elsewhere.
 */
import { PplcnetError } from '../errors.js';
import { checkModelFile } from '../util/sniff.js';
import { findZooEntry, loadZoo, nearestZooNames } from '../zoo/registry.js';

/** The nearest-name search lives with the zoo's names; re-exported for this module's callers. */
export { editDistance, nearestZooNames } from '../zoo/registry.js';

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
