/** `pplcnet eval`: a model's accuracy on a labelled folder or list, with an optional HTML report. */
import { Command } from '../commander.js';
import { type EvalReport, checkOutputPath, evalReportHtml, evaluateModel, thumbnails, worstRows } from '../../index.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../errors.js';
import { type ModelSourceFlags, type SessionFlags, addDecodeOption, addModelSourceOptions, addSessionOptions, decodeOptionFrom, modelSourceOptionsFrom, requireModel, sessionOptionsFrom, writeReport } from '../options.js';
import { formatImageProgress } from '../progress.js';
import { parseNumber, parsePositiveInteger } from '../parse.js';

interface EvalFlags extends SessionFlags, ModelSourceFlags {
  model?: string;
  data: string;
  batchSize: number;
  threshold?: number;
  decode?: 'exact' | 'fast';
  report?: string;
  json: boolean;
}

const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;

function textReport(r: EvalReport): string {
  const out = [`${r.model} on ${r.data}: ${r.images} images, ${r.failed} failed`];
  if (r.single) {
    const m = r.single;
    out.push(`top-1 ${pct(m.top1)}  top-5 ${pct(m.top5)}  macro F1 ${pct(m.macroF1)}`);
    const w = Math.max(5, ...r.labels.map((l) => l.length));
    out.push(`${'class'.padEnd(w)}  precision  recall     F1         images`);
    for (const c of m.perClass) out.push(`${c.label.padEnd(w)}  ${pct(c.precision).padEnd(9)}  ${pct(c.recall).padEnd(9)}  ${pct(c.f1).padEnd(9)}  ${c.support}`);
    out.push('confusion matrix (rows: true, columns: predicted, in the order above):');
    for (const row of m.confusion) out.push(`  ${row.map((v) => String(v).padStart(5)).join(' ')}`);
  }
  if (r.multi) {
    const m = r.multi;
    out.push(`mA ${pct(m.mA)}  instance accuracy ${pct(m.instance.accuracy)}  precision ${pct(m.instance.precision)}  recall ${pct(m.instance.recall)}  F1 ${pct(m.instance.f1)}`);
    for (const l of m.perLabel) out.push(`  ${l.label}: mA ${pct(l.mA)}, positive recall ${pct(l.positiveRecall)}, negative recall ${pct(l.negativeRecall)}, precision ${pct(l.precision)}`);
  }
  return `${out.join('\n')}\n`;
}

export function evalCommand(ctx: CliContext): Command {
  const cmd = new Command('eval')
    .description('measure a model on labelled images: top-1/top-5, per-class precision/recall/F1 and the confusion matrix (mA for multi-label)')
    .option('-m, --model <name|path>', 'zoo name, .onnx, .pdparams or Paddle inference model (default $PPLCNET_MODEL)')
    .requiredOption('--data <folder|list>', 'a folder of class folders, a list file, or a split folder (its test_list.txt)')
    .option('-b, --batch-size <n>', 'images per inference batch', parsePositiveInteger, 8)
    .option('--threshold <p>', 'multi-label: a label is predicted when its score reaches this (default: the model\'s, else 0.5)', parseNumber)
    .option('--report <file>', 'also write one self-contained HTML page: confusion matrix, per-class bars, worst-classified thumbnails')
    .option('--json', 'print one JSON object: the metrics and one row per image (failed images as error rows)', false)
    .addHelpText(
      'after',
      `
Failed images are counted and listed (exit code 1), never dropped silently.

Example:
  $ pplcnet eval -m pandatiger.onnx --data pandatiger/test_list.txt --report eval.html`,
    );
  addDecodeOption(cmd);
  addSessionOptions(cmd);
  addModelSourceOptions(cmd);
  return cmd.action(async (flags: EvalFlags, command: Command) => {
    const model = requireModel(flags);
    if (flags.report) await checkOutputPath(flags.report);
    const started = performance.now();
    const r = await evaluateModel({
      model,
      data: flags.data,
      batchSize: flags.batchSize,
      ...(flags.threshold !== undefined ? { threshold: flags.threshold } : {}),
      ...decodeOptionFrom(flags),
      ...sessionOptionsFrom(flags, ctx),
      ...modelSourceOptionsFrom(flags, ctx),
      onImages: (done, total) => {
        if (ctx.isTTY && !flags.quiet && !flags.json) ctx.stderr(`\r${formatImageProgress(done, total, performance.now() - started)}\x1b[K${done === total ? '\n' : ''}`);
      },
    });
    for (const row of r.rows) if ('error' in row && !flags.json && !flags.quiet) ctx.stderr(`pplcnet: error: ${row.error.message}\n`);
    if (flags.json) ctx.stdout(`${JSON.stringify(r)}\n`);
    else if (!flags.quiet) ctx.stdout(textReport(r));
    if (flags.report) {
      const thumbs = await thumbnails(worstRows(r.rows).map((w) => w.file));
      await writeReport(flags.report, (env) => evalReportHtml(r, env, thumbs), command, flags, ctx);
    }
    if (r.failed > 0) {
      ctx.stderr(`pplcnet: ${r.failed} of ${r.images} image(s) failed (counted, not scored)\n`);
      process.exitCode = EXIT.failure;
    }
  });
}
