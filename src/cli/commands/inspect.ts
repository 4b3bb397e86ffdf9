/** `pplcnet inspect`: what a weights file, inference model or ONNX model holds, without converting. */
import { Command } from 'commander';
import { inspectModel, listProblems, scaleTag } from '../../index.js';
import type { CliContext } from '../context.js';
import { formatCount } from '../summary.js';
import { formatRow, formatTable } from '../table.js';

export function inspectCommand(ctx: CliContext): Command {
  return new Command('inspect')
    .description('list the keys, shapes and dtypes of a .pdparams (or a Paddle inference model / .onnx) and the architecture they imply')
    .argument('<input>', '.pdparams, Paddle inference model folder/.json/.pdmodel, or .onnx')
    .option('--prefix <prefix>', 'key prefix of a distillation checkpoint to read the architecture from')
    .option('--json', 'machine-readable output', false)
    .action(async (input: string, flags: { prefix?: string; json: boolean }) => {
      if (flags.prefix !== undefined && !input.endsWith('.pdparams')) throw new RangeError("--prefix applies to .pdparams only: other models hold one network");
      const inspection = await inspectModel(input, flags.prefix !== undefined ? { prefix: flags.prefix } : {});
      if (flags.json) {
        ctx.stdout(`${JSON.stringify(inspection.report)}\n`);
        return;
      }
      if (inspection.kind === 'onnx') {
        ctx.stdout(`${Object.entries(inspection.report).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('\n')}\n`);
        return;
      }
      if (inspection.kind === 'inference') {
        const r = inspection.report;
        ctx.stdout(`${inspection.file} (${r.format === 'pir-json' ? 'Paddle 3 PIR' : `ProgramDesc ${r.version ?? ''}`}), ${r.ops} ops, input ${r.input?.name} ${JSON.stringify(r.input?.shape)}\n`);
        const layout = { columns: [{ width: 28 }, { width: 8 }], gap: ' ', indent: '  ' };
        for (const p of r.parameters) ctx.stdout(formatRow([p.name, p.dtype, JSON.stringify(p.shape)], layout));
        ctx.stdout(`architecture: ${JSON.stringify(r.architecture)}\n`);
        return;
      }
      const r = inspection.report;
      const { architecture, inferred, problems } = r;
      ctx.stdout(formatTable(r.keys.map((k) => [k.key, k.dtype, JSON.stringify(k.shape)]), { columns: [{}, { width: 4 }] }));
      if (r.ignored.length) ctx.stdout(`ignored: ${r.ignored.join(', ')}\n`);
      ctx.stdout(`${r.keys.length} arrays, ${r.values.toLocaleString('en-US')} values (${formatCount(r.values)})${r.prefixes.length ? `, prefixes ${r.prefixes.join(' ')}; architecture of '${r.prefix}'` : ''}\n`);
      ctx.stdout(`architecture: PP-LCNet x${scaleTag(architecture.scale).replace('_', '.')}, ${architecture.classNum} classes, ${architecture.useLastConv ? `last conv ${architecture.classExpand}` : 'no last conv'}, SE in ${(inferred.se as string[]).join(', ')}\n`);
      ctx.stdout(`not in the weights (give them to convert): --act (hardswish), --stride-list ([2,2,2,2,2]), --dropout (0.2), --input-size (224)\n`);
      ctx.stdout(problems.length ? `does not fit that architecture:\n${listProblems(problems)}\n` : 'every key and shape fits\n');
    });
}
