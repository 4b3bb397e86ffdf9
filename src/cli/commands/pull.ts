/** `pplcnet pull`: download zoo models into the cache (resumable, checksummed) and convert them. */
import { Command } from '../commander.js';
import { PplcnetError, type WeightStorage, formatBytes, pullZooModel } from '../../index.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../errors.js';
import { type ModelSourceFlags, addModelSourceOptions, modelSourceOptionsFrom, weightsBuildFrom, weightsOption } from '../options.js';

export function pullCommand(ctx: CliContext): Command {
  const cmd = new Command('pull')
    .description('download zoo models into the cache (resumable, checksummed) and convert them; every name is tried, exit 1 if any failed')
    .argument('<names...>', 'zoo model names');
  addModelSourceOptions(cmd).addOption(weightsOption());
  return cmd.action(async (names: string[], flags: ModelSourceFlags & { weights: WeightStorage }) => {
    const failed: string[] = [];
    for (const name of names) {
      try {
        const r = await pullZooModel(name, { ...modelSourceOptionsFrom(flags, ctx), ...weightsBuildFrom(flags) });
        ctx.stdout(`${r.name}: ${r.path ?? '(in memory)'} (${formatBytes(r.bytes.length)} ONNX${flags.weights !== 'fp32' ? `, ${flags.weights} weights` : ''})\n`);
      } catch (err) {
        // a bad command line (a malformed --mirror, …) fails every name alike: stop at once
        if (!(err instanceof PplcnetError)) throw err;
        failed.push(name);
        const message = err.message.startsWith(name) || err.message.startsWith(`'${name}'`) ? err.message : `${name}: ${err.message}`;
        ctx.stderr(`pplcnet: error: ${message}\n`);
      }
    }
    if (failed.length) {
      if (names.length > 1) ctx.stderr(`pplcnet: pulled ${names.length - failed.length} of ${names.length}; failed: ${failed.join(', ')}\n`);
      process.exitCode = EXIT.failure;
    }
  });
}
