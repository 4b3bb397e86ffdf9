/** `pplcnet predict`: classify images with a model, printing top-k labels or JSON lines. */
import { Command, Option } from 'commander';
import { type Classification, createClassifier } from '../../classifier.js';
import { PplcnetError } from '../../errors.js';
import { resultRow } from '../../output-row.js';
import { GRAPH_OPT_LEVELS, type GraphOptimizationLevel } from '../../runtime/session.js';
import { expandInputs } from '../../util/inputs.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../errors.js';
import { parseInteger, parseIntegerList0, parsePositiveInteger } from '../parse.js';
import { progressBar } from '../progress.js';
import { addPullOptions } from './zoo.js';

interface PredictFlags {
  model?: string;
  topk?: number;
  json: boolean;
  batchSize: number;
  ep: string;
  threads: number;
  interThreads: number;
  graphOpt: GraphOptimizationLevel;
  cacheDir?: string;
  mirror?: string;
  offline?: boolean;
  quiet: boolean;
  workers?: number;
}

/** Options every command that runs a model shares. @internal */
export function addRuntimeOptions(cmd: Command, { threadList = false } = {}): Command {
  cmd.option('--ep <name>', "execution provider: auto (oneDNN when the binding has it, else cpu), cpu, dnnl, …", 'auto');
  if (threadList) cmd.option('--threads <list>', 'intra-op thread counts, e.g. 1,2 (0: onnxruntime decides)', parseIntegerList0, [1]);
  else cmd.option('--threads <n>', 'intra-op threads (0: onnxruntime decides, one per physical core)', parseInteger, 0);
  return cmd
    .option('--inter-threads <n>', 'inter-op threads (0: onnxruntime decides)', parseInteger, 0)
    .addOption(new Option('--graph-opt <level>', 'onnxruntime graph optimization level').choices(GRAPH_OPT_LEVELS).default('all'))
    .option('--cache-dir <dir>', 'cache folder (default $PPLCNET_HOME or ~/.cache/pplcnet)');
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
    .option('-b, --batch-size <n>', 'images per inference batch', parsePositiveInteger, 8)
    .option('--workers <n>', 'preprocessing threads for folders (0: main thread; default min(2, CPUs-1))', parseInteger);
  addRuntimeOptions(cmd);
  addPullOptions(cmd);
  return cmd.action(async (images: string[], flags: PredictFlags) => {
    const model = flags.model ?? process.env.PPLCNET_MODEL;
    if (!model) {
      throw new PplcnetError('E_MODEL', "no model given: pass --model NAME|PATH, e.g. --model PP-LCNet_x0_25_textline_ori (ships with pplcnet), or set PPLCNET_MODEL");
    }
    const files = await expandInputs(images);
    if (files.length === 0) throw new PplcnetError('E_IO', `no images found in ${images.join(', ')}`);
    const classifier = await createClassifier({
      model,
      ep: flags.ep,
      threads: flags.threads,
      interThreads: flags.interThreads,
      graphOpt: flags.graphOpt,
      ...(flags.topk ? { topk: flags.topk } : {}),
      ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
      ...(flags.cacheDir ? { cacheDir: flags.cacheDir } : {}),
      ...(flags.mirror ? { mirror: flags.mirror } : {}),
      ...(flags.offline ? { offline: true } : {}),
      onProgress: progressBar(ctx.stderr, ctx.isTTY, flags.quiet),
      notice: (m) => ctx.stderr(`pplcnet: ${m}\n`),
    });
    let failed = 0;
    try {
      for await (const results of classifier.classifyStream(files, { batchSize: flags.batchSize })) {
        for (const r of results) {
          if (r instanceof Error) {
            failed++;
            ctx.stderr(`pplcnet: error: ${r.message}\n`);
          } else if (flags.json) {
            ctx.stdout(`${JSON.stringify(resultRow(r, classifier.name))}\n`);
          } else ctx.stdout(formatText(r));
        }
      }
    } finally {
      await classifier.close();
    }
    if (failed > 0) {
      ctx.stderr(`pplcnet: ${failed} of ${files.length} image(s) failed\n`);
      process.exitCode = EXIT.failure;
    }
  });
}
