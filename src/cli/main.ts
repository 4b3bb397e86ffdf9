/** The `pplcnet` command line: assembles the commands; each lives in `commands/`. */
import { Command, Help, type Option, type OutputConfiguration } from 'commander';
import { VERSION } from '../index.js';
import { benchCommand } from './commands/bench.js';
import { buildCommand } from './commands/build.js';
import { cacheCommand } from './commands/cache.js';
import { compareCommand } from './commands/compare.js';
import { convertCommand } from './commands/convert.js';
import { exportWebCommand } from './commands/export-web.js';
import { embedCommand } from './commands/embed.js';
import { evalCommand } from './commands/eval.js';
import { inspectCommand } from './commands/inspect.js';
import { predictCommand } from './commands/predict.js';
import { pullCommand } from './commands/pull.js';
import { queueCommand } from './commands/queue.js';
import { serveCommand } from './commands/serve.js';
import { splitCommand } from './commands/split.js';
import { trainCommand } from './commands/train.js';
import { workerCommand } from './commands/worker.js';
import { zooCommand } from './commands/zoo.js';
import { type CliContext, processContext } from './context.js';
import { EXIT, handleError } from './errors.js';

/**
 * Option help with each default said once: commander's `(default: false)` on a flag says nothing, and a
 * description that states its own default needs no second one.
 */
const HELP = {
  optionDescription(this: Help, option: Option): string {
    const text = Help.prototype.optionDescription.call(this, option);
    if (option.isBoolean() && option.defaultValue === false) return text.replace(/ \(default: false\)$/, '');
    if (/\(default[ :]/.test(option.description) && option.defaultValue !== undefined) return text.replace(/ \(default: [^()]*\)$/, '');
    return text;
  },
};

/**
 * Where commander writes: the context's streams, and its own usage errors (an unknown option, a missing
 * argument, …) with the `pplcnet: ` prefix every other error has.
 */
function output(ctx: CliContext): OutputConfiguration {
  return { writeOut: ctx.stdout, writeErr: ctx.stderr, outputError: (message, write) => write(`pplcnet: ${message}`) };
}

export function createProgram(ctx: CliContext): Command {
  const program = new Command('pplcnet')
    .description('PaddlePaddle PP-LCNet image classifiers on ONNX Runtime: build, convert, predict')
    .version(VERSION)
    .configureOutput(output(ctx))
    .configureHelp(HELP)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Exit codes: 0 success; 1 a bad file, a failed download, or some image failed (see stderr); 2 a bad command line.
Run pplcnet <command> --help for each command's options and examples.`,
    );
  for (const cmd of [predictCommand(ctx), convertCommand(ctx), inspectCommand(ctx), buildCommand(ctx), pullCommand(ctx), zooCommand(ctx), cacheCommand(ctx), benchCommand(ctx), compareCommand(ctx), embedCommand(ctx), splitCommand(ctx), trainCommand(ctx), evalCommand(ctx), serveCommand(ctx), exportWebCommand(ctx), queueCommand(ctx), workerCommand(ctx)]) {
    for (const c of [cmd, ...cmd.commands]) c.configureOutput(output(ctx)).configureHelp(HELP).exitOverride().showHelpAfterError('(run with --help for usage)');
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
