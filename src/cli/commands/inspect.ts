/** `pplcnet inspect`: what a weights file, inference model or ONNX model holds, without converting. */
import { Command } from '../commander.js';
import { METADATA_KEYS, type OnnxInspection, inspectModel, listProblems, scaleTag, shortestFloat32 } from '../../index.js';
import type { CliContext } from '../context.js';
import { type ModelSourceFlags, addModelSourceOptions, modelSourceOptionsFrom } from '../options.js';
import { formatCount } from '../summary.js';
import { formatRow, formatTable } from '../table.js';

/** How many labels the summary names before `…`. */
const LABELS_SHOWN = 5;

/** A value on one line: numbers at float32 precision, arrays and objects compact. */
function show(v: unknown): string {
  if (typeof v === 'number') return String(shortestFloat32(v));
  if (typeof v === 'string') return v;
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' ? shortestFloat32(x) : x));
}

/** `1000: tench, goldfish, great white shark, tiger shark, hammerhead, …` */
export function formatLabels(labels: readonly string[]): string {
  // names holding commas (ImageNet's "tench, Tinca tinca") are quoted so the list stays readable
  const shown = labels.slice(0, LABELS_SHOWN).map((l) => (l.includes(',') ? JSON.stringify(l) : l));
  return `${labels.length}: ${shown.join(', ')}${labels.length > LABELS_SHOWN ? ', …' : ''}`;
}

/** An object as indented `key: value` lines. */
function keyValues(o: Readonly<Record<string, unknown>>, indent = '  '): string {
  return formatTable(Object.entries(o).map(([k, v]) => [`${k}:`, show(v)]), { indent, gap: ' ' });
}

function onnxSummary(file: string, r: OnnxInspection): string {
  const dims = (d: readonly (number | string)[]): string => `[${d.join(',')}]`;
  const m = { ...r.metadata };
  const take = (k: string): unknown => {
    const v = m[k];
    delete m[k];
    return v;
  };
  const lines = [
    `${file}: ONNX model from ${r.producer}, opset ${r.opset}, ${r.nodes} nodes, ${r.parameters.toLocaleString('en-US')} parameters (${formatCount(r.parameters)})`,
    formatTable(
      [
        ['inputs', r.inputs.map((i) => `${i.name} ${dims(i.dims)}`).join(', ')],
        ['outputs', r.outputs.map((o) => `${o.name} ${dims(o.dims)}`).join(', ')],
      ],
      { indent: '  ' },
    ).trimEnd(),
  ];
  take(METADATA_KEYS.formatVersion);
  const name = take(METADATA_KEYS.name);
  if (name !== undefined) lines.push(`name: ${show(name)}`);
  const labels = take(METADATA_KEYS.labels);
  lines.push(`labels: ${Array.isArray(labels) ? formatLabels(labels as string[]) : 'none recorded'}`);
  const arch = take(METADATA_KEYS.architecture);
  if (arch && typeof arch === 'object') lines.push(`architecture:\n${keyValues(arch as Record<string, unknown>).trimEnd()}`);
  const pre = take(METADATA_KEYS.preprocess);
  if (pre && typeof pre === 'object') lines.push(`preprocess:\n${keyValues(pre as Record<string, unknown>).trimEnd()}`);
  const trained = take(METADATA_KEYS.trained);
  if (trained === false) lines.push('trained: no (initialized weights: predictions are meaningless)');
  for (const [k, v] of Object.entries(m)) lines.push(`${k.replace(/^pplcnet\./, '')}: ${show(v)}`);
  return `${lines.join('\n')}\n`;
}

export function inspectCommand(ctx: CliContext): Command {
  const cmd = new Command('inspect')
    .description('list the keys, shapes and dtypes of a .pdparams (or a Paddle inference model / .onnx) and the architecture they imply')
    .argument('<input>', '.pdparams, Paddle inference model folder/.json/.pdmodel, .onnx, or a zoo name (the ONNX model predict runs)')
    .option('--prefix <prefix>', 'key prefix of a distillation checkpoint to read the architecture from')
    .option('--json', 'machine-readable output (metadata decoded into objects)', false);
  addModelSourceOptions(cmd);
  return cmd
    .addHelpText(
      'after',
      `
Examples:
  $ pplcnet inspect PPLCNet_x1_0_pretrained.pdparams     # keys, shapes, the architecture they imply
  $ pplcnet inspect models/PP-LCNet_x0_25_textline_ori   # program parameters and architecture
  $ pplcnet inspect textline.onnx --json                 # inputs, outputs, metadata as JSON
  $ pplcnet inspect textline                             # a zoo name: the ONNX model predict runs for it`,
    )
    .action(async (input: string, flags: { prefix?: string; json: boolean } & ModelSourceFlags) => {
      const inspection = await inspectModel(input, { ...(flags.prefix !== undefined ? { prefix: flags.prefix } : {}), ...modelSourceOptionsFrom(flags, ctx) });
      if (flags.json) {
        ctx.stdout(`${JSON.stringify(inspection.report)}\n`);
        return;
      }
      if (inspection.kind === 'onnx') {
        ctx.stdout(onnxSummary(inspection.file, inspection.report));
        return;
      }
      if (inspection.kind === 'inference') {
        const r = inspection.report;
        ctx.stdout(`${inspection.file} (${r.format === 'pir-json' ? 'Paddle 3 PIR' : `ProgramDesc ${r.version ?? ''}`}), ${r.ops} ops, input ${r.input?.name} ${JSON.stringify(r.input?.shape)}\n`);
        const layout = { columns: [{ width: 28 }, { width: 8 }], gap: ' ', indent: '  ' };
        for (const p of r.parameters) ctx.stdout(formatRow([p.name, p.dtype, JSON.stringify(p.shape)], layout));
        ctx.stdout(`architecture:\n${keyValues(r.architecture as unknown as Record<string, unknown>)}`);
        if (r.inputSize) ctx.stdout(`input size: ${r.inputSize.join('x')}\n`);
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
