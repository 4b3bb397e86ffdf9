/** `pplcnet convert`: Paddle weights or inference models → ONNX. */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import type { BuildOptions, ModelSummary } from '../../builder/pplcnet.js';
import { PplcnetError } from '../../errors.js';
import { parseLabelFile } from '../../labels.js';
import { writeFileAtomic } from '../../util/fs.js';
import type { CliContext } from '../context.js';
import { parseBatch, parseInputSize, parseInteger } from '../parse.js';
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

export async function labelsFrom(flags: ConvertFlags): Promise<string[] | undefined> {
  return flags.labels ? parseLabelFile(await readFile(flags.labels, 'utf8'), flags.labels) : undefined;
}

export function report(ctx: CliContext, flags: ConvertFlags, output: string, summary: ModelSummary, extra: [string, string][], json: object): void {
  if (flags.json) ctx.stdout(`${JSON.stringify({ output, ...json, ...summary })}\n`);
  else ctx.stdout(formatSummary(summary, output, extra));
}

export function convertCommand(ctx: CliContext): Command {
  const cmd = new Command('convert')
    .description('convert a Paddle inference model (folder, inference.json or inference.pdmodel) or .pdparams weights to ONNX')
    .argument('<input>', 'a Paddle inference model folder/.json/.pdmodel, or a .pdparams file');
  addBuildOptions(cmd);
  return cmd.action(async (input: string, flags: ConvertFlags) => {
    if (input.endsWith('.pdparams')) {
      throw new PplcnetError('E_FORMAT', `${input}: .pdparams conversion is not available in this version; convert the Paddle inference model instead`);
    }
    const { convertInferenceModel } = await import('../../convert/inference-model.js');
    const labels = await labelsFrom(flags);
    const m = await convertInferenceModel(input, {
      ...buildOptionsFrom(flags),
      ...(flags.name || labels ? { description: { ...(flags.name ? { name: flags.name } : {}), ...(labels ? { labels } : {}) } } : {}),
    });
    const output = flags.output ?? `${m.description.name}.onnx`;
    await writeFileAtomic(output, m.bytes);
    const files = [m.files.program, m.files.params, ...(m.files.config ? [m.files.config] : [])];
    report(ctx, flags, output, m.summary, [
      ['source', `${m.files.format === 'pir-json' ? 'Paddle 3 PIR program' : 'Paddle ProgramDesc'}: ${files.join(', ')}`],
      ['labels', m.description.labels ? `${m.description.labels.length} (${m.description.labels.slice(0, 3).join(', ')}${m.description.labels.length > 3 ? ', …' : ''})` : 'none'],
    ], { format: m.files.format, files, name: m.description.name, preprocess: m.description.preprocess });
  });
}
