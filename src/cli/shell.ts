/** The `pplcnet` program around its commands: name, version, help layout, output and exit handling. */
import { Command, Help, type Option, type OutputConfiguration } from './commander.js';
import { VERSION } from '../essentials.js';
import type { CliContext } from './context.js';

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

/** The program holding `commands`. */
export function programWith(ctx: CliContext, commands: readonly Command[]): Command {
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
  for (const cmd of commands) {
    for (const c of [cmd, ...cmd.commands]) c.configureOutput(output(ctx)).configureHelp(HELP).exitOverride().showHelpAfterError('(run with --help for usage)');
    program.addCommand(cmd);
  }
  return program;
}
