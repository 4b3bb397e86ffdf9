/** `pplcnet bench`: latency, throughput and GFLOP/s per thread count and batch size. */
import { Command } from '../commander.js';
import { type FolderBenchResult, type ModelBenchReport, benchReportHtml, benchmarkModel, checkModelFile, checkOutputPath } from '../../index.js';
import type { CliContext } from '../context.js';
import { type ModelSourceFlags, type SessionFlags, addModelSourceOptions, addSessionOptions, modelSourceOptionsFrom, sessionOptionsFrom, writeReport } from '../options.js';
import { parseInteger, parseIntegerList, parseNumber, parsePositiveInteger } from '../parse.js';
import { EXIT } from '../errors.js';
import { type Column, formatRow, formatTable } from '../table.js';

interface BenchFlags extends SessionFlags<number[]>, ModelSourceFlags {
  model?: string;
  scale: number;
  batch: number[];
  runs: number;
  warmup: number;
  json: boolean;
  peak: boolean;
  images?: string[];
  workers?: number;
  report?: string;
}

/** The folder run as text: throughput, the plan, then mean/p50/p95 of each stage per image. */
function formatFolder(f: FolderBenchResult): string {
  const s = f.stages;
  const rows = [
    ['stage (ms per image)', 'mean', 'p50', 'p95'],
    ...(
      [
        ['decode', s.decode],
        ['resize+crop+normalize', s.preprocess],
        ['queue wait', s.queue],
        ['inference (batch/size)', s.inference],
      ] as const
    ).map(([name, st]) => [name, st.mean.toFixed(2), st.p50.toFixed(2), st.p95.toFixed(2)]),
  ];
  const head = `folder: ${f.images} image${f.images === 1 ? '' : 's'} in ${(f.wallMs / 1000).toFixed(2)} s, ${f.imagesPerSec.toFixed(1)} img/s${f.failed.length ? `, ${f.failed.length} failed` : ''}\n${f.plan.reason}\n`;
  return head + formatTable(rows, { columns: [{}, { align: 'right' }, { align: 'right' }, { align: 'right' }] });
}

/** Nine characters per column, right-aligned: rows print as they are measured. */
const COLUMNS: readonly Column[] = Array.from({ length: 8 }, () => ({ align: 'right' as const, width: 9 }));
const LAYOUT = { columns: COLUMNS, gap: ' ' };

export function benchCommand(ctx: CliContext): Command {
  const cmd = new Command('bench')
    .description('latency, throughput and GFLOP/s of a model per thread count and batch size, against the measured matmul peak')
    .option('-m, --model <name|path>', 'a zoo name or model path (default: a PP-LCNet built in memory at --scale)')
    .option('--scale <n>', 'scale of the built-in model when no --model is given', parseNumber, 1.0)
    .option('--batch <list>', 'batch sizes, e.g. 1,8', parseIntegerList, [1])
    .option('--runs <n>', 'timed runs per configuration', parsePositiveInteger, 50)
    .option('--warmup <n>', 'untimed runs first', parseInteger, 5)
    .option('--no-peak', 'skip measuring the matmul peak')
    .option('--images <paths...>', "then classify these images (files, folders, globs) once through the classifier's stream: images/s and where each image's time goes")
    .option('--workers <n>', 'preprocessing threads of the --images run (default: planned from the core count)', parseInteger)
    .option('--report <file>', 'also write the results as one self-contained HTML page (charts as inline SVG), atomically')
    .option('--json', 'one JSON object per configuration (and one for the --images run)', false);
  addSessionOptions(cmd, { threadList: true });
  addModelSourceOptions(cmd);
  cmd.addHelpText(
    'after',
    `
Examples:
  $ pplcnet bench --threads 1,2 --batch 1,8                      # a PP-LCNet x1.0 built in memory
  $ pplcnet bench -m PP-LCNet_x0_25_textline_ori --no-peak --runs 20
  $ pplcnet bench -m PPLCNet_x0_5 --threads 2 --batch 1,8,32 --json
  $ pplcnet bench -m textline --batch 1,8 --images scans/ --report bench.html`,
  );
  return cmd.action(async (flags: BenchFlags, command: Command) => {
    if (flags.model && command.getOptionValueSource('scale') === 'cli') throw new RangeError('--scale applies to the model built in memory; --model names another');
    if (flags.workers !== undefined && !flags.images) throw new RangeError('--workers applies to the --images run; give --images too');
    if (flags.model) await checkModelFile(flags.model, 'model');
    if (flags.report) await checkOutputPath(flags.report);
    // the folder run takes --threads when one count is given on the command line, else the plan's
    const folderThreads = command.getOptionValueSource('threads') === 'cli' && flags.threads.length === 1 ? flags.threads[0] : undefined;
    let name = '';
    let peak: ReadonlyMap<number, number> = new Map();
    const report: ModelBenchReport = await benchmarkModel(
      {
        ...(flags.model ? { model: flags.model } : {}),
        scale: flags.scale,
        ...sessionOptionsFrom(flags, ctx),
        batches: flags.batch,
        runs: flags.runs,
        warmup: flags.warmup,
        peak: flags.peak,
        ...(flags.images ? { images: flags.images, folder: { ...(folderThreads ? { threads: folderThreads } : {}), ...(flags.workers !== undefined ? { workers: flags.workers } : {}) } } : {}),
        ...modelSourceOptionsFrom(flags, ctx),
      },
      {
        onReady: (s) => {
          name = s.name;
          peak = s.peak;
          if (flags.json) return;
          ctx.stdout(`${s.name}: input ${s.inputSize.join('x')}${s.multiplyAdds ? `, ${(s.multiplyAdds / 1e6).toFixed(1)}M multiply-adds per image` : ''}\n`);
          for (const [t, g] of s.peak) ctx.stdout(`matmul peak (best of fp32 MatMul 512³/1024³/1536³, ${t} thread${t === 1 ? '' : 's'}): ${g.toFixed(1)} GFLOP/s\n`);
          ctx.stdout(formatRow(['threads', 'batch', 'create ms', 'p50 ms', 'p90 ms', 'img/s', 'GFLOP/s', 'of peak'], LAYOUT));
        },
        onResult: (r) => {
          if (flags.json) ctx.stdout(`${JSON.stringify({ model: name, ...r, ...(peak.has(r.threads) ? { peakGflops: peak.get(r.threads) } : {}) })}\n`);
          else {
            const cells = [r.threads, r.batch, r.createMs.toFixed(1), r.p50Ms.toFixed(2), r.p90Ms.toFixed(2), r.imagesPerSec.toFixed(0), r.gflops?.toFixed(1) ?? '-', r.peakRatio !== undefined ? `${(r.peakRatio * 100).toFixed(0)}%` : '-'];
            ctx.stdout(formatRow(cells, LAYOUT));
          }
        },
        onFolder: (f) => {
          const { perImage: _, ...summary } = f;
          if (flags.json) ctx.stdout(`${JSON.stringify({ model: name, folder: summary })}\n`);
          else ctx.stdout(formatFolder(f));
          if (!flags.quiet) for (const x of f.failed) ctx.stderr(`pplcnet: error: ${x.message}\n`);
        },
      },
    );
    if (flags.report) await writeReport(flags.report, (env) => benchReportHtml(report, env), command, flags, ctx);
    if (report.folder?.failed.length) process.exitCode = EXIT.failure;
  });
}
