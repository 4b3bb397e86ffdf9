/** `pplcnet compare`: run two models on the same inputs and report how far apart their scores are. */
import { Command, InvalidArgumentError } from '../commander.js';
import { checkModelFile, checkOutputPath, compareModels, compareReportHtml, worstInputs } from '../../index.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../errors.js';
import { type ModelSourceFlags, type SessionFlags, addModelSourceOptions, addSessionOptions, modelSourceOptionsFrom, sessionOptionsFrom, writeReport } from '../options.js';
import { parseInteger, parseNumber, parsePositiveInteger } from '../parse.js';

interface CompareFlags extends SessionFlags, ModelSourceFlags {
  images?: string[];
  random: number;
  seed: number;
  json: boolean;
  maxAbsDiff?: number;
  minTop1?: number;
  report?: string;
}

/** A fraction in [0, 1]: `0.99`, or a percentage `99%`. */
function parseFraction(value: string): number {
  const pct = value.trim().endsWith('%');
  const n = parseNumber(pct ? value.trim().slice(0, -1) : value) / (pct ? 100 : 1);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError(`Expected a fraction from 0 to 1 (or a percentage such as 99%) but received ${JSON.stringify(value)}`);
  return n;
}

function parseNonNegative(value: string): number {
  const n = parseNumber(value);
  if (!(n >= 0) || !Number.isFinite(n)) throw new InvalidArgumentError(`Expected a non-negative number but received ${JSON.stringify(value)}`);
  return n;
}

export function compareCommand(ctx: CliContext): Command {
  const cmd = new Command('compare')
    .description('run two models on the same inputs and report how far apart their scores are')
    .argument('<a>', 'a zoo name or model path (.onnx, .pdparams, inference model)')
    .argument('<b>', 'another')
    .option('--images <paths...>', "images (files, folders, globs) through A's preprocessing (default: random inputs)")
    .option('--random <n>', 'number of random inputs', parsePositiveInteger, 8)
    .option('--seed <n>', 'seed of the random inputs', parseInteger, 0)
    .option('--max-abs-diff <x>', 'exit 1 when the largest probability difference (and logits difference, when both have logits) exceeds x', parseNonNegative)
    .option('--min-top1 <fraction>', 'exit 1 when top-1 agreement is below this fraction (0.99 or 99%)', parseFraction)
    .option('--report <file>', 'also write one self-contained HTML page: a histogram of |Δprob| and the inputs that differ most, atomically')
    .option('--json', 'machine-readable', false);
  addSessionOptions(cmd);
  addModelSourceOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  $ pplcnet compare PPLCNet_x1_0.onnx paddle2onnx_export.onnx                 # 8 random inputs
  $ pplcnet compare model.pdparams exported.onnx --images val/ --json
  $ pplcnet compare a.onnx b.onnx --max-abs-diff 1e-4 --min-top1 0.99          # for CI: exit 1 when violated
  $ pplcnet compare a.onnx b.onnx --images val/ --report compare.html`,
  );
  return cmd.action(async (a: string, b: string, flags: CompareFlags, command: Command) => {
    for (const m of [a, b]) await checkModelFile(m, 'model');
    if (flags.report) await checkOutputPath(flags.report);
    const r = await compareModels(a, b, {
      ...(flags.images ? { images: flags.images } : {}),
      random: flags.random,
      seed: flags.seed,
      ...sessionOptionsFrom(flags, ctx),
      ...modelSourceOptionsFrom(flags, ctx),
    });
    if (!flags.quiet) {
      for (const x of r.skipped) ctx.stderr(`pplcnet: skipped ${x.path}: ${x.reason}\n`);
      for (const x of r.failed) ctx.stderr(`pplcnet: error: ${x.message}\n`);
    }
    const violations: string[] = [];
    const e = (v: number) => v.toExponential(2);
    if (flags.maxAbsDiff !== undefined) {
      if (r.probs.maxAbs > flags.maxAbsDiff) violations.push(`probabilities differ by up to ${e(r.probs.maxAbs)}, more than --max-abs-diff ${flags.maxAbsDiff}`);
      if (r.logits && r.logits.maxAbs > flags.maxAbsDiff) violations.push(`logits differ by up to ${e(r.logits.maxAbs)}, more than --max-abs-diff ${flags.maxAbsDiff}`);
    }
    if (flags.minTop1 !== undefined && r.top1Agreement < flags.minTop1) {
      violations.push(`top-1 agreement ${(r.top1Agreement * 100).toFixed(1)}% is below --min-top1 ${(flags.minTop1 * 100).toFixed(1)}%`);
    }
    if (flags.report) await writeReport(flags.report, (env) => compareReportHtml(r, env), command, flags, ctx);
    // every input's row stays in the library's result (and the report); the JSON holds the ten worst
    const { perInput, ...summary } = r;
    if (flags.json) ctx.stdout(`${JSON.stringify({ ...summary, worst: worstInputs(perInput, 10), ...(flags.maxAbsDiff !== undefined || flags.minTop1 !== undefined ? { pass: violations.length === 0, violations } : {}) })}\n`);
    else {
      // as predict counts: every image given, then those that failed (left out of the figures below)
      const given = r.inputs + r.failed.length;
      const left = r.failed.length ? `, ${r.failed.length} failed (left out)` : '';
      ctx.stdout(`${given} ${r.inputKind === 'images' ? 'image' : 'random input'}${given === 1 ? '' : 's'}${left}\n`);
      if (r.logits) ctx.stdout(`logits         max |a-b| ${e(r.logits.maxAbs)}  mean ${e(r.logits.meanAbs)}\n`);
      ctx.stdout(`probabilities  max |a-b| ${e(r.probs.maxAbs)}  mean ${e(r.probs.meanAbs)}  (largest on ${r.worstInput})\n`);
      ctx.stdout(`top-1 agreement ${(r.top1Agreement * 100).toFixed(1)}%, top-5 (same order) ${(r.top5Agreement * 100).toFixed(1)}%\n`);
    }
    for (const v of violations) ctx.stderr(`pplcnet: fail: ${v}\n`);
    if (violations.length > 0 || r.failed.length > 0) process.exitCode = EXIT.failure;
  });
}
