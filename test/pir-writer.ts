/**
 * Writes a parsed program back out as Paddle 3 PIR JSON, so a test can hold one network in both formats.
 * SE biases are written as a reshape of the parameter, as Paddle 3 exports them.
 */
import type { Program } from '../src/convert/program.js';

const PIR_TYPES: Record<string, string> = { batch_norm: 'batch_norm_' };
const SLOTS: Record<string, string[]> = {
  conv2d: ['Input', 'Filter'],
  depthwise_conv2d: ['Input', 'Filter'],
  batch_norm: ['X', 'Mean', 'Variance', 'Scale', 'Bias'],
  add: ['X', 'Y'],
  multiply: ['X', 'Y'],
  matmul: ['X', 'Y'],
};

type Json = Record<string, unknown>;

function attr(name: string, v: unknown): Json {
  if (Array.isArray(v)) return { N: name, AT: { '#': '0.a_array', D: v.map((x) => ({ '#': typeof x === 'number' ? '0.a_i32' : '0.a_str', D: x })) } };
  if (typeof v === 'number') return { N: name, AT: { '#': Number.isInteger(v) ? '0.a_i32' : '0.a_f32', D: v } };
  if (typeof v === 'boolean') return { N: name, AT: { '#': '0.a_bool', D: v } };
  return { N: name, AT: { '#': '0.a_str', D: String(v) } };
}

export function toPirJson(program: Program, options: { renameParameter?: (n: string) => string } = {}): string {
  const rename = options.renameParameter ?? ((n: string) => n);
  const ids = new Map<string, number>();
  let next = 1;
  const id = (name: string): number => {
    if (!ids.has(name)) ids.set(name, next++);
    return ids.get(name)!;
  };
  const params = new Set(program.parameters.map((p) => p.name));
  const ops: Json[] = program.parameters.map((p, k) => ({
    '#': 'p',
    A: [0, 1, 1, `${rename(p.name)}_deepcopy_${k}`],
    DA: [],
    O: { '%': id(p.name), TT: { '#': '0.t_dtensor', D: [{ '#': '0.t_f32' }, [...p.shape], 'NCHW', [], 0] } },
    OA: [],
    QA: [],
  }));
  for (const op of program.ops) {
    if (op.type === 'data') {
      ops.push({ '#': '1.data', A: [attr('name', 'x'), { N: 'shape', AT: { '#': '1.a_intarray', D: program.input!.shape } }], I: [], O: [{ '%': id(op.outputs[0]!) }] });
      continue;
    }
    let inputs = (SLOTS[op.type] ?? ['X']).map((s) => op.inputs[s]).filter((v): v is string => v !== undefined);
    if (op.type === 'add' && op.inputs.Y && params.has(op.inputs.Y) && program.parameters.find((p) => p.name === op.inputs.Y)!.shape.length === 1 && op.inputs.Y.startsWith('conv2d')) {
      // SE bias: Paddle 3 reshapes it to [1, -1, 1, 1] first
      const shapeName = `${op.outputs[0]}:shape`;
      const reshaped = `${op.outputs[0]}:bias`;
      ops.push({ '#': '1.full_int_array', A: [{ N: 'value', AT: { '#': '0.a_array', D: [1, -1, 1, 1].map((d) => ({ '#': '0.a_i64', D: d })) } }], I: [], O: [{ '%': id(shapeName) }] });
      ops.push({ '#': '1.reshape', A: [], I: [{ '%': id(op.inputs.Y) }, { '%': id(shapeName) }], O: [{ '%': id(reshaped) }] });
      inputs = [op.inputs.X!, reshaped];
    }
    const type = PIR_TYPES[op.type] ?? op.type;
    const keep = Object.entries(op.attrs).filter(([k, v]) => v !== undefined && !(typeof v === 'object' && !Array.isArray(v)) && !k.startsWith('op_') && k !== 'use_mkldnn');
    ops.push({
      '#': `1.${type}`,
      A: keep.map(([k, v]) => attr(k, v)),
      I: inputs.map((n) => ({ '%': id(n) })),
      O: op.outputs.slice(0, 1).map((n) => ({ '%': id(n) })),
    });
  }
  return JSON.stringify({ base_code: { magic: 'pir', trainable: true, version: 1 }, program: { regions: [{ '#': 'region_0', blocks: [{ '#': 'block_0', args: [], ops }] }] } });
}
