/** `pplcnet inspect`: what a weights file, inference model or ONNX model holds, without converting. */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { scaleTag } from '../../builder/architecture.js';
import type { CliContext } from '../context.js';
import { formatCount } from '../summary.js';

export function inspectCommand(ctx: CliContext): Command {
  return new Command('inspect')
    .description('list the keys, shapes and dtypes of a .pdparams (or a Paddle inference model / .onnx) and the architecture they imply')
    .argument('<input>', '.pdparams, Paddle inference model folder/.json/.pdmodel, or .onnx')
    .option('--prefix <prefix>', 'key prefix of a distillation checkpoint to read the architecture from')
    .option('--json', 'machine-readable output', false)
    .action(async (input: string, flags: { prefix?: string; json: boolean }) => {
      if (input.endsWith('.onnx')) {
        const { viewModel } = await import('../../onnx/read.js');
        const m = viewModel(new Uint8Array(await readFile(input)));
        const info = {
          producer: `${m.producerName} ${m.producerVersion}`,
          opset: m.opset,
          inputs: m.inputs,
          outputs: m.outputs,
          nodes: m.nodes.length,
          parameters: m.initializers.reduce((a, t) => a + t.data.length, 0),
          metadata: m.metadata,
        };
        ctx.stdout(flags.json ? `${JSON.stringify(info)}\n` : `${Object.entries(info).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('\n')}\n`);
        return;
      }
      if (!input.endsWith('.pdparams')) {
        const { locateInferenceModel, readProgramFile } = await import('../../convert/inference-model.js');
        const { interpretProgram } = await import('../../convert/interpret.js');
        const files = locateInferenceModel(input);
        const program = await readProgramFile(files);
        const reading = interpretProgram(program, files.program);
        const info = { format: program.format, version: program.version, input: program.input, ops: program.ops.length, parameters: program.parameters, architecture: reading.architecture, inputSize: reading.inputSize };
        if (flags.json) ctx.stdout(`${JSON.stringify(info)}\n`);
        else {
          ctx.stdout(`${files.program} (${program.format === 'pir-json' ? 'Paddle 3 PIR' : `ProgramDesc ${program.version ?? ''}`}), ${program.ops.length} ops, input ${program.input?.name} ${JSON.stringify(program.input?.shape)}\n`);
          for (const p of program.parameters) ctx.stdout(`  ${p.name.padEnd(28)} ${p.dtype.padEnd(8)} ${JSON.stringify(p.shape)}\n`);
          ctx.stdout(`architecture: ${JSON.stringify(reading.architecture)}\n`);
        }
        return;
      }
      const { readPdparams, selectPrefix } = await import('../../convert/pdparams.js');
      const { inferArchitecture } = await import('../../convert/from-weights.js');
      const { listProblems } = await import('../../convert/architecture-check.js');
      const contents = readPdparams(new Uint8Array(await readFile(input)), input);
      const { prefix, tensors } = selectPrefix(contents, flags.prefix, input);
      const { architecture, problems, inferred } = inferArchitecture(tensors, {}, input);
      let total = 0;
      for (const t of contents.tensors.values()) total += t.shape.reduce((a, b) => a * b, 1);
      const keys = [...contents.tensors].map(([k, t]) => ({ key: k, dtype: t.dtype, shape: t.shape }));
      if (flags.json) {
        ctx.stdout(`${JSON.stringify({ file: input, keys, ignored: contents.ignored, prefixes: contents.prefixes, prefix, values: total, inferred, architecture, problems })}\n`);
        return;
      }
      const w = keys.reduce((m, k) => Math.max(m, k.key.length), 0);
      for (const k of keys) ctx.stdout(`${k.key.padEnd(w)}  ${k.dtype.padEnd(4)}  ${JSON.stringify(k.shape)}\n`);
      if (contents.ignored.length) ctx.stdout(`ignored: ${contents.ignored.join(', ')}\n`);
      ctx.stdout(`${keys.length} arrays, ${total.toLocaleString('en-US')} values (${formatCount(total)})${contents.prefixes.length ? `, prefixes ${contents.prefixes.join(' ')}; architecture of '${prefix}'` : ''}\n`);
      ctx.stdout(`architecture: PP-LCNet x${scaleTag(architecture.scale).replace('_', '.')}, ${architecture.classNum} classes, ${architecture.useLastConv ? `last conv ${architecture.classExpand}` : 'no last conv'}, SE in ${(inferred.se as string[]).join(', ')}\n`);
      ctx.stdout(`not in the weights (give them to convert): --act (hardswish), --stride-list ([2,2,2,2,2]), --dropout (0.2), --input-size (224)\n`);
      ctx.stdout(problems.length ? `does not fit that architecture:\n${listProblems(problems)}\n` : 'every key and shape fits\n');
    });
}
