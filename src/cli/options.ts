/**
 * Options several commands share, defined once: how a model runs (session), where models come from
 * (cache, mirror, offline, progress), and how an ONNX model is written (build and convert). Each group has
 * its flags type and the mapping to the library's options. @internal
 */
import { type Command, Option } from './commander.js';
// essentials.ts, not the whole index: `predict` loads only what it uses
import { DECODE_MODES, type DecodeMode, GRAPH_OPT_LEVELS, type GraphOptimizationLevel, HEADS, type Head, PplcnetError, type ProgressCallback, type ReportEnvironment, WEIGHT_STORAGES, type WeightStorage, untrainedMessage, writeFileAtomic } from '../essentials.js';
import type { CliContext } from './context.js';
import { parseBatch, parseInputSize, parseInteger, parseIntegerList0, parsePositiveInteger, parseSeconds } from './parse.js';
import { progressBar } from './progress.js';

/** `--ep`, `--threads`, `--inter-threads`, `--graph-opt`. */
export interface SessionFlags<T = number> {
  ep: string;
  threads: T;
  interThreads: number;
  graphOpt: GraphOptimizationLevel;
  verbose?: boolean;
  quiet?: boolean;
}

/** Notices the CLI prints only with `--verbose`: which execution provider runs (said on every start). */
const VERBOSE_ONLY = /^execution provider:/;

/**
 * Where the library's notices go: stderr, except with `-q` (nothing) and, without `--verbose`, the
 * execution-provider choice (the same on every run, so it is noise unless asked for).
 */
export function noticeFrom(flags: { verbose?: boolean; quiet?: boolean }, ctx: CliContext): (m: string) => void {
  return (m) => {
    if (flags.quiet) return;
    if (VERBOSE_ONLY.test(m) && !flags.verbose) return;
    ctx.stderr(`pplcnet: ${m}\n`);
  };
}

/** A warning on stderr (`pplcnet: warning: …`), unless `-q`. */
export function warnFrom(flags: { quiet?: boolean }, ctx: CliContext): (m: string) => void {
  return (m) => {
    if (!flags.quiet) ctx.stderr(`pplcnet: warning: ${m}\n`);
  };
}

/** Options of every command that runs a model. `threadList`: `--threads` takes a list (bench). */
export function addSessionOptions(cmd: Command, { threadList = false } = {}): Command {
  cmd.option('--ep <name>', "execution provider: auto (oneDNN when the binding has it, else cpu), cpu, dnnl, …", 'auto');
  if (threadList) cmd.option('--threads <list>', 'intra-op thread counts, e.g. 1,2 (0: onnxruntime decides)', parseIntegerList0, [1]);
  else cmd.option('--threads <n>', 'intra-op threads (0: planned with the preprocessing workers from the core count; --verbose says what was chosen)', parseInteger, 0);
  return cmd
    .option('--inter-threads <n>', 'inter-op threads (0: onnxruntime decides)', parseInteger, 0)
    .addOption(new Option('--graph-opt <level>', 'onnxruntime graph optimization level').choices(GRAPH_OPT_LEVELS).default('all'))
    .option('--verbose', 'also say which execution provider runs', false);
}

/** The library's session options from the flags; notices as `noticeFrom` says. */
export function sessionOptionsFrom<T>(flags: SessionFlags<T>, ctx: CliContext): { ep: string; threads: T; interThreads: number; graphOpt: GraphOptimizationLevel; notice: (m: string) => void } {
  return { ep: flags.ep, threads: flags.threads, interThreads: flags.interThreads, graphOpt: flags.graphOpt, notice: noticeFrom(flags, ctx) };
}

/** `--cache-dir`. */
export interface CacheFlags {
  cacheDir?: string;
}

export function addCacheOption(cmd: Command): Command {
  return cmd.option('--cache-dir <dir>', 'cache folder (default: $PPLCNET_HOME or ~/.cache/pplcnet)');
}

export function cacheOptionsFrom(flags: CacheFlags): { cacheDir?: string } {
  return flags.cacheDir ? { cacheDir: flags.cacheDir } : {};
}

/** `--cache-dir`, `--mirror`, `--offline`, `--timeout`, `-q`. */
export interface ModelSourceFlags extends CacheFlags {
  mirror?: string;
  offline?: boolean;
  timeout?: number;
  quiet?: boolean;
}

/** Options of every command that may pull a zoo model. */
export function addModelSourceOptions(cmd: Command): Command {
  return addCacheOption(cmd)
    .option('--mirror <url>', 'fetch from this server instead of the source host (default: $PPLCNET_MIRROR)')
    .option('--offline', 'never touch the network (also $PPLCNET_OFFLINE=1)')
    .option('--timeout <seconds>', 'fail a download after this long without data, or averaging under 1 kB/s over this long (default: $PPLCNET_TIMEOUT or 30)', parseSeconds)
    .option('-q, --quiet', 'nothing on stderr but errors: no progress, notices, warnings or summary', false);
}

/** The library's pull options from the flags, with a progress bar on stderr (on a terminal, unless quiet). */
export function modelSourceOptionsFrom(
  flags: ModelSourceFlags & { verbose?: boolean },
  ctx: CliContext,
): { cacheDir?: string; mirror?: string; offline?: boolean; timeoutMs?: number; onProgress: ProgressCallback; notice: (m: string) => void } {
  return {
    ...cacheOptionsFrom(flags),
    ...(flags.mirror ? { mirror: flags.mirror } : {}),
    ...(flags.offline ? { offline: true } : {}),
    ...(flags.timeout ? { timeoutMs: flags.timeout * 1000 } : {}),
    onProgress: progressBar(ctx.stderr, ctx.isTTY, flags.quiet === true),
    notice: noticeFrom(flags, ctx),
  };
}

/** `-b, --batch-size`: images per inference batch. */
export function addBatchSizeOption(cmd: Command): Command {
  return cmd.option('-b, --batch-size <n>', 'images per inference batch', parsePositiveInteger, 8);
}

/**
 * `--report <file>` of bench and compare: the page made from this run's environment and command line,
 * written atomically, then said on stderr (unless quiet).
 */
export async function writeReport(file: string, page: (env: ReportEnvironment) => string, command: Command, flags: { quiet?: boolean }, ctx: CliContext): Promise<void> {
  const { reportEnvironment } = await import('../index.js'); // only bench and compare write reports
  await writeFileAtomic(file, page(reportEnvironment(['pplcnet', ...(command.parent?.args ?? [])])));
  if (!flags.quiet) ctx.stderr(`pplcnet: wrote ${file}\n`);
}

/** `--decode <exact|fast>`: how JPEGs are decoded by the commands that classify. */
export function addDecodeOption(cmd: Command): Command {
  return cmd.addOption(
    new Option('--decode <mode>', 'exact: every pixel, Paddle-exact; fast: not Paddle-exact, JPEGs over 5x the model input decoded by libjpeg at 1/4 or 1/8 scale (faster on large photos)')
      .choices(DECODE_MODES)
      .default('exact'),
  );
}

/** The library's `decode` option from `--decode` (nothing for the default). */
export function decodeOptionFrom(flags: { decode?: DecodeMode }): { decode?: DecodeMode } {
  return flags.decode && flags.decode !== 'exact' ? { decode: flags.decode } : {};
}

/** How `build` and `convert` write an ONNX model. */
export interface OutputModelFlags {
  output?: string;
  keepBn: boolean;
  opset: number;
  batch: 'dynamic' | number;
  inputSize?: [number, number];
  features: boolean;
  head?: Head;
  name?: string;
  labels?: string;
  json: boolean;
  weights: WeightStorage;
}

/** `--weights fp32|fp16|int8`: how a written or cached model stores its weights. */
export function weightsOption(): Option {
  return new Option('--weights <type>', 'weight storage: fp32; fp16 (conv/fc weights float16, ~1/2 the file); int8 (per-channel, ~1/4); turned back into fp32 when the model loads')
    .choices(WEIGHT_STORAGES)
    .default('fp32');
}

/** The resolve options' build part from `--weights` (nothing for fp32, so fp32 models keep their cache key). */
export function weightsBuildFrom(flags: { weights?: WeightStorage }): { build?: { weightStorage: WeightStorage } } {
  return flags.weights && flags.weights !== 'fp32' ? { build: { weightStorage: flags.weights } } : {};
}

/** `help`: the command's own wording of `--input-size` and `--labels` (their defaults differ). */
export function addOutputModelOptions(
  cmd: Command,
  help: { inputSize?: string; labels?: string; output?: string } = {},
): Command {
  const { output = 'output ONNX file, never replaced without --force (default: named after the input, <input>.onnx)', inputSize = "network input: 224 or HxW (default: the program's, else 224)", labels = 'class names: a JSON array or one per line' } = help;
  return cmd
    .option('-o, --output <file>', output)
    .option('--keep-bn', 'keep BatchNormalization nodes and the dropout Mul (otherwise folded into convs and fc)', false)
    .option('--opset <n>', 'ONNX opset, 14 to 21', parseInteger, 17)
    .option('--batch <n>', "'dynamic' or a fixed batch size", parseBatch, 'dynamic')
    .option('--input-size <size>', inputSize, parseInputSize)
    .option('--features', 'also output feature.blocks3..6, feature.gap and the embedding (the fc input)', false)
    .addOption(new Option('--head <kind>', "what follows fc: softmax (output probs), sigmoid (multi-label, output scores) or none (logits only) (default: the program's, else softmax)").choices(HEADS))
    .option('--name <name>', 'model name recorded in the metadata')
    .option('--labels <file>', labels)
    .option('--json', 'print a machine-readable summary', false)
    .addOption(weightsOption());
}

/** The library's build options from the flags. */
export function outputModelOptionsFrom(flags: OutputModelFlags): { fold: boolean; opset: number; batch: 'dynamic' | number; features: boolean; head?: Head; inputSize?: [number, number]; weightStorage?: WeightStorage } {
  return {
    ...(flags.weights && flags.weights !== 'fp32' ? { weightStorage: flags.weights } : {}),
    ...(flags.head ? { head: flags.head } : {}),
    fold: !flags.keepBn,
    opset: flags.opset,
    batch: flags.batch,
    features: flags.features,
    ...(flags.inputSize ? { inputSize: flags.inputSize } : {}),
  };
}

/**
 * The model of a command that runs one: `--model`, else $PPLCNET_MODEL; neither is a command-line error
 * (exit 2) saying what to pass.
 */
export function requireModel(flags: { model?: string }, example = 'PP-LCNet_x0_25_textline_ori (ships with pplcnet)'): string {
  const model = flags.model || process.env.PPLCNET_MODEL;
  if (!model) throw new RangeError(`no model given: pass --model NAME|PATH, e.g. --model ${example}, or set PPLCNET_MODEL`);
  return model;
}

/** `serve`'s models: every `-m` given, else $PPLCNET_MODEL; none is a command-line error (exit 2). */
export function requireModels(given: readonly string[]): string[] {
  const models = given.length > 0 ? [...given] : process.env.PPLCNET_MODEL ? [process.env.PPLCNET_MODEL] : [];
  if (models.length === 0) throw new RangeError('no model given: pass -m NAME|PATH (repeatable), e.g. -m PP-LCNet_x0_25_textline_ori (ships with pplcnet), or set PPLCNET_MODEL');
  return models;
}

/**
 * The warning given once for a model made by `pplcnet build` (predict, embed, export-web), as a notice reads
 * it: `pplcnet: warning: model … holds …`, the library's wording, the same line serve prints.
 */
export function untrainedWarning(name: string): string {
  return `warning: ${untrainedMessage(name)}`;
}

/**
 * `--redis` and `--queue`, shared by the queue commands and `worker`; without `--redis` or $PPLCNET_REDIS the
 * command line is incomplete (exit 2, as for any missing required option). @internal
 */
export function addQueueTargetOptions(cmd: Command): Command {
  return cmd
    .option('--redis <url>', 'redis://[:password@]host[:port][/db], rediss:// for TLS (default $PPLCNET_REDIS)')
    .requiredOption('--queue <name>', 'queue name (letters, digits, . _ -)')
    .hook('preAction', (self) => {
      if (!self.opts<{ redis?: string }>().redis && !process.env.PPLCNET_REDIS) {
        self.error("error: no Redis given: pass --redis redis://host:6379 (rediss:// for TLS) or set PPLCNET_REDIS", { exitCode: 2, code: 'pplcnet.missingRedis' });
      }
    });
}

/** The Redis URL from the flag or $PPLCNET_REDIS. @internal */
export function redisUrl(flags: { redis?: string }): string {
  const url = flags.redis ?? process.env.PPLCNET_REDIS;
  if (!url) throw new PplcnetError('E_NETWORK', 'no Redis given: pass --redis redis://host:6379 (rediss:// for TLS) or set PPLCNET_REDIS');
  return url;
}
