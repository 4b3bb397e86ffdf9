/** `pplcnet convert`: Paddle weights or inference models → ONNX. */
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { ACTIVATIONS, type Activation, type StrideEntry } from '../../builder/architecture.js';
import type { BuildOptions, ModelSummary } from '../../builder/pplcnet.js';
import { parseLabelFile } from '../../labels.js';
import { writeFileAtomic } from '../../util/fs.js';
import type { CliContext } from '../context.js';
import { parseBatch, parseInputSize, parseInteger, parseNumber, parseStrideList } from '../parse.js';
import { formatSummary } from '../summary.js';

export interface ConvertFlags {
  output?: string;
  keepBn: boolean;
  opset: number;
  batch: 'dynamic' | number;
  inputSize?: [number, number];
  features: boolean;
  json: boolean;
  name?: string;
  labels?: string;
  act?: Activation;
  strideList?: StrideEntry[];
  dropout?: number;
  prefix?: string;
  force: boolean;
}

/** Options shared by every conversion. @internal */
export function addBuildOptions(cmd: Command): Command {
  return cmd
    .option('-o, --output <file>', 'output ONNX file (default <model name>.onnx)')
    .option('--keep-bn', 'keep BatchNormalization nodes and the dropout Mul (default: folded into convs and fc)', false)
    .option('--opset <n>', 'ONNX opset, 14 to 21', parseInteger, 17)
    .option('--batch <n>', "'dynamic' or a fixed batch size", parseBatch, 'dynamic')
    .option('--input-size <size>', 'network input: 224 or HxW (default: the program\'s, else 224)', parseInputSize)
    .option('--features', 'also output feature.blocks3..6 and the embedding', false)
    .option('--name <name>', 'model name recorded in the metadata')
    .option('--labels <file>', 'class names: a JSON array or one per line')
    .option('--json', 'print a machine-readable summary', false);
}

export function buildOptionsFrom(flags: ConvertFlags): Omit<BuildOptions, 'weights' | 'seed' | 'description'> {
  return {
    fold: !flags.keepBn,
    opset: flags.opset,
    batch: flags.batch,
    features: flags.features,
    ...(flags.inputSize ? { inputSize: flags.inputSize } : {}),
  };
}

export async function labelsFrom(flags: { labels?: string }): Promise<string[] | undefined> {
  return flags.labels ? parseLabelFile(await readFile(flags.labels, 'utf8'), flags.labels) : undefined;
}

export function report(ctx: CliContext, flags: { json: boolean }, output: string, summary: ModelSummary, extra: [string, string][], json: object): void {
  if (flags.json) ctx.stdout(`${JSON.stringify({ output, ...json, ...summary })}\n`);
  else ctx.stdout(formatSummary(summary, output, extra));
}

export function convertCommand(ctx: CliContext): Command {
  const cmd = new Command('convert')
    .description('convert a Paddle inference model (folder, inference.json or inference.pdmodel) or .pdparams weights to ONNX')
    .argument('<input>', 'a Paddle inference model folder/.json/.pdmodel, or a .pdparams file');
  addBuildOptions(cmd)
    .addOption(new Option('--act <name>', '.pdparams only: activation (default hardswish)').choices(ACTIVATIONS))
    .option('--stride-list <json>', '.pdparams only: five strides, each 1, 2 or [h,w] (default [2,2,2,2,2])', parseStrideList)
    .option('--dropout <p>', '.pdparams only: dropout probability, x(1-p) at inference (default 0.2)', parseNumber)
    .option('--prefix <prefix>', ".pdparams only: key prefix to convert in a distillation checkpoint (default 'Student.')")
    .option('--force', 'replace a symbolic link at the output path (devices, FIFOs, sockets and folders are always refused)', false);
  return cmd.action(async (input: string, flags: ConvertFlags) => {
    const labels = await labelsFrom(flags);
    const description = { ...(flags.name ? { name: flags.name } : {}), ...(labels ? { labels } : {}) };
    if (input.endsWith('.pdparams')) {
      const { convertPdparams } = await import('../../convert/from-weights.js');
      const m = await convertPdparams(input, {
        ...buildOptionsFrom(flags),
        ...(flags.act ? { act: flags.act } : {}),
        ...(flags.strideList ? { strideList: flags.strideList } : {}),
        ...(flags.dropout !== undefined ? { dropoutProb: flags.dropout } : {}),
        ...(flags.prefix !== undefined ? { prefix: flags.prefix } : {}),
        description,
      });
      for (const n of m.notes) ctx.stderr(`pplcnet: ${n}\n`);
      for (const w of m.warnings) ctx.stderr(`pplcnet: warning: ${w}\n`);
      const output = flags.output ?? `${m.description.name}.onnx`;
      await writeFileAtomic(output, m.bytes, { force: flags.force });
      const given = { act: flags.act !== undefined, strideList: flags.strideList !== undefined, dropoutProb: flags.dropout !== undefined, inputSize: flags.inputSize !== undefined };
      const origin = (k: keyof typeof given): string => (given[k] ? 'given' : 'default');
      report(ctx, flags, output, m.summary, [
        ['source', `PaddleClas weights: ${input}${m.prefix ? ` (keys under '${m.prefix}')` : ''}`],
        ['inferred', `scale, classes, class_expand, last conv, SE from the shapes`],
        ['options', `act ${m.architecture.act} (${origin('act')}), strides ${origin('strideList')}, dropout ${m.architecture.dropoutProb} (${origin('dropoutProb')}), input ${origin('inputSize')}`],
      ], { format: 'pdparams', file: input, prefix: m.prefix, notes: m.notes, name: m.description.name });
      return;
    }
    for (const [flag, v] of [['--act', flags.act], ['--stride-list', flags.strideList], ['--dropout', flags.dropout], ['--prefix', flags.prefix]] as const) {
      if (v !== undefined) throw new RangeError(`${flag} applies to .pdparams only: an inference model's program records it`);
    }
    const { convertInferenceModel } = await import('../../convert/inference-model.js');
    const m = await convertInferenceModel(input, { ...buildOptionsFrom(flags), ...(flags.name || labels ? { description } : {}) });
    for (const w of m.warnings) ctx.stderr(`pplcnet: warning: ${w}\n`);
    const output = flags.output ?? `${m.description.name}.onnx`;
    await writeFileAtomic(output, m.bytes, { force: flags.force });
    const files = [m.files.program, m.files.params, ...(m.files.config ? [m.files.config] : [])];
    report(ctx, flags, output, m.summary, [
      ['source', `${m.files.format === 'pir-json' ? 'Paddle 3 PIR program' : 'Paddle ProgramDesc'}: ${files.join(', ')}`],
      ['labels', m.description.labels ? `${m.description.labels.length} (${m.description.labels.slice(0, 3).join(', ')}${m.description.labels.length > 3 ? ', …' : ''})` : 'none'],
    ], { format: m.files.format, files, name: m.description.name, preprocess: m.description.preprocess });
  });
}
