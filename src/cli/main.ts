/**
 * The `pplcnet` command line. The command named first loads only its own modules; help loads every command
 * (program.ts). The installed CLI runs `predict` from one bundled file instead (predict-main.ts).
 */
import { type CliContext, processContext } from './context.js';
import { createProgram } from './program.js';
import { runProgram } from './run.js';

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export function main(argv: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  return runProgram(() => createProgram(ctx, argv), argv, ctx);
}
