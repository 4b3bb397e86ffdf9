/** Running a command line: build the program, parse `argv`, and turn the outcome into an exit code. */
import type { Command } from './commander.js';
import type { CliContext } from './context.js';
import { EXIT, handleError } from './errors.js';

/** Parse `argv` with the program `make` builds; resolves to the exit code (errors said on `ctx.stderr`). */
export async function runProgram(make: () => Promise<Command>, argv: readonly string[], ctx: CliContext): Promise<number> {
  try {
    const program = await make();
    await program.parseAsync([...argv], { from: 'user' });
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (err) {
    return handleError(err, ctx.stderr);
  }
}
