/** The one-screen summary printed by `build` and `convert`. @internal */
import { scaleTag } from '../builder/architecture.js';
import type { ModelSummary } from '../builder/pplcnet.js';
import { type Dim, shapeToString } from '../builder/shape.js';
import { formatBytes } from '../util/fs.js';

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
    ['head', a.useLastConv ? `last conv ${a.classExpand}, dropout ${a.dropoutProb} (x${(1 - a.dropoutProb).toFixed(2)} at inference)` : 'no last conv'],
    ['input', `image ${shape(input)}`],
    ['outputs', s.outputs.map((o) => `${o.name} ${shape(o.shape)}`).join(', ')],
    ['params', `${s.parameters.toLocaleString('en-US')} (${formatCount(s.parameters)})`],
    ['MACs', `${formatCount(s.multiplyAdds)} at ${input[2]}x${input[3]} (Paddle FLOPs ${formatCount(s.paddleFlops)})`],
    ['graph', `opset ${s.opset}, ${s.folded ? 'BatchNorm folded' : 'BatchNorm kept'}`],
    ...extra,
    ['wrote', `${output} (${formatBytes(s.bytes)})`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}\n`).join('');
}
