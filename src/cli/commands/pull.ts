/** `pplcnet pull`: download zoo models into the cache (resumable, checksummed) and convert them. */
import { Command } from 'commander';
import { formatBytes, pullZooModel } from '../../index.js';
import type { CliContext } from '../context.js';
import { type ModelSourceFlags, addModelSourceOptions, modelSourceOptionsFrom } from '../options.js';

export function pullCommand(ctx: CliContext): Command {
  const cmd = new Command('pull').description('download a zoo model into the cache (resumable, checksummed) and convert it').argument('<names...>', 'zoo model names');
  addModelSourceOptions(cmd);
  return cmd.action(async (names: string[], flags: ModelSourceFlags) => {
    for (const name of names) {
      const r = await pullZooModel(name, modelSourceOptionsFrom(flags, ctx));
      ctx.stdout(`${r.name}: ${r.path ?? '(in memory)'} (${formatBytes(r.bytes.length)} ONNX)\n`);
    }
  });
}
