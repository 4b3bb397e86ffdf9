/** `pplcnet train`: a labelled dataset and a pretrained backbone → one ONNX classifier (backbone + trained head). */
import { Command, Option } from '../commander.js';
import { type EpochReport, type TrainReport, checkOutputPath, errorRow, trainClassifier, writeFileAtomic } from '../../index.js';
import type { CliContext } from '../context.js';
import { type ModelSourceFlags, type SessionFlags, addModelSourceOptions, addSessionOptions, modelSourceOptionsFrom, requireModel, sessionOptionsFrom, warnFrom } from '../options.js';
import { parseInteger, parseNumber, parsePositiveInteger } from '../parse.js';

interface TrainFlags extends SessionFlags, ModelSourceFlags {
  model?: string;
  data: string;
  output: string;
  train: 'head' | 'last-conv';
  augment?: string;
  views: number;
  epochs: number;
  batchSize: number;
  lr?: number;
  weightDecay: number;
  patience: number;
  dropout: number;
  val: number;
  classWeight: 'none' | 'balanced';
  seed: number;
  name?: string;
  cache: boolean;
  workers?: number;
  force: boolean;
  json: boolean;
}

/** `flip,crop` → the augmentation flags; anything else is a usage error. */
function parseAugment(value: string | undefined, views: number): { flip: boolean; crop: boolean; views: number } | undefined {
  if (value === undefined || value === 'none') return undefined;
  const parts = value.split(',').map((s) => s.trim());
  for (const p of parts) if (p !== 'flip' && p !== 'crop') throw new RangeError(`--augment takes flip, crop or flip,crop, got '${value}'`);
  if (views < 2) throw new RangeError(`--views must be at least 2 with --augment (the image itself and one augmented view), got ${views}`);
  return { flip: parts.includes('flip'), crop: parts.includes('crop'), views };
}

const pct = (v: number | undefined): string => (v === undefined ? '-' : `${(v * 100).toFixed(1)}%`);

function epochLine(e: EpochReport): string {
  return `epoch ${String(e.epoch).padStart(3)}  loss ${e.loss.toFixed(4)}  train ${pct(e.trainAccuracy)}${e.valAccuracy !== undefined ? `  val loss ${e.valLoss!.toFixed(4)}  val ${pct(e.valAccuracy)}` : ''}${e.best ? '  *' : ''}\n`;
}

/** Epochs between progress lines when stderr is not a terminal (a log file or a CI job). */
export const EPOCH_LINE_EVERY = 10;

/**
 * The per-epoch progress: on a terminal every epoch; otherwise the first, every `EPOCH_LINE_EVERY`th and the
 * last (said by `finish`, once training has ended and the last epoch is known), so a log holds a few lines.
 */
export function epochPrinter(say: (line: string) => void, isTTY: boolean): { onEpoch: (e: EpochReport) => void; finish: () => void } {
  let held: string | undefined;
  return {
    onEpoch(e) {
      const line = epochLine(e);
      held = undefined;
      if (isTTY || e.epoch === 1 || e.epoch % EPOCH_LINE_EVERY === 0) say(line);
      else held = line;
    },
    finish() {
      if (held !== undefined) say(held);
      held = undefined;
    },
  };
}

function summaryLines(r: TrainReport, output: string): string {
  const d = r.dataset;
  const f = r.features;
  return [
    `dataset: ${d.source} (${d.kind}), ${d.classes} ${r.multiLabel ? 'labels' : 'classes'}, ${d.train} train / ${d.val} val images; validation: ${d.validation}`,
    `features: ${f.dims} per view, ${f.views} view(s) per training image; ${f.train.cached + f.val.cached} cached, ${f.train.computed + f.val.computed} computed in ${(f.ms / 1000).toFixed(1)} s`,
    `head (${r.head.mode}): best epoch ${r.head.bestEpoch} of ${r.head.epochs.length}${r.head.stoppedEarly ? ' (stopped early)' : ''}, train ${pct(r.head.trainAccuracy)}, val ${pct(r.head.valAccuracy)}, ${(r.trainMs / 1000).toFixed(1)} s`,
    `wrote ${output} (backbone ${r.backbone} + trained ${r.head.mode === 'head' ? 'fc' : 'last conv and fc'}; labels ${r.labels.join(', ')})`,
  ].join('\n') + '\n';
}

export function trainCommand(ctx: CliContext): Command {
  const cmd = new Command('train')
    .description('train a classifier on your images: a new head on a pretrained backbone, written as one ONNX model')
    .option('-m, --model <name|path>', 'the pretrained backbone: zoo name, .onnx, .pdparams or Paddle inference model (default $PPLCNET_MODEL)')
    .requiredOption('--data <folder|list>', 'a folder of class folders, a split folder (train_list.txt, val_list.txt, labels.txt) or a list file')
    .requiredOption('-o, --output <file.onnx>', 'the trained model, never replaced without --force')
    .addOption(new Option('--train <what>', 'head: a new fc on the embedding; last-conv: also fine-tune the pretrained last 1x1 conv').choices(['head', 'last-conv']).default('head'))
    .option('--augment <list>', 'augmented views of each training image: flip, crop or flip,crop')
    .option('--views <n>', 'views per training image with --augment, the image itself included', parsePositiveInteger, 4)
    .option('--epochs <n>', 'most epochs', parsePositiveInteger, 200)
    .option('--patience <n>', 'stop after this many epochs without a better validation result', parsePositiveInteger, 15)
    .option('-b, --batch-size <n>', 'rows per optimizer step', parsePositiveInteger, 32)
    .option('--lr <rate>', 'AdamW learning rate (default: 0.001 for head, 0.0003 for last-conv)', parseNumber)
    .option('--weight-decay <w>', 'AdamW decoupled weight decay', parseNumber, 1e-4)
    .option('--dropout <p>', 'dropout before fc with --train last-conv', parseNumber, 0.2)
    .option('--val <fraction>', 'held out for validation when the dataset is not split already', parseNumber, 0.2)
    .addOption(new Option('--class-weight <kind>', 'balanced: weigh classes by n / (classes x count), for imbalanced data').choices(['none', 'balanced']).default('none'))
    .option('--seed <n>', 'seed of the split, augmentation, shuffles and initialization', parseInteger, 0)
    .option('--name <name>', 'model name recorded in the metadata (default: the dataset folder name)')
    .option('--no-cache', 'neither read nor write the feature cache')
    .option('--workers <n>', 'preprocessing worker threads (default: planned)', parseInteger)
    .option('--force', 'replace an existing output file', false)
    .option('--json', 'print one JSON summary (with every epoch) instead of progress lines', false)
    .addHelpText(
      'after',
      `
The backbone's features are computed once (same preprocessing as predict) and cached under the cache folder,
keyed by model and image content, so a second run is fast. A split folder trains on train_list.txt, stops early
on val_list.txt and never reads test_list.txt.

Examples:
  $ pplcnet split pandatiger/ --val 0.2 --test 0.1
  $ pplcnet train -m PPLCNet_x1_0_ssld --data pandatiger/ -o pandatiger.onnx
  $ pplcnet train -m PPLCNet_x1_0_ssld --data pandatiger/ -o pandatiger.onnx --train last-conv --augment flip,crop --force`,
    );
  addSessionOptions(cmd);
  addModelSourceOptions(cmd);
  return cmd.action((flags: TrainFlags) => runTrain(flags, ctx));
}

/** The command's body: train, write the model, say what happened. */
async function runTrain(flags: TrainFlags, ctx: CliContext): Promise<void> {
  const model = requireModel(flags, 'PPLCNet_x1_0_ssld (a pretrained backbone)');
  if (!flags.output.endsWith('.onnx')) throw new RangeError(`--output must name a .onnx file, got '${flags.output}'`);
  const augment = parseAugment(flags.augment, flags.views);
  const write = { force: flags.force, overwrite: false };
  await checkOutputPath(flags.output, write);
  const say = (s: string): void => {
    if (!flags.json && !flags.quiet) ctx.stderr(s);
  };
  const epochs = epochPrinter(say, ctx.isTTY);
  const r = await trainClassifier({
    model,
    data: flags.data,
    ...sessionOptionsFrom(flags, ctx),
    ...modelSourceOptionsFrom(flags, ctx),
    mode: flags.train,
    ...(augment ? { augment } : {}),
    epochs: flags.epochs,
    patience: flags.patience,
    batchSize: flags.batchSize,
    ...(flags.lr !== undefined ? { lr: flags.lr } : {}),
    weightDecay: flags.weightDecay,
    dropout: flags.dropout,
    valFraction: flags.val,
    classWeight: flags.classWeight,
    seed: flags.seed,
    ...(flags.name ? { name: flags.name } : {}),
    noCache: !flags.cache,
    ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
    onFeatures: (stage, done, total) => {
      if (done === total || ctx.isTTY) say(`${ctx.isTTY ? '\r' : ''}features (${stage}): ${done}/${total} images${done === total ? '\n' : ''}`);
    },
    onEpoch: epochs.onEpoch,
  });
  epochs.finish();
  const warn = warnFrom(flags, ctx);
  for (const f of r.failed) warn(`left out ${f.file}: ${f.error.message}`);
  await writeFileAtomic(flags.output, r.bytes, write);
  if (flags.json) {
    const { bytes: _bytes, head, failed, ...rest } = r;
    const { fcWeight: _w, fcBias: _b, lastConvWeight: _c, ...headInfo } = head;
    ctx.stdout(`${JSON.stringify({ output: flags.output, ...rest, head: headInfo, failed: failed.map((f) => errorRow(f.file, f.error)) })}\n`);
  } else if (!flags.quiet) ctx.stdout(summaryLines(r, flags.output));
}
