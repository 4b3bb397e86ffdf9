/** The `pplcnet` command line: assembles the commands; each lives in `commands/`. */
import { Command } from 'commander';
import { VERSION } from '../index.js';
import { benchCommand } from './commands/bench.js';
import { buildCommand } from './commands/build.js';
import { compareCommand } from './commands/compare.js';
import { convertCommand } from './commands/convert.js';
import { embedCommand } from './commands/embed.js';
import { inspectCommand } from './commands/inspect.js';
import { predictCommand } from './commands/predict.js';
import { pullCommand } from './commands/pull.js';
import { zooCommand } from './commands/zoo.js';
import { type CliContext, processContext } from './context.js';
import { EXIT, handleError } from './errors.js';

export function createProgram(ctx: CliContext): Command {
  const program = new Command('pplcnet')
    .description('PaddlePaddle PP-LCNet image classifiers on ONNX Runtime: build, convert, predict')
    .version(VERSION)
    .configureOutput({ writeOut: ctx.stdout, writeErr: ctx.stderr })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
  for (const cmd of [predictCommand(ctx), convertCommand(ctx), inspectCommand(ctx), buildCommand(ctx), pullCommand(ctx), zooCommand(ctx), benchCommand(ctx), compareCommand(ctx), embedCommand(ctx)]) {
    for (const c of [cmd, ...cmd.commands]) c.configureOutput({ writeOut: ctx.stdout, writeErr: ctx.stderr }).exitOverride().showHelpAfterError('(run with --help for usage)');
    program.addCommand(cmd);
  }
  return program;
}

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main(argv: readonly string[], ctx: CliContext = processContext()): Promise<number> {
  const program = createProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return process.exitCode === undefined ? EXIT.ok : Number(process.exitCode);
  } catch (err) {
    return handleError(err, ctx.stderr);
  }
}
