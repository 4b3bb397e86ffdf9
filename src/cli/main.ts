/**
 * The `pplcnet` command line. `predict` named first loads only its own modules (a one-image run starts
 * sooner); anything else loads every command (program.ts).
 */
import type { Command } from './commander.js';
import { type CliContext, processContext } from './context.js';
import { EXIT, handleError } from './errors.js';
import { programWith } from './shell.js';

/** Commands loaded alone when they are the first argument. */
const ALONE: Readonly<Record<string, (ctx: CliContext) => Promise<Command>>> = {
  predict: async (ctx) => (await import('./commands/predict.js')).predictCommand(ctx),
};

async function programFor(argv: readonly string[], ctx: CliContext): Promise<Command> {
  const alone = Object.hasOwn(ALONE, argv[0] ?? '') ? ALONE[argv[0]!] : undefined;
  if (alone) return programWith(ctx, [await alone(ctx)]);
  return (await import('./program.js')).createProgram(ctx);
}

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  try {
    const program = await programFor(argv, ctx);
    await program.parseAsync([...argv], { from: 'user' });
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (err) {
    return handleError(err, ctx.stderr);
  }
}
