/**
 * `pplcnet predict …` on its own: the entry of the predict command's one-file build
 * (`scripts/bundle-cli.mjs` → `dist/src/cli/predict-bundle.js`), which `bin/pplcnet.js` runs when the first
 * argument is `predict`. Node then loads one file instead of about sixty modules, about 30 ms sooner for
 * every `predict` (measured against the same modules unbundled, 15 alternating runs). The program is the
 * one `main` builds for `predict`.
 */
import { predictCommand } from './commands/predict.js';
import { type CliContext, processContext } from './context.js';
import { runProgram } from './run.js';
import { programWith } from './shell.js';

/** Run `pplcnet predict` with `argv` (its first element `predict`); resolves to the exit code. */
export function mainPredict(argv: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  return runProgram(async () => programWith(ctx, [predictCommand(ctx)]), argv, ctx);
}
