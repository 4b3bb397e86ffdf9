/** `pplcnet build`: emit a PP-LCNet ONNX graph for any scale and PaddleClas option. */
import { Command, Option } from 'commander';
import { type Activation, ACTIVATIONS, type StrideEntry, scaleTag } from '../../builder/architecture.js';
import { imagenetLabels } from '../../labels.js';
import { writeFileAtomic } from '../../util/fs.js';
import type { CliContext } from '../context.js';
import { labelsFrom, report } from './convert.js';
import { parseBatch, parseInputSize, parseInteger, parseNumber, parsePositiveInteger, parseStrideList } from '../parse.js';

interface BuildFlags {
  scale: number;
  classNum: number;
  classExpand: number;
  dropout: number;
  act: Activation;
  lastConv: boolean;
  strideList?: StrideEntry[];
  inputSize: [number, number];
  opset: number;
  batch: 'dynamic' | number;
  seed: number;
  features: boolean;
  keepBn: boolean;
  labels?: string;
  name?: string;
  output?: string;
  json: boolean;
}

export function buildCommand(ctx: CliContext): Command {
  return new Command('build')
    .description('emit a PP-LCNet ONNX graph (PaddleClas initialization, seeded) for any scale and option')
    .option('--scale <n>', 'width multiplier (0.25 0.35 0.5 0.75 1.0 1.5 2.0 2.5 are published)', parseNumber, 1.0)
    .option('--class-num <n>', 'number of classes', parsePositiveInteger, 1000)
    .option('--class-expand <n>', 'width of the last 1x1 conv', parsePositiveInteger, 1280)
    .option('--dropout <p>', 'dropout probability (inference scales by 1-p)', parseNumber, 0.2)
    .addOption(new Option('--act <name>', 'activation').choices(ACTIVATIONS).default('hardswish'))
    .option('--no-last-conv', 'no last 1x1 conv: fc reads the pooled stage-6 features')
    .option('--stride-list <json>', 'five strides, each 1, 2 or [h,w]; entry 0 is the stem (default [2,2,2,2,2])', parseStrideList)
    .option('--input-size <size>', 'input size: 224 or HxW such as 80x160', parseInputSize, [224, 224])
    .option('--opset <n>', 'ONNX opset, 14 to 21', parseInteger, 17)
    .option('--batch <n>', "'dynamic' or a fixed batch size", parseBatch, 'dynamic')
    .option('--seed <n>', 'seed of the PaddleClas-style initialization', parseInteger, 0)
    .option('--features', 'also output feature.blocks3..6 and the fc input (embedding)', false)
    .option('--keep-bn', 'keep BatchNormalization nodes and the dropout Mul instead of folding them', false)
    .option('--labels <file>', 'class names: a JSON array or one per line (ImageNet-1k names by default for 1000 classes)')
    .option('--name <name>', 'model name recorded in the metadata')
    .option('-o, --output <file>', 'output file (default <name>.onnx, e.g. PPLCNet_x1_0.onnx)')
    .option('--json', 'print the summary as JSON', false)
    .action(async (flags: BuildFlags) => {
      const labels = (await labelsFrom(flags)) ?? (flags.classNum === 1000 ? imagenetLabels() : undefined);
      if (labels && labels.length !== flags.classNum) {
        throw new RangeError(`Expected ${flags.classNum} labels for '--labels' but ${flags.labels} holds ${labels.length}`);
      }
      const name = flags.name ?? `PPLCNet_x${scaleTag(flags.scale)}`;
      const { buildPPLCNet } = await import('../../builder/pplcnet.js');
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
          inputSize: flags.inputSize,
          opset: flags.opset,
          batch: flags.batch,
          seed: flags.seed,
          features: flags.features,
          fold: !flags.keepBn,
          description: { name, labels, source: `random initialization (seed ${flags.seed})` },
        },
      );
      const output = flags.output ?? `${name}.onnx`;
      await writeFileAtomic(output, model.bytes);
      report(ctx, flags, output, model.summary, [], {});
    });
}
