/** `pplcnet bench` and `pplcnet compare`. */
import { Command } from 'commander';
import type { CliContext } from '../context.js';
import { parseInteger, parseIntegerList, parseNumber, parsePositiveInteger } from '../parse.js';
import { addRuntimeOptions } from './predict.js';

interface BenchFlags {
  model?: string;
  scale: number;
  threads: number[];
  batch: number[];
  runs: number;
  warmup: number;
  ep: string;
  graphOpt: 'disabled' | 'basic' | 'extended' | 'all';
  cacheDir?: string;
  json: boolean;
  peak: boolean;
}

export function benchCommand(ctx: CliContext): Command {
  const cmd = new Command('bench')
    .description('latency, throughput and GFLOP/s of a model per thread count and batch size, against the measured matmul peak')
    .option('-m, --model <name|path>', 'a zoo name or model path (default: a PP-LCNet built in memory at --scale)')
    .option('--scale <n>', 'scale of the built-in model when no --model is given', parseNumber, 1.0)
    .option('--batch <list>', 'batch sizes, e.g. 1,8', parseIntegerList, [1])
    .option('--runs <n>', 'timed runs per configuration', parsePositiveInteger, 50)
    .option('--warmup <n>', 'untimed runs first', parseInteger, 5)
    .option('--no-peak', 'skip measuring the matmul peak')
    .option('--json', 'one JSON object per configuration', false);
  addRuntimeOptions(cmd, { threadList: true });
  return cmd.action(async (flags: BenchFlags) => {
    const { benchModel, measureMatmulPeak } = await import('../../runtime/bench.js');
    const { parseMetadata } = await import('../../metadata.js');
    const { readMetadataProps } = await import('../../onnx/metadata-props.js');
    const { countMultiplyAdds, resolveArchitecture } = await import('../../builder/architecture.js');
    let bytes: Uint8Array;
    let name: string;
    if (flags.model) {
      const { resolveModel } = await import('../../zoo/resolve.js');
      const r = await resolveModel(flags.model, flags.cacheDir ? { cacheDir: flags.cacheDir } : {});
      bytes = r.bytes;
      name = r.name;
    } else {
      const { buildPPLCNet } = await import('../../builder/pplcnet.js');
      bytes = buildPPLCNet({ scale: flags.scale }, {}).bytes;
      name = `PP-LCNet x${flags.scale} (built in memory)`;
    }
    const meta = parseMetadata(readMetadataProps(bytes));
    const inputSize = (meta.inputSize ?? [224, 224]) as [number, number];
    const macs = meta.architecture ? countMultiplyAdds(resolveArchitecture(meta.architecture), inputSize) : undefined;
    const session = { ep: flags.ep, graphOpt: flags.graphOpt, notice: (m: string) => ctx.stderr(`pplcnet: ${m}\n`) };
    const peak = new Map<number, number>();
    if (flags.peak) for (const t of flags.threads) peak.set(t, await measureMatmulPeak(t, session));
    if (!flags.json) {
      ctx.stdout(`${name}: input ${inputSize.join('x')}${macs ? `, ${(macs / 1e6).toFixed(1)}M multiply-adds per image` : ''}\n`);
      for (const [t, g] of peak) ctx.stdout(`matmul peak (best of fp32 MatMul 512³/1024³/1536³, ${t} thread${t === 1 ? '' : 's'}): ${g.toFixed(1)} GFLOP/s\n`);
      ctx.stdout(`${['threads', 'batch', 'create ms', 'p50 ms', 'p90 ms', 'img/s', 'GFLOP/s', 'of peak'].map((h) => h.padStart(9)).join(' ')}\n`);
    }
    await benchModel(bytes, { ...session, threads: flags.threads, batches: flags.batch, runs: flags.runs, warmup: flags.warmup, inputSize, ...(macs ? { multiplyAdds: macs } : {}), peak }, (r) => {
      if (flags.json) ctx.stdout(`${JSON.stringify({ model: name, ...r, ...(peak.has(r.threads) ? { peakGflops: peak.get(r.threads) } : {}) })}\n`);
      else {
        const cells = [r.threads, r.batch, r.createMs.toFixed(1), r.p50Ms.toFixed(2), r.p90Ms.toFixed(2), r.imagesPerSec.toFixed(0), r.gflops?.toFixed(1) ?? '-', r.peakRatio !== undefined ? `${(r.peakRatio * 100).toFixed(0)}%` : '-'];
        ctx.stdout(`${cells.map((c) => String(c).padStart(9)).join(' ')}\n`);
      }
    });
  });
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
  addRuntimeOptions(cmd);
  return cmd.action(async (a: string, b: string, flags: { images?: string[]; random: number; seed: number; json: boolean; ep: string; threads: number; cacheDir?: string }) => {
    const { compareModels } = await import('../../compare.js');
    const r = await compareModels(a, b, {
      ...(flags.images ? { images: flags.images } : {}),
      random: flags.random,
      seed: flags.seed,
      ep: flags.ep,
      threads: flags.threads,
      ...(flags.cacheDir ? { cacheDir: flags.cacheDir } : {}),
      notice: (m) => ctx.stderr(`pplcnet: ${m}\n`),
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
