/** `pplcnet predict`: classify images with a model, printing top-k labels or JSON lines. */
import { Command } from 'commander';
import { type Classification, PplcnetError, createClassifier, expandImageInputs, readLabelFile } from '../../index.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../errors.js';
import { type ModelSourceFlags, type SessionFlags, addBatchSizeOption, addModelSourceOptions, addSessionOptions, modelSourceOptionsFrom, sessionOptionsFrom } from '../options.js';
import { parseInteger, parseNumber, parsePositiveInteger } from '../parse.js';

interface PredictFlags extends SessionFlags, ModelSourceFlags {
  model?: string;
  topk?: number;
  json: boolean;
  batchSize: number;
  workers?: number;
  threshold?: number;
  labels?: string;
  class_id_map_file?: string;
}

/** A multi-label result: every class over the threshold, by class id, then PaddleClas's attributes when the model has them. */
function formatLabels(r: Classification, threshold: number): string {
  const over = r.labels ?? [];
  const w = Math.max(0, ...over.map((t) => t.label.length));
  const lines = over.length ? over.map((t) => `  ${t.label.padEnd(w)}  ${t.score.toFixed(4)}  (class ${t.classId})`) : [`  (no class reaches ${threshold})`];
  if (r.attributes) lines.push(`  PaddleClas: ${r.attributes.attributes.join(', ')}`);
  return `${r.input}\n${lines.join('\n')}\n`;
}

function formatText(r: Classification): string {
  const w = Math.max(...r.topk.map((t) => t.label.length));
  const lines = r.topk.map((t, i) => `  ${String(i + 1).padStart(2)}. ${t.label.padEnd(w)}  ${t.score.toFixed(4)}  (class ${t.classId})`);
  return `${r.input}\n${lines.join('\n')}\n`;
}

export function predictCommand(ctx: CliContext): Command {
  const cmd = new Command('predict')
    .description('classify images (files, folders, globs) and print the top-k classes')
    .argument('<images...>', 'image files, folders (searched recursively) or glob patterns')
    .option('-m, --model <name|path>', 'zoo name, .onnx, .pdparams or Paddle inference model (default $PPLCNET_MODEL)')
    .option('-k, --topk <n>', "classes to show (default: the model's, else 5)", parsePositiveInteger)
    .option('--json', 'one JSON object per image per line', false)
    .option('--threshold <p>', "multi-label models: print every class whose score reaches it; binary models with a published threshold: class 1 when its probability reaches it (default: the model's, else 0.5)", parseNumber)
    .option('--labels <file>', "class names that replace the model's: a JSON array, one per line, or PaddleClas class_id_map_file lines 'id label'")
    .option('--class_id_map_file <file>', 'the same as --labels (PaddleClas spelling)');
  addBatchSizeOption(cmd).option('--workers <n>', 'preprocessing threads for folders (0: main thread; default min(2, CPUs-1))', parseInteger);
  addSessionOptions(cmd);
  addModelSourceOptions(cmd);
  return cmd.action(async (images: string[], flags: PredictFlags) => {
    const model = flags.model ?? process.env.PPLCNET_MODEL;
    if (!model) {
      throw new PplcnetError('E_MODEL', "no model given: pass --model NAME|PATH, e.g. --model PP-LCNet_x0_25_textline_ori (ships with pplcnet), or set PPLCNET_MODEL");
    }
    const { files, skipped } = await expandImageInputs(images);
    for (const s of skipped) ctx.stderr(`pplcnet: skipped ${s.path}: ${s.reason}\n`);
    // a path named on the command line that cannot be read is a failure; what a folder holds besides images is not
    const named = new Set(images);
    const skippedNamed = skipped.filter((s) => named.has(s.path)).length;
    if (files.length === 0) throw new PplcnetError('E_IO', `no images found in ${images.join(', ')}`);
    const labelFile = flags.labels ?? flags.class_id_map_file;
    const labels = labelFile ? await readLabelFile(labelFile) : undefined;
    const classifier = await createClassifier({
      model,
      ...(labels ? { labels } : {}),
      ...(flags.threshold !== undefined ? { threshold: flags.threshold } : {}),
      ...sessionOptionsFrom(flags, ctx),
      ...(flags.topk ? { topk: flags.topk } : {}),
      ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
      ...modelSourceOptionsFrom(flags, ctx),
    });
    let failed = 0;
    try {
      for await (const results of classifier.classifyStream(files, { batchSize: flags.batchSize })) {
        for (const r of results) {
          if (r instanceof Error) {
            failed++;
            ctx.stderr(`pplcnet: error: ${r.message}\n`);
          } else if (flags.json) {
            ctx.stdout(`${JSON.stringify({ file: r.input, model: classifier.name, topk: r.topk, ...(r.labels ? { labels: r.labels, threshold: classifier.threshold } : {}), ...(r.attributes ? { attributes: r.attributes } : {}), timings: round(r.timings) })}\n`);
          } else ctx.stdout(r.labels ? formatLabels(r, classifier.threshold) : formatText(r));
        }
      }
    } finally {
      await classifier.close();
    }
    if (failed > 0) ctx.stderr(`pplcnet: ${failed} of ${files.length} image(s) failed\n`);
    if (skippedNamed > 0) ctx.stderr(`pplcnet: ${skippedNamed} input(s) named on the command line skipped\n`);
    if (failed > 0 || skippedNamed > 0) process.exitCode = EXIT.failure;
  });
}

function round(t: Classification['timings']): Record<string, number> {
  return {
    decodeMs: Number(t.decodeMs.toFixed(3)),
    preprocessMs: Number(t.preprocessMs.toFixed(3)),
    inferenceMs: Number(t.inferenceMs.toFixed(3)),
    batchSize: t.batchSize,
  };
}
