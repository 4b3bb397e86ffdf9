/** `pplcnet convert`: Paddle weights or inference models → ONNX. */
import { Command, Option } from '../commander.js';
import { ACTIVATIONS, type Activation, type StrideEntry, checkModelFile, checkOutputPath, convertInferenceModel, convertPdparams, onnxNameFor, readLabelFile, writeFileAtomic } from '../../index.js';
import type { CliContext } from '../context.js';
import { type OutputModelFlags, addOutputModelOptions, outputModelOptionsFrom, warnFrom } from '../options.js';
import { parseNumber, parseStrideList } from '../parse.js';
import { printSummary } from '../summary.js';

interface ConvertFlags extends OutputModelFlags {
  act?: Activation;
  strideList?: StrideEntry[];
  dropout?: number;
  prefix?: string;
  force: boolean;
}

export function convertCommand(ctx: CliContext): Command {
  const cmd = new Command('convert')
    .description('convert a Paddle inference model (folder, inference.json or inference.pdmodel) or .pdparams weights to ONNX')
    .argument('<input>', 'a Paddle inference model folder/.json/.pdmodel, or a .pdparams file');
  addOutputModelOptions(cmd)
    .addOption(new Option('--act <name>', '.pdparams only: activation (default: hardswish)').choices(ACTIVATIONS))
    .option('--stride-list <json>', '.pdparams only: five strides, each 1, 2 or [h,w] (default: [2,2,2,2,2])', parseStrideList)
    .option('--dropout <p>', '.pdparams only: dropout probability, x(1-p) at inference (default: 0.2)', parseNumber)
    .option('--prefix <prefix>', ".pdparams only: key prefix to convert in a distillation checkpoint (default: 'Student.')")
    .option('--force', 'replace an existing output file or symbolic link (devices, FIFOs, sockets and folders are always refused)', false)
    .addHelpText(
      'after',
      `
Examples:
  $ pplcnet convert PULC_textline.pdparams --stride-list '[2,[2,1],[2,1],[2,1],[2,1]]' --input-size 80x160   # → PULC_textline.onnx
  $ pplcnet convert models/PP-LCNet_x0_25_textline_ori -o textline.onnx
  $ pplcnet convert PPLCNet_x1_0_infer/inference.pdmodel --opset 14 --keep-bn --force`,
    );
  return cmd.action(async (input: string, flags: ConvertFlags) => {
    // the first bytes decide (a pickle is weights whatever its name); an image or an ONNX model is refused here
    const sniffed = await checkModelFile(input, 'convert');
    const labels = flags.labels ? await readLabelFile(flags.labels) : undefined;
    const description = { ...(flags.name ? { name: flags.name } : {}), ...(labels ? { labels } : {}) };
    const write = { force: flags.force, overwrite: false };
    const warn = warnFrom({}, ctx);
    const output = flags.output ?? onnxNameFor(input);
    await checkOutputPath(output, write);
    if (sniffed?.kind === 'pickle' || ((sniffed === undefined || sniffed.kind === 'unknown') && input.endsWith('.pdparams'))) {
      const m = await convertPdparams(input, {
        ...outputModelOptionsFrom(flags),
        ...(flags.act ? { act: flags.act } : {}),
        ...(flags.strideList ? { strideList: flags.strideList } : {}),
        ...(flags.dropout !== undefined ? { dropoutProb: flags.dropout } : {}),
        ...(flags.prefix !== undefined ? { prefix: flags.prefix } : {}),
        description,
      });
      for (const n of m.notes) ctx.stderr(`pplcnet: ${n}\n`);
      for (const w of m.warnings) warn(w);
      await writeFileAtomic(output, m.bytes, write);
      const given = { act: flags.act !== undefined, strideList: flags.strideList !== undefined, dropoutProb: flags.dropout !== undefined, inputSize: flags.inputSize !== undefined };
      const origin = (k: keyof typeof given): string => (given[k] ? 'given' : 'default');
      printSummary(ctx, flags, output, m.summary, [
        ['source', `PaddleClas weights: ${input}${m.prefix ? ` (keys under '${m.prefix}')` : ''}`],
        ['inferred', `scale, classes, class_expand, last conv, SE from the shapes`],
        ['options', `act ${m.architecture.act} (${origin('act')}), strides ${origin('strideList')}, dropout ${m.architecture.dropoutProb} (${origin('dropoutProb')}), input ${origin('inputSize')}`],
      ], { format: 'pdparams', file: input, prefix: m.prefix, notes: m.notes, name: m.description.name });
      return;
    }
    for (const [flag, v] of [['--act', flags.act], ['--stride-list', flags.strideList], ['--dropout', flags.dropout], ['--prefix', flags.prefix]] as const) {
      if (v !== undefined) throw new RangeError(`${flag} applies to .pdparams only: an inference model's program records it`);
    }
    const m = await convertInferenceModel(input, { ...outputModelOptionsFrom(flags), ...(flags.name || labels ? { description } : {}) });
    for (const w of m.warnings) warn(w);
    await writeFileAtomic(output, m.bytes, write);
    const files = [m.files.program, m.files.params, ...(m.files.config ? [m.files.config] : [])];
    printSummary(ctx, flags, output, m.summary, [
      ['source', `${m.files.format === 'pir-json' ? 'Paddle 3 PIR program' : 'Paddle ProgramDesc'}: ${files.join(', ')}`],
      ['labels', m.description.labels ? `${m.description.labels.length} (${m.description.labels.slice(0, 3).join(', ')}${m.description.labels.length > 3 ? ', …' : ''})` : 'none'],
    ], { format: m.files.format, files, name: m.description.name, preprocess: m.description.preprocess });
  });
}
