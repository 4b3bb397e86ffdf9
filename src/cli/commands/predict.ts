/** `pplcnet predict`: classify images with a model, printing top-k labels or JSON lines. */
import { Command, Option } from '../commander.js';
// essentials.ts, not the whole index: a one-image run loads only what it uses
import { type Classification, type Classifier, type DecodeMode, type ImageInput, PplcnetError, STDIN_IMAGE_BYTES, checkModelFile, checkOutputPath, errorRow, expandImageInputs, readLabelFile, resultRow, writeFileAtomic } from '../../essentials.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../errors.js';
import { type ModelSourceFlags, type SessionFlags, addBatchSizeOption, addDecodeOption, addModelSourceOptions, addSessionOptions, decodeOptionFrom, modelSourceOptionsFrom, noticeFrom, requireModel, sessionOptionsFrom, untrainedWarning, warnFrom } from '../options.js';
import { parseInteger, parseNumber, parsePositiveInteger } from '../parse.js';
import { type ImageProgress, imageProgress } from '../progress.js';
import { tunedNote } from '../respawn.js';

interface PredictFlags extends SessionFlags, ModelSourceFlags {
  model?: string;
  topk?: number;
  json: boolean;
  batchSize: number;
  workers?: number;
  lanes?: number;
  output?: string;
  // PaddleClas spellings (see PADDLECLAS)
  infer_imgs?: string[];
  batch_size?: number;
  cpu_num_threads?: number;
  save_dir?: string;
  class_id_map_file?: string;
  threshold?: number;
  labels?: string;
  decode: DecodeMode;
}

/** A multi-label result: every class over the threshold, by class id, then PaddleClas's attributes when the model has them. */
function formatLabels(r: Classification, threshold: number, file: string): string {
  const over = r.labels ?? [];
  const w = over.reduce((m, t) => Math.max(m, t.label.length), 0);
  const lines = over.length ? over.map((t) => `  ${t.label.padEnd(w)}  ${t.score.toFixed(4)}  (class ${t.classId})`) : [`  (no class reaches ${threshold})`];
  if (r.attributes) lines.push(`  PaddleClas: ${r.attributes.attributes.join(', ')}`);
  return `${file}\n${lines.join('\n')}\n`;
}

/**
 * PaddleClas's spellings (`paddleclas --infer_imgs … --batch_size 8`): the first three are aliases of ours;
 * `--save_dir` means something else here and is refused with ours to use.
 */
const PADDLECLAS = {
  aliases: [
    new Option('--infer_imgs <paths...>', 'PaddleClas spelling: images, as the arguments'),
    new Option('--batch_size <n>', 'PaddleClas spelling of --batch-size').argParser(parsePositiveInteger),
    new Option('--cpu_num_threads <n>', 'PaddleClas spelling of --threads').argParser(parseInteger),
  ],
  hints: {
    save_dir: '--save_dir: use -o results.jsonl (pplcnet writes one file of JSON lines, not a folder)',
  },
} as const;

function formatText(r: Classification, file: string): string {
  const w = Math.max(...r.topk.map((t) => t.label.length));
  const lines = r.topk.map((t, i) => `  ${String(i + 1).padStart(2)}. ${t.label.padEnd(w)}  ${t.score.toFixed(4)}  (class ${t.classId})`);
  return `${file}\n${lines.join('\n')}\n`;
}

/** One input in command-line order: an image to classify, or a named path that was skipped. */
type Job = { kind: 'image'; file: string; input: ImageInput } | { kind: 'skipped'; file: string; reason: string };

/** Expand the command line in order: `-` is standard input; each path, folder or pattern as expandImageInputs says. */
async function expandJobs(args: readonly string[], ctx: CliContext, say: (m: string) => void): Promise<Job[]> {
  if (args.filter((a) => a === '-').length > 1) throw new RangeError("'-' (standard input) may be given once: it holds one image");
  const jobs: Job[] = [];
  for (const arg of args) {
    if (arg === '-') {
      if (!ctx.readStdin) throw new RangeError("'-': standard input is not available here");
      jobs.push({ kind: 'image', file: '-', input: await ctx.readStdin(STDIN_IMAGE_BYTES) });
      continue;
    }
    // one argument at a time keeps each result at its argument's place; duplicates are found within an argument
    const { files, skipped } = await expandImageInputs([arg]);
    for (const s of skipped) {
      // a path named on the command line that cannot be read is a failure; what a folder holds besides images is not
      if (s.path === arg) jobs.push({ kind: 'skipped', file: s.path, reason: s.reason });
      else say(`skipped ${s.path}: ${s.reason}`);
    }
    for (const f of files) jobs.push({ kind: 'image', file: f, input: f });
  }
  return jobs;
}

/** The command line: options, PaddleClas's hidden spellings and the examples. */
function defineCommand(): Command {
  const cmd = new Command('predict')
    .description('classify images (files, folders, globs, - for standard input) and print the top-k classes')
    .argument('[images...]', 'image files, folders (searched recursively), glob patterns, or - (one image on standard input)')
    .option('-m, --model <name|path>', 'zoo name, .onnx, .pdparams or Paddle inference model (default: $PPLCNET_MODEL)')
    .option('-k, --topk <n>', "classes to show (default: the model's, else 5)", parsePositiveInteger)
    .option('--json', 'one JSON object per image per line (failures too: {file, error: {code, message}})', false)
    .option('-o, --output <file>', 'also write the JSON lines to this file (written when the run ends, atomically)')
    .option('--threshold <p>', "multi-label models: print every class whose score reaches it; binary models with a published threshold: class 1 when its probability reaches it (default: the model's, else 0.5)", parseNumber)
    .option('--labels <file>', "class names that replace the model's: a JSON array, one per line, or PaddleClas class_id_map_file lines 'id label'")
    .option('--class_id_map_file <file>', 'the same as --labels (PaddleClas spelling)');
  addBatchSizeOption(cmd)
    .option('--workers <n>', 'preprocessing threads for folders (0: main thread; default: planned from the core count)', parseInteger)
    .option('--lanes <n>', 'inference lanes for folders: threads with their own session running whole batches side by side (0: none; default: planned on 3+ cores, one per core for models whose inference outweighs decoding)', parseInteger);
  addDecodeOption(cmd);
  addSessionOptions(cmd);
  addModelSourceOptions(cmd);
  for (const option of PADDLECLAS.aliases) cmd.addOption(option.hideHelp());
  for (const name of Object.keys(PADDLECLAS.hints)) cmd.addOption(new Option(`--${name} <value>`).hideHelp());
  return cmd.addHelpText(
    'after',
    `
Examples:
  $ pplcnet predict -m PP-LCNet_x0_25_textline_ori models/examples/
  $ pplcnet predict -m textline --json -o results.jsonl 'scans/**/*.png'
  $ cat line.png | pplcnet predict -m textline -

PaddleClas spellings: --infer_imgs, --batch_size, --cpu_num_threads, --topk and --class_id_map_file work as
here; --save_dir says what to use instead.`,
  );
}

/** The images asked for, with PaddleClas's spellings folded into ours (both spellings of one option: refused). */
function imagesFrom(args: readonly string[], flags: PredictFlags, command: Command): string[] {
  for (const [name, hint] of Object.entries(PADDLECLAS.hints)) {
    if (flags[name as keyof typeof PADDLECLAS.hints] !== undefined) throw new RangeError(hint);
  }
  if (flags.batch_size !== undefined) {
    if (command.getOptionValueSource('batchSize') === 'cli') throw new RangeError('give --batch-size or --batch_size, not both');
    flags.batchSize = flags.batch_size;
  }
  if (flags.cpu_num_threads !== undefined) {
    if (command.getOptionValueSource('threads') === 'cli') throw new RangeError('give --threads or --cpu_num_threads, not both');
    flags.threads = flags.cpu_num_threads;
  }
  const images = [...args, ...(flags.infer_imgs ?? [])];
  if (images.length === 0) throw new RangeError("no images given: name files, folders, glob patterns or '-' (standard input)");
  return images;
}

/**
 * Where rows go, in command-line order: JSON lines to stdout (`--json`) and to the `-o` file (written at the
 * end, atomically); failures to stderr too; skipped named inputs reported at their place.
 */
class Rows {
  private readonly lines: string[] = [];
  private next = 0; // next job to report
  progress: ImageProgress | undefined;

  constructor(private readonly ctx: CliContext, private readonly flags: PredictFlags, private readonly jobs: readonly Job[]) {}

  emit(row: object): void {
    const line = `${JSON.stringify(row)}\n`;
    if (this.flags.output) this.lines.push(line);
    if (this.flags.json) this.ctx.stdout(line);
  }

  failure(file: string, err: PplcnetError, prefix = ''): void {
    this.progress?.clear();
    this.ctx.stderr(`pplcnet: ${prefix}${err.message}\n`);
    this.emit(errorRow(file, err));
  }

  /** Report the skipped named inputs before job `end`; the next report starts after `end`. */
  reachJob(end: number): void {
    for (; this.next < end; this.next++) {
      const job = this.jobs[this.next]!;
      if (job.kind === 'skipped') this.failure(job.file, new PplcnetError('E_IO', `skipped ${job.file}: ${job.reason}`));
    }
    this.next = Math.max(this.next, end + 1);
  }

  async save(): Promise<void> {
    if (this.flags.output) await writeFileAtomic(this.flags.output, this.lines.join(''));
  }
}

/** The classifier the flags describe; says its plan (`--verbose`) and whether it was never trained. */
async function openClassifier(model: string, flags: PredictFlags, ctx: CliContext, say: (m: string) => void, first: readonly ImageInput[]): Promise<Classifier> {
  const labelFile = flags.labels ?? flags.class_id_map_file;
  const labels = labelFile ? await readLabelFile(labelFile) : undefined;
  const { createClassifier } = await import('../../classify.js');
  const classifier = await createClassifier({
    model,
    ...(labels ? { labels } : {}),
    ...(flags.threshold !== undefined ? { threshold: flags.threshold } : {}),
    ...sessionOptionsFrom(flags, ctx),
    ...(flags.topk ? { topk: flags.topk } : {}),
    ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
    ...(flags.lanes !== undefined ? { lanes: flags.lanes } : {}),
    ...decodeOptionFrom(flags),
    ...modelSourceOptionsFrom(flags, ctx),
    prefetch: first,
  });
  const verbose = flags.verbose && !flags.quiet;
  if (verbose) ctx.stderr(`pplcnet: ${classifier.plan.reason}\n`);
  const tuned = tunedNote();
  if (tuned && verbose) ctx.stderr(`pplcnet: ${tuned}\n`);
  if (verbose && classifier.decode === 'fast') {
    ctx.stderr('pplcnet: --decode fast: JPEGs over 5x the model input are decoded at reduced scale (shrink-on-load); scores are not Paddle-exact\n');
  }
  if (classifier.metadata.trained === false) say(untrainedWarning(classifier.name));
  return classifier;
}

/** Classify every image job in order, each row at its job's place; returns how many were classified and failed. */
async function classifyJobs(classifier: Classifier, jobs: readonly Job[], out: Rows, flags: PredictFlags, ctx: CliContext): Promise<{ done: number; failed: number }> {
  const warn = warnFrom(flags, ctx);
  // job index of each image, so results land at their place among skipped inputs
  const jobOf = jobs.flatMap((job, k) => (job.kind === 'image' ? [k] : []));
  const progress = out.progress!;
  let failed = 0;
  let done = 0;
  for await (const results of classifier.classifyStream(jobOf.map((k) => (jobs[k] as Job & { kind: 'image' }).input), { batchSize: flags.batchSize })) {
    for (const r of results) {
      const k = jobOf[done++]!;
      const file = jobs[k]!.file;
      out.reachJob(k);
      if (r instanceof Error) {
        failed++;
        out.failure(file, r, 'error: ');
        continue;
      }
      if (r.warnings?.length) progress.clear();
      for (const w of r.warnings ?? []) warn(w);
      out.emit(resultRow(r, classifier.name, file));
      if (!flags.json) ctx.stdout(r.labels ? formatLabels(r, classifier.threshold, file) : formatText(r, file));
    }
    progress.update(done);
  }
  out.reachJob(jobs.length);
  return { done, failed };
}

async function runPredict(ctx: CliContext, images: readonly string[], flags: PredictFlags): Promise<void> {
  const model = requireModel(flags);
  await checkModelFile(model, 'model');
  // the results file is checked before any work: a folder or special file there fails now, not after the run
  if (flags.output) await checkOutputPath(flags.output);
  const say = noticeFrom(flags, ctx);
  const jobs = await expandJobs(images, ctx, say);
  const out = new Rows(ctx, flags, jobs);
  const total = jobs.filter((j) => j.kind === 'image').length;
  const skippedNamed = jobs.length - total;
  if (total === 0) {
    out.reachJob(jobs.length);
    await out.save();
    throw new PplcnetError('E_IO', `no images found in ${images.join(', ')}`);
  }
  // the first batch is decoded while the session is created
  const first = jobs.flatMap((j) => (j.kind === 'image' ? [j.input] : [])).slice(0, flags.batchSize);
  const classifier = await openClassifier(model, flags, ctx, say, first);
  const progress = imageProgress(ctx.stderr, { total, isTTY: ctx.isTTY, quiet: flags.quiet === true });
  out.progress = progress;
  let counts: { done: number; failed: number };
  try {
    counts = await classifyJobs(classifier, jobs, out, flags, ctx);
  } finally {
    await classifier.close();
  }
  await out.save();
  progress.finish(counts.done, counts.failed);
  if (skippedNamed > 0 && !flags.quiet) ctx.stderr(`pplcnet: ${skippedNamed} input(s) named on the command line skipped\n`);
  if (counts.failed > 0 || skippedNamed > 0) process.exitCode = EXIT.failure;
}

export function predictCommand(ctx: CliContext): Command {
  return defineCommand().action((args: string[], flags: PredictFlags, command: Command) => runPredict(ctx, imagesFrom(args, flags, command), flags));
}
