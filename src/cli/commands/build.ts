/** `pplcnet build`: emit a PP-LCNet ONNX graph for any scale and PaddleClas option. */
import { Command, Option } from '../commander.js';
import { ACTIVATIONS, type Activation, type StrideEntry, buildPPLCNet, checkOutputPath, imagenetLabels, readLabelFile, scaleTag, writeFileAtomic } from '../../index.js';
import type { CliContext } from '../context.js';
import { type OutputModelFlags, addOutputModelOptions, outputModelOptionsFrom } from '../options.js';
import { parseInteger, parseNumber, parsePositiveInteger, parseStrideList } from '../parse.js';
import { printSummary } from '../summary.js';

interface BuildFlags extends OutputModelFlags {
  scale: number;
  classNum: number;
  classExpand: number;
  dropout: number;
  act: Activation;
  lastConv: boolean;
  strideList?: StrideEntry[];
  seed: number;
  force: boolean;
}

export function buildCommand(ctx: CliContext): Command {
  const cmd = new Command('build')
    .description('emit a PP-LCNet ONNX graph (PaddleClas initialization, seeded) for any scale and option')
    .option('--scale <n>', 'width multiplier (0.25 0.35 0.5 0.75 1.0 1.5 2.0 2.5 are published)', parseNumber, 1.0)
    .option('--class-num <n>', 'number of classes', parsePositiveInteger, 1000)
    .option('--class-expand <n>', 'width of the last 1x1 conv', parsePositiveInteger, 1280)
    .option('--dropout <p>', 'dropout probability (inference scales by 1-p)', parseNumber, 0.2)
    .addOption(new Option('--act <name>', 'activation').choices(ACTIVATIONS).default('hardswish'))
    .option('--no-last-conv', 'no last 1x1 conv: fc reads the pooled stage-6 features')
    .option('--stride-list <json>', 'five strides, each 1, 2 or [h,w]; entry 0 is the stem (default: [2,2,2,2,2])', parseStrideList)
    .option('--seed <n>', 'seed of the PaddleClas-style initialization', parseInteger, 0)
    .option('--force', 'replace an existing output file or symbolic link', false)
    .addHelpText(
      'after',
      `
The weights are initialized as PaddleClas initializes them, not trained: predictions are meaningless until
the model is trained (or use convert on trained PaddleClas weights, or a zoo model).

Examples:
  $ pplcnet build --scale 1.0                                  # → PPLCNet_x1_0.onnx
  $ pplcnet build --scale 0.25 --class-num 2 --no-last-conv --input-size 80x160 \\
      --stride-list '[[1,2],[2,1],[2,1],[2,1],[2,1]]' -o textline.onnx
  $ pplcnet build --scale 0.5 --features --json -o x0_5.onnx`,
    );
  addOutputModelOptions(cmd, {
    output: 'output ONNX file, never replaced without --force (default: <name>.onnx, e.g. PPLCNet_x1_0.onnx)',
    inputSize: 'input size: 224 or HxW such as 80x160 (default: 224)',
    labels: 'class names: a JSON array or one per line (ImageNet-1k names by default for 1000 classes)',
  });
  return cmd.action(async (flags: BuildFlags) => {
    const labels = (flags.labels ? await readLabelFile(flags.labels) : undefined) ?? (flags.classNum === 1000 ? imagenetLabels() : undefined);
    if (labels && labels.length !== flags.classNum) {
      throw new RangeError(`Expected ${flags.classNum} labels for '--labels' but ${flags.labels} holds ${labels.length}`);
    }
    const name = flags.name ?? `PPLCNet_x${scaleTag(flags.scale)}`;
    const output = flags.output ?? `${name}.onnx`;
    const write = { force: flags.force, overwrite: false };
    await checkOutputPath(output, write);
    const model = buildPPLCNet(
      {
        scale: flags.scale,
        classNum: flags.classNum,
        classExpand: flags.classExpand,
        dropoutProb: flags.dropout,
        act: flags.act,
        useLastConv: flags.lastConv,
        ...(flags.strideList ? { strideList: flags.strideList } : {}),
      },
      {
        ...outputModelOptionsFrom(flags),
        seed: flags.seed,
        description: { name, labels, source: `random initialization (seed ${flags.seed})`, trained: false },
      },
    );
    await writeFileAtomic(output, model.bytes, write);
    printSummary(ctx, flags, output, model.summary, [['weights', `initialized (seed ${flags.seed}), not trained: predictions are meaningless until it is trained`]], { trained: false });
  });
}
