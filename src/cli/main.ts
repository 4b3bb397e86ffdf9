/**
 * The `pplcnet` command line. The command named first loads only its own modules (a one-image `predict`
 * starts sooner); help loads every command (program.ts).
 */
import { type CliContext, processContext } from './context.js';
import { EXIT, handleError } from './errors.js';
import { createProgram } from './program.js';

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  try {
    const program = await createProgram(ctx, argv);
    await program.parseAsync([...argv], { from: 'user' });
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (err) {
    return handleError(err, ctx.stderr);
  }
}
