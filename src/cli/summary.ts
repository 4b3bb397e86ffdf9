/** The one-screen summary printed by `build` and `convert`. @internal */
import { type Dim, type ModelSummary, formatBytes, scaleTag, shapeToString, shortestFloat32 } from '../index.js';
import type { CliContext } from './context.js';
import { formatTable } from './table.js';

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

const shape = (s: readonly Dim[]): string => shapeToString(s);

export function formatSummary(s: ModelSummary, output: string, extra: [string, string][] = []): string {
  const a = s.architecture;
  const strides = JSON.stringify(a.strideList);
  const input = s.inputShape;
  const rows: [string, string][] = [
    ['model', `PP-LCNet x${scaleTag(a.scale).replace('_', '.')}, ${a.classNum} classes, ${a.act}, strides ${strides}`],
    ['head', a.useLastConv ? `last conv ${a.classExpand}, dropout ${shortestFloat32(a.dropoutProb)} (x${(1 - a.dropoutProb).toFixed(2)} at inference)` : 'no last conv'],
    ['input', `image ${shape(input)}`],
    ['outputs', s.outputs.map((o) => `${o.name} ${shape(o.shape)}`).join(', ')],
    ['params', `${s.parameters.toLocaleString('en-US')} (${formatCount(s.parameters)})`],
    ['MACs', `${formatCount(s.multiplyAdds)} at ${input[2]}x${input[3]} (Paddle FLOPs ${formatCount(s.paddleFlops)})`],
    ['graph', `opset ${s.opset}, ${s.folded ? 'BatchNorm folded' : 'BatchNorm kept'}`],
    ...(s.weights.storage !== 'fp32' ? [['weights', `${s.weights.storage} (largest weight change ${s.weights.maxError.toPrecision(3)}; fp32 when loaded)`] as [string, string]] : []),
    ...extra,
    ['wrote', `${output} (${formatBytes(s.bytes)})`],
  ];
  return formatTable(rows);
}

/** Print a written model's summary: a table, or with `--json` one object (`json` fields first). */
export function printSummary(ctx: CliContext, flags: { json: boolean }, output: string, summary: ModelSummary, extra: [string, string][], json: object): void {
  if (flags.json) ctx.stdout(`${JSON.stringify({ output, ...json, ...summary })}\n`);
  else ctx.stdout(formatSummary(summary, output, extra));
}
