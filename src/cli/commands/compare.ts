/** `pplcnet compare`: run two models on the same inputs and report how far apart their scores are. */
import { Command } from 'commander';
import { compareModels } from '../../index.js';
import type { CliContext } from '../context.js';
import { type ModelSourceFlags, type SessionFlags, addModelSourceOptions, addSessionOptions, modelSourceOptionsFrom, sessionOptionsFrom } from '../options.js';
import { parseInteger, parsePositiveInteger } from '../parse.js';

interface CompareFlags extends SessionFlags, ModelSourceFlags {
  images?: string[];
  random: number;
  seed: number;
  json: boolean;
}

export function compareCommand(ctx: CliContext): Command {
  const cmd = new Command('compare')
    .description('run two models on the same inputs and report how far apart their scores are')
    .argument('<a>', 'a zoo name or model path (.onnx, .pdparams, inference model)')
    .argument('<b>', 'another')
    .option('--images <paths...>', "images (files, folders, globs) through A's preprocessing (default: random inputs)")
    .option('--random <n>', 'number of random inputs', parsePositiveInteger, 8)
    .option('--seed <n>', 'seed of the random inputs', parseInteger, 0)
    .option('--json', 'machine-readable', false);
  addSessionOptions(cmd);
  addModelSourceOptions(cmd);
  return cmd.action(async (a: string, b: string, flags: CompareFlags) => {
    const r = await compareModels(a, b, {
      ...(flags.images ? { images: flags.images } : {}),
      random: flags.random,
      seed: flags.seed,
      ...sessionOptionsFrom(flags, ctx),
      ...modelSourceOptionsFrom(flags, ctx),
    });
    if (flags.json) {
      ctx.stdout(`${JSON.stringify(r)}\n`);
      return;
    }
    const e = (v: number) => v.toExponential(2);
    ctx.stdout(`${r.inputs} ${r.inputKind} input(s)\n`);
    if (r.logits) ctx.stdout(`logits         max |a-b| ${e(r.logits.maxAbs)}  mean ${e(r.logits.meanAbs)}\n`);
    ctx.stdout(`probabilities  max |a-b| ${e(r.probs.maxAbs)}  mean ${e(r.probs.meanAbs)}  (largest on ${r.worstInput})\n`);
    ctx.stdout(`top-1 agreement ${(r.top1Agreement * 100).toFixed(1)}%, top-5 (same order) ${(r.top5Agreement * 100).toFixed(1)}%\n`);
  });
}
