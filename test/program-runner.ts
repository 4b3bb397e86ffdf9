/**
 * Executes a parsed Paddle program op by op with the naive float64 reference ops: an independent path
 * from program + weights to outputs (it shares only the file readers with the converter).
 */
import type { Program } from '../src/convert/program.js';
import * as ref from './reference.js';

export function runProgram(program: Program, params: ReadonlyMap<string, Float32Array>, x: ref.Tensor): ref.Tensor {
  const shapes = new Map(program.parameters.map((p) => [p.name, [...p.shape]]));
  const vals = new Map<string, ref.Tensor>();
  const get = (name: string | undefined): ref.Tensor => {
    if (name === undefined) throw new Error('missing input');
    const v = vals.get(name);
    if (v) return v;
    const p = params.get(name);
    if (p) return { data: p, shape: shapes.get(name)! };
    throw new Error(`value ${name} is not computed`);
  };
  let result: ref.Tensor | undefined;
  for (const op of program.ops) {
    const a = op.attrs;
    let y: ref.Tensor;
    switch (op.type) {
      case 'data':
        y = x;
        break;
      case 'full_int_array':
      case 'assign_value':
        continue;
      case 'conv2d':
      case 'depthwise_conv2d': {
        const s = a.strides as number[];
        const p = a.paddings as number[];
        y = ref.conv2d(get(op.inputs.Input), get(op.inputs.Filter), undefined, [s[0]!, s[1]!], [p[0]!, p[1]!], Number(a.groups ?? 1));
        break;
      }
      case 'batch_norm':
        y = ref.batchNorm(get(op.inputs.X), get(op.inputs.Scale).data, get(op.inputs.Bias).data, get(op.inputs.Mean).data, get(op.inputs.Variance).data, Number(a.epsilon));
        break;
      case 'hardswish':
        y = ref.map(get(op.inputs.X), ref.hardswish);
        break;
      case 'relu':
        y = ref.map(get(op.inputs.X), ref.relu);
        break;
      case 'relu6':
        y = ref.map(get(op.inputs.X), ref.relu6);
        break;
      case 'hardsigmoid':
        y = ref.map(get(op.inputs.X), ref.hardsigmoid(Number(a.slope), Number(a.offset)));
        break;
      case 'pool2d':
        y = ref.globalAvgPool(get(op.inputs.X));
        break;
      case 'reshape': {
        const t = get(op.inputs.X);
        y = { data: t.data, shape: [1, t.data.length, 1, 1] };
        break;
      }
      case 'add': {
        const [p, q] = [get(op.inputs.X), get(op.inputs.Y)];
        const [big, small] = p.data.length >= q.data.length ? [p, q] : [q, p];
        const c = small.data.length;
        const inner = big.shape.length === 4 ? big.shape[2]! * big.shape[3]! : 1;
        const out = new Float64Array(big.data.length);
        for (let i = 0; i < out.length; i++) out[i] = big.data[i]! + small.data[c === big.data.length ? i : Math.floor(i / inner) % c]!;
        y = { data: out, shape: [...big.shape] };
        break;
      }
      case 'multiply': {
        const [p, q] = [get(op.inputs.X), get(op.inputs.Y)];
        y = p.data.length >= q.data.length ? ref.scaleChannels(p, q) : ref.scaleChannels(q, p);
        break;
      }
      case 'dropout': {
        const keep = 1 - Number(a.dropout_prob ?? a.p);
        y = ref.map(get(op.inputs.X), (v) => v * keep);
        break;
      }
      case 'flatten': {
        const t = get(op.inputs.X);
        y = { data: t.data, shape: [t.shape[0]!, t.data.length / t.shape[0]!] };
        break;
      }
      case 'matmul': {
        const [p, w] = [get(op.inputs.X), get(op.inputs.Y)];
        const [inF, outF] = w.shape as [number, number];
        y = ref.linear(p, w.data, new Float64Array(outF), inF, outF);
        break;
      }
      case 'softmax': {
        const t = get(op.inputs.X);
        y = { data: ref.softmaxRows(t.data, t.shape[1]!), shape: [...t.shape] };
        break;
      }
      case 'fetch':
        result = get(op.inputs.X);
        continue;
      default:
        throw new Error(`runProgram: op ${op.type} is not supported`);
    }
    vals.set(op.outputs[0]!, y);
  }
  if (!result) throw new Error('runProgram: no fetch');
  return result;
}
