/**
 * The v2 inference protocol (KServe "Open Inference Protocol", Triton HTTP/REST), so existing clients work:
 * health, server and model metadata, model readiness and `infer` on FP32 `image` tensors. Errors are
 * `{"error": "<message>"}` with a 4xx/5xx status. Rows of an infer request join the same batches as
 * `/v1/.../classify` images.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Classification, PreparedInput } from '../classifier.js';
import { VERSION } from '../version.js';
import { type Admission, withTimeout } from './flow.js';
import { ServeError } from './errors.js';
import type { ServeMetrics } from './metrics.js';
import type { ServedModel } from './models.js';

export interface V2Context {
  models: ReadonlyMap<string, ServedModel>;
  getModel(name: string): ServedModel;
  admission: Admission;
  timeoutMs: number;
  maxBatch: number;
  metrics: ServeMetrics;
  route(method: 'GET' | 'POST', url: string, handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>): void;
}

/** A tensor as the protocol writes it. */
export interface V2Tensor {
  name: string;
  shape: number[];
  datatype: string;
  data: number[];
}

/** Output tensors a model offers: `logits` (when the network has it) and `probs`. */
function outputsOf(m: ServedModel): string[] {
  return m.classifier.outputNames.includes('logits') ? ['logits', 'probs'] : ['probs'];
}

/** The protocol's model metadata. */
export function v2ModelMetadata(m: ServedModel): Record<string, unknown> {
  const [h, w] = m.inputSize ?? [-1, -1];
  const classes = m.classes ?? -1;
  return {
    name: m.name,
    versions: ['1'],
    platform: 'onnx',
    inputs: [{ name: m.classifier.inputName, datatype: 'FP32', shape: [-1, 3, h, w] }],
    outputs: outputsOf(m).map((name) => ({ name, datatype: 'FP32', shape: [-1, classes] })),
  };
}

const bad = (message: string): ServeError => new ServeError('E_BAD_REQUEST', message);

/** Flatten flat or nested (row-major) `data` into float32, checking every element is a number. */
function flattenData(data: unknown, expected: number): Float32Array {
  if (!Array.isArray(data)) throw bad(`input 'data' must be an array of numbers (flat or nested), got ${data === null ? 'null' : typeof data}`);
  const out = new Float32Array(expected);
  let n = 0;
  const walk = (a: unknown[], depth: number): void => {
    if (depth > 8) throw bad("input 'data' is nested deeper than the tensor's shape");
    for (const v of a) {
      if (typeof v === 'number') {
        if (n >= expected) throw bad(`input 'data' holds more than the ${expected} elements its shape gives`);
        out[n++] = v;
      } else if (Array.isArray(v)) walk(v, depth + 1);
      else throw bad(`input 'data' element ${n} is ${v === null ? 'null' : typeof v}, not a number`);
    }
  };
  walk(data, 0);
  if (n !== expected) throw bad(`input 'data' holds ${n} elements, its shape gives ${expected}`);
  return out;
}

/** Validate an infer request against the model; returns the rows as prepared images and the outputs asked for. */
export function parseInferRequest(
  body: unknown,
  m: ServedModel,
  maxRows: number,
): { id?: string; rows: PreparedInput[]; n: number; outputs: string[] } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw bad('the request body must be a JSON object with "inputs"');
  const b = body as Record<string, unknown>;
  const inputName = m.classifier.inputName;
  const [eh, ew] = m.inputSize ?? [undefined, undefined];
  const expectedShape = `[N,3,${eh ?? 'H'},${ew ?? 'W'}]`;
  if (!Array.isArray(b.inputs) || b.inputs.length !== 1) {
    throw bad(`"inputs" must be an array of one tensor: {"name":"${inputName}","shape":${expectedShape},"datatype":"FP32","data":[...]}`);
  }
  const input = b.inputs[0] as Record<string, unknown>;
  if (!input || typeof input !== 'object') throw bad('"inputs[0]" must be an object');
  if (input.name !== inputName) throw bad(`unknown input ${JSON.stringify(input.name)}: model '${m.name}' has one input, '${inputName}' FP32 ${expectedShape}`);
  if (input.datatype !== 'FP32') throw bad(`input '${inputName}' has datatype ${JSON.stringify(input.datatype)}; expected FP32 with shape ${expectedShape}`);
  const shape = input.shape;
  if (
    !Array.isArray(shape) ||
    shape.length !== 4 ||
    !shape.every((d) => Number.isInteger(d) && d > 0) ||
    shape[1] !== 3 ||
    (eh !== undefined && shape[2] !== eh) ||
    (ew !== undefined && shape[3] !== ew)
  ) {
    throw bad(`input '${inputName}' has shape ${JSON.stringify(shape)}; expected ${expectedShape}`);
  }
  const [n, , h, w] = shape as [number, number, number, number];
  if (n > maxRows) throw bad(`input '${inputName}' has ${n} rows; at most ${maxRows} per request (--max-queue)`);
  const plane = 3 * h * w;
  if (n * plane > 64 * 1024 * 1024) throw bad(`input '${inputName}' of shape ${JSON.stringify(shape)} is too large`);
  const data = flattenData(input.data, n * plane);
  const offered = outputsOf(m);
  let outputs = offered;
  if (b.outputs !== undefined) {
    if (!Array.isArray(b.outputs)) throw bad('"outputs" must be an array of {"name": ...}');
    outputs = b.outputs.map((x: unknown) => {
      const name = (x as { name?: unknown })?.name;
      if (typeof name !== 'string' || !offered.includes(name)) throw bad(`unknown output ${JSON.stringify(name)}: model '${m.name}' offers ${offered.join(', ')}`);
      return name;
    });
  }
  const rows: PreparedInput[] = [];
  for (let i = 0; i < n; i++) {
    rows.push({ name: `${inputName}[${i}]`, data: data.slice(i * plane, (i + 1) * plane), width: w, height: h, decodeMs: 0, preprocessMs: 0 });
  }
  return { ...(typeof b.id === 'string' ? { id: b.id } : {}), rows, n, outputs };
}

/** Assemble output tensors from per-row results. */
export function inferResponse(m: ServedModel, id: string | undefined, results: readonly Classification[], outputs: readonly string[]): Record<string, unknown> {
  const tensors: V2Tensor[] = outputs.map((name) => {
    const rows = results.map((r) => (name === 'logits' ? r.logits! : r.probs));
    const cols = rows[0]?.length ?? 0;
    const data: number[] = [];
    for (const row of rows) for (const v of row) data.push(v);
    return { name, datatype: 'FP32', shape: [results.length, cols], data };
  });
  return { model_name: m.name, model_version: '1', ...(id !== undefined ? { id } : {}), outputs: tensors };
}

export function registerV2(ctx: V2Context): void {
  const { route } = ctx;
  const ready = (): boolean => [...ctx.models.values()].every((m) => m.classes !== undefined || m.inputSize === undefined);
  route('GET', '/v2', async () => ({ name: 'pplcnet', version: VERSION, extensions: [] }));
  route('GET', '/v2/health/live', async () => ({ live: true }));
  route('GET', '/v2/health/ready', async (_req, reply) => (ready() ? { ready: true } : reply.code(503).send({ error: 'models are loading' })));
  for (const prefix of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    const model = (req: FastifyRequest): ServedModel => {
      const p = req.params as { name: string; version?: string };
      if (p.version !== undefined && p.version !== '1') throw new ServeError('E_NOT_FOUND', `model '${p.name}' has no version '${p.version}'; it has version 1`);
      return ctx.getModel(p.name);
    };
    route('GET', prefix, async (req) => v2ModelMetadata(model(req)));
    route('GET', `${prefix}/ready`, async (req) => ({ name: model(req).name, ready: true }));
    route('POST', `${prefix}/infer`, async (req) => {
      const m = model(req);
      const { id, rows, n, outputs } = parseInferRequest(req.body, m, ctx.admission.limit);
      req.images = n;
      ctx.admission.take(n);
      const results = await withTimeout(
        ctx.timeoutMs,
        (signal) =>
          Promise.all(
            rows.map(async (row) => {
              const r = await m.batcher.submit(row, signal);
              ctx.metrics.images.inc({ model: m.name });
              return r;
            }),
          ),
        () => ctx.admission.give(n),
      );
      return inferResponse(m, id, results, outputs);
    });
  }
}
