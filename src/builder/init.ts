/**
 * Parameters as PaddleClas creates them at construction, drawn from a seeded generator:
 * ConvBN convs KaimingNormal (std √(2/fan_in)); SE convs and last_conv Paddle's Conv2D default
 * Normal(0, √(2/(k²·in))); Linear XavierUniform (±√(6/(in+out))); biases 0; BatchNorm γ 1, β 0, mean 0, var 1.
 */
import { type Architecture, parameterShapes } from './architecture.js';
import { Random } from './random.js';

/** Named float32 parameters, keyed by PaddleClas state_dict keys. */
export type ParameterMap = ReadonlyMap<string, Float32Array>;

/** `shapes`: the architecture's parameter shapes, when the caller has them already. */
export function initParameters(arch: Architecture, seed = 0, shapes: readonly (readonly [string, readonly number[]])[] = parameterShapes(arch)): Map<string, Float32Array> {
  const rng = new Random(seed);
  const out = new Map<string, Float32Array>();
  for (const [key, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (key.endsWith('.bn.weight') || key.endsWith('.bn._variance')) {
      data.fill(1);
    } else if (key.endsWith('.bias') || key.endsWith('.bn._mean')) {
      // zeros
    } else if (key === 'fc.weight') {
      const limit = Math.sqrt(6 / (shape[0]! + shape[1]!));
      for (let i = 0; i < n; i++) data[i] = (rng.uniform() * 2 - 1) * limit;
    } else {
      // conv weight [out, in/groups, k, k]: fan_in = in/groups·k·k
      const fanIn = shape[1]! * shape[2]! * shape[3]!;
      const std = Math.sqrt(2 / fanIn);
      for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
    }
    out.set(key, data);
  }
  return out;
}
