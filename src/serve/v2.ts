/**
 * The v2 inference protocol (KServe "Open Inference Protocol", Triton HTTP/REST), so existing clients work:
 * health, server and model metadata, model readiness and `infer` on FP32 `image` tensors. Errors are
 * `{"error": "<message>"}` with a 4xx/5xx status. Rows of an infer request join the same batches as
 * `/v1/.../classify` images. An infer body is read within a bound made from the model (its input shape ×
 * --max-batch × the longest JSON number) and parsed with a structure bound (see json-body.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Classification, PreparedInput } from '../classifier.js';
import { VERSION } from '../version.js';
import { type ServeContext, findModel } from './context.js';
import { withTimeout } from './flow.js';
import { ServeError } from './errors.js';
import { JsonStructureScan, parseJsonBounded } from './json-body.js';
import type { ServedModel } from './models.js';
import { V2_ERROR, failures } from './schemas.js';

/** A tensor as the protocol writes it. */
export interface V2Tensor {
  name: string;
  shape: number[];
  datatype: string;
  data: (number | null)[];
}

/** Bytes one FP32 element may take in JSON: the longest double (`-2.2250738585072014e-308`) and `, `. */
const BYTES_PER_ELEMENT = 32;
/** Room for the envelope around the data (names, id, parameters, outputs). */
const ENVELOPE_BYTES = 64 * 1024;
/** An infer body's depth: body, inputs, input, then the data nested at most as deep as the tensor's rank. */
const ENVELOPE_DEPTH = 3;
const RANK = 4;

/** Output tensors a model offers: `logits` (when the network has it) and `probs`. */
function outputsOf(m: ServedModel): string[] {
  return m.classifier.outputNames.includes('logits') ? ['logits', 'probs'] : ['probs'];
}

/** The largest infer body this model can need, bounded by --body-limit. */
export function inferBodyBound(m: ServedModel, maxBatch: number, bodyLimit: number): number {
  if (!m.inputSize) return bodyLimit;
  const [h, w] = m.inputSize;
  return Math.min(bodyLimit, maxBatch * 3 * h * w * BYTES_PER_ELEMENT + ENVELOPE_BYTES);
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

/** `[n, c, y, x]` of a flat index into [N, 3, H, W]. */
function position(i: number, h: number, w: number): string {
  const plane = h * w;
  return `[${Math.floor(i / (3 * plane))},${Math.floor(i / plane) % 3},${Math.floor(i / w) % h},${i % w}]`;
}

const isArrayLike = (v: unknown): v is ArrayLike<unknown> => Array.isArray(v) || v instanceof Float64Array;

/**
 * Flatten flat or nested (row-major) `data` into float32, checking every element is a finite FP32 number.
 * Arrays of numbers come from the body's reader as Float64Arrays.
 */
function flattenData(data: unknown, expected: number, name: string, h: number, w: number): Float32Array {
  if (!isArrayLike(data)) throw bad(`input '${name}' 'data' must be an array of numbers (flat or nested), got ${data === null ? 'null' : typeof data}`);
  const out = new Float32Array(expected);
  let n = 0;
  const walk = (a: ArrayLike<unknown>, depth: number): void => {
    if (depth > RANK) throw bad(`input '${name}' 'data' is nested deeper than the tensor's rank (${RANK})`);
    for (let i = 0; i < a.length; i++) {
      const v = a[i];
      if (typeof v === 'number') {
        if (n >= expected) throw bad(`input '${name}' 'data' holds more than the ${expected} elements its shape gives`);
        const f = Math.fround(v);
        if (!Number.isFinite(f)) {
          throw bad(`input '${name}' element ${n} (at ${position(n, h, w)}) is ${v}, outside FP32's finite range (±3.4028235e38): send finite FP32 values`);
        }
        out[n++] = f;
      } else if (isArrayLike(v)) walk(v, depth + 1);
      else throw bad(`input '${name}' element ${n} (at ${position(n, h, w)}) is ${v === null ? 'null' : typeof v}, not a number`);
    }
  };
  walk(data, 1);
  if (n !== expected) throw bad(`input '${name}' 'data' holds ${n} elements, its shape gives ${expected}`);
  return out;
}

/** The outputs a request asks for: each offered, each once. */
function requestedOutputs(outputs: unknown, m: ServedModel): string[] {
  const offered = outputsOf(m);
  if (outputs === undefined) return offered;
  if (!Array.isArray(outputs)) throw bad('"outputs" must be an array of {"name": ...}');
  const seen = new Set<string>();
  return outputs.map((x: unknown) => {
    const name = (x as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || !offered.includes(name)) throw bad(`unknown output ${JSON.stringify(name)}: model '${m.name}' offers ${offered.join(', ')}`);
    if (seen.has(name)) throw bad(`output '${name}' is asked for more than once: name each of ${offered.join(', ')} at most once`);
    seen.add(name);
    return name;
  });
}

/** The shape of the one input, checked against the model; returns [n, h, w]. */
function checkInput(input: Record<string, unknown>, m: ServedModel, maxRows: number): [number, number, number] {
  const inputName = m.classifier.inputName;
  const [eh, ew] = m.inputSize ?? [undefined, undefined];
  const expectedShape = `[N,3,${eh ?? 'H'},${ew ?? 'W'}]`;
  if (input.name !== inputName) throw bad(`unknown input ${JSON.stringify(input.name)}: model '${m.name}' has one input, '${inputName}' FP32 ${expectedShape}`);
  if (input.datatype !== 'FP32') throw bad(`input '${inputName}' has datatype ${JSON.stringify(input.datatype)}; expected FP32 with shape ${expectedShape}`);
  const shape = input.shape;
  if (
    !Array.isArray(shape) ||
    shape.length !== RANK ||
    !shape.every((d) => Number.isInteger(d) && d > 0) ||
    shape[1] !== 3 ||
    (eh !== undefined && shape[2] !== eh) ||
    (ew !== undefined && shape[3] !== ew)
  ) {
    throw bad(`input '${inputName}' has shape ${JSON.stringify(shape)}; expected ${expectedShape}`);
  }
  const [n, , h, w] = shape as [number, number, number, number];
  if (n > maxRows) throw bad(`input '${inputName}' has ${n} rows; at most ${maxRows} per request (--max-batch)`);
  if (n * 3 * h * w > 64 * 1024 * 1024) throw bad(`input '${inputName}' of shape ${JSON.stringify(shape)} is too large`);
  return [n, h, w];
}

/** Validate an infer request against the model; returns the rows as prepared images and the outputs asked for. */
export function parseInferRequest(body: unknown, m: ServedModel, maxRows: number): { id?: string; rows: PreparedInput[]; n: number; outputs: string[] } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw bad('the request body must be a JSON object with "inputs"');
  const b = body as Record<string, unknown>;
  const inputName = m.classifier.inputName;
  if (!Array.isArray(b.inputs) || b.inputs.length !== 1) {
    const [eh, ew] = m.inputSize ?? ['H', 'W'];
    throw bad(`"inputs" must be an array of one tensor: {"name":"${inputName}","shape":[N,3,${eh},${ew}],"datatype":"FP32","data":[...]}`);
  }
  const input = b.inputs[0] as Record<string, unknown>;
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw bad('"inputs[0]" must be an object');
  const outputs = requestedOutputs(b.outputs, m);
  const [n, h, w] = checkInput(input, m, maxRows);
  const plane = 3 * h * w;
  const data = flattenData(input.data, n * plane, inputName, h, w);
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
    const data: (number | null)[] = [];
    // JSON has no NaN or Infinity: a non-finite output (extreme finite inputs can overflow the network) is null
    for (const row of rows) for (const v of row) data.push(Number.isFinite(v) ? v : null);
    return { name, datatype: 'FP32', shape: [results.length, cols], data };
  });
  return { model_name: m.name, model_version: '1', ...(id !== undefined ? { id } : {}), outputs: tensors };
}

const TENSOR_META = { type: 'object', properties: { name: { type: 'string' }, datatype: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } } } } as const;
const MODEL_METADATA = {
  type: 'object',
  properties: { name: { type: 'string' }, versions: { type: 'array', items: { type: 'string' } }, platform: { type: 'string' }, inputs: { type: 'array', items: TENSOR_META }, outputs: { type: 'array', items: TENSOR_META } },
} as const;
const OUTPUT_TENSOR = {
  type: 'object',
  properties: { ...TENSOR_META.properties, data: { type: 'array', items: { type: ['number', 'null'] }, description: 'row-major; null where the output is not finite' } },
} as const;
const INFER_REQUEST = {
  type: 'object',
  required: ['inputs'],
  description: 'One FP32 input [N,3,H,W] (N ≤ --max-batch), data flat or nested row-major; every value a finite FP32 number',
  properties: {
    id: { type: 'string' },
    inputs: {
      type: 'array',
      items: { type: 'object', properties: { ...TENSOR_META.properties, data: { description: 'numbers, flat or nested as the shape' }, parameters: { type: 'object' } } },
    },
    outputs: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, parameters: { type: 'object' } } } },
    parameters: { type: 'object' },
  },
} as const;
const INFER_RESPONSE = {
  type: 'object',
  properties: { model_name: { type: 'string' }, model_version: { type: 'string' }, id: { type: 'string' }, outputs: { type: 'array', items: OUTPUT_TENSOR } },
} as const;
const VERSION_PARAMS = { type: 'object', required: ['name', 'version'], properties: { name: { type: 'string' }, version: { type: 'string' } } } as const;
const NAME_ONLY = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } } as const;

/**
 * Read a body chunk by chunk, checking the structure bound on each as it arrives: a hostile body is refused at
 * its first bad chunk, before the rest is read or held (the rest is drained by the service's hooks, up to a
 * bound). Over `bound` bytes (by Content-Length, or as read) is `tooLarge()`.
 */
function readBounded(req: FastifyRequest, payload: NodeJS.ReadableStream, bound: number, scan: JsonStructureScan, tooLarge: () => ServeError): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > bound) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const stop = (err?: unknown): void => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', stop);
      if (err !== undefined) reject(err);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      try {
        if (total > bound) throw tooLarge();
        scan.feed(chunk);
      } catch (err) {
        payload.pause();
        return stop(err);
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      stop();
      resolve(Buffer.concat(chunks, total));
    };
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', stop);
  });
}

/** The v2 routes, with their own JSON reader: bounded by the model, structure-bounded, yielding. */
export async function v2Routes(app: FastifyInstance, ctx: ServeContext): Promise<void> {
  const errs = failures(V2_ERROR);
  const tags = ['v2'];
  const { maxBatch, bodyLimit } = ctx.limits;
  const ready = (): boolean => [...ctx.models.values()].every((m) => m.classes !== undefined || m.inputSize === undefined);
  const model = (req: FastifyRequest): ServedModel => {
    const p = req.params as { name: string; version?: string };
    if (p.version !== undefined && p.version !== '1') throw new ServeError('E_NOT_FOUND', `model '${p.name}' has no version '${p.version}'; it has version 1`);
    return findModel(ctx, p.name);
  };
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', async (req: FastifyRequest, payload: NodeJS.ReadableStream) => {
    const m = model(req);
    const bound = inferBodyBound(m, maxBatch, bodyLimit);
    const [h, w] = m.inputSize ?? [bound / 4, 1];
    const bounds = {
      maxDepth: ENVELOPE_DEPTH + RANK,
      maxContainers: maxBatch * 3 * h + 256,
      maxNumbers: maxBatch * 3 * h * w + 1024,
      what: 'the infer request',
      depthReason: `its data nests at most ${RANK} deep, the rank of [N,3,H,W]`,
    };
    const body = await readBounded(req, payload, bound, new JsonStructureScan(bounds), () => new ServeError('E_TOO_LARGE', `the infer request is over ${bound} bytes, the most model '${m.name}' can take (${maxBatch} rows (--max-batch) of its input in JSON, within --body-limit)`));
    return parseJsonBounded(body, bounds);
  });
  const inferLimit = Math.max(...[...ctx.models.values()].map((m) => inferBodyBound(m, maxBatch, bodyLimit)));

  app.get('/v2', { schema: { tags, summary: 'server metadata', response: { 200: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' }, extensions: { type: 'array', items: { type: 'string' } } } }, ...errs } } }, async () => ({ name: 'pplcnet', version: VERSION, extensions: [] }));
  app.get('/v2/health/live', { schema: { tags, summary: 'liveness', response: { 200: { type: 'object', properties: { live: { type: 'boolean' } } }, ...errs } } }, async () => ({ live: true }));
  app.get('/v2/health/ready', { schema: { tags, summary: 'readiness', response: { 200: { type: 'object', properties: { ready: { type: 'boolean' } } }, ...errs } } }, async (_req, reply) =>
    ready() ? { ready: true } : (reply as FastifyReply).code(503).send({ error: 'models are loading' }),
  );
  for (const [prefix, params] of [['/v2/models/:name', NAME_ONLY], ['/v2/models/:name/versions/:version', VERSION_PARAMS]] as const) {
    app.get(prefix, { schema: { tags, summary: 'model metadata', params, response: { 200: MODEL_METADATA, ...errs } } }, async (req) => v2ModelMetadata(model(req)));
    app.get(`${prefix}/ready`, { schema: { tags, summary: 'model readiness', params, response: { 200: { type: 'object', properties: { name: { type: 'string' }, ready: { type: 'boolean' } } }, ...errs } } }, async (req) => ({
      name: model(req).name,
      ready: true,
    }));
    app.post(
      `${prefix}/infer`,
      { bodyLimit: inferLimit, config: { accepts: 'json' }, schema: { tags, summary: 'inference on a preprocessed FP32 tensor', params, body: INFER_REQUEST, response: { 200: INFER_RESPONSE, ...errs } } },
      async (req) => {
        const m = model(req);
        const { id, rows, n, outputs } = parseInferRequest(req.body, m, Math.min(maxBatch, ctx.admission.limit));
        req.images = n;
        ctx.admission.take(n);
        const results = await withTimeout(
          ctx.limits.timeoutMs,
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
      },
    );
  }
}
