/**
 * The v2 inference protocol (KServe "Open Inference Protocol", Triton HTTP/REST), so existing clients work:
 * health, server and model metadata, model readiness and `infer` on FP32 `image` tensors, with Triton's
 * binary tensor data (v2-binary.ts), classification (v2-classification.ts), model repository
 * (repository.ts) and statistics (stats.ts) extensions. Errors are `{"error": "<message>"}` with a 4xx/5xx
 * status. Rows of an infer request join the same batches as `/v1/.../classify` images. An infer body is read
 * within a bound made from the model (its input shape × --max-batch × the longest JSON number, or 4 bytes per
 * element in binary) and its JSON parsed with a structure bound (see json-body.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Classification, type PreparedInput, VERSION } from '../index.js';
import { type ServeContext, findModel } from './context.js';
import { ServeError } from './errors.js';
import { type JsonBounds, JsonStructureScan, parseJsonBounded, readBounded } from './json-body.js';
import type { ServedModel } from './models.js';
import { modelReady, notReadyReason, repositoryRoutes, serverReady } from './repository.js';
import { V2_ERROR, failures } from './schemas.js';
import { RequestTiming, countRequests, runRows, statsRoutes } from './stats.js';
import { HEADER_LENGTH, binaryAnswer, binaryDataSize, bytesToBinary, float32FromLE, float32ToLE, headerLength } from './v2-binary.js';
import { classificationCount, classificationStrings } from './v2-classification.js';

/** The extensions of the protocol this server has, as `GET /v2` lists them. */
export const V2_EXTENSIONS = ['binary_tensor_data', 'classification', 'model_repository', 'statistics'] as const;

/** A tensor as the protocol writes it. */
export interface V2Tensor {
  name: string;
  shape: number[];
  datatype: string;
  data?: (number | string | null)[];
  parameters?: { binary_data_size: number };
}

/** An output as a request asks for it: in JSON or binary, as values or as its top classes. */
export interface OutputWant {
  readonly name: string;
  readonly binary: boolean;
  /** The classification extension's count, when asked. */
  readonly classification?: number;
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

/** A parameter that must be a boolean when given. */
function flag(parameters: unknown, key: string, where: string): boolean | undefined {
  if (parameters === undefined || parameters === null) return undefined;
  if (typeof parameters !== 'object' || Array.isArray(parameters)) throw bad(`${where} "parameters" must be an object`);
  const v = (parameters as Record<string, unknown>)[key];
  if (v !== undefined && typeof v !== 'boolean') throw bad(`${where} has "${key}": ${JSON.stringify(v)}; expected true or false`);
  return v as boolean | undefined;
}

/**
 * The outputs a request asks for, each offered and asked once, in JSON or binary (`binary_data`, else the
 * request's `binary_data_output`), as values or as top classes (`classification`).
 */
function requestedOutputs(body: Record<string, unknown>, m: ServedModel): OutputWant[] {
  const offered = outputsOf(m);
  const allBinary = flag(body.parameters, 'binary_data_output', 'the request') ?? false;
  const outputs = body.outputs;
  if (outputs === undefined) return offered.map((name) => ({ name, binary: allBinary }));
  if (!Array.isArray(outputs)) throw bad('"outputs" must be an array of {"name": ...}');
  const seen = new Set<string>();
  return outputs.map((x: unknown): OutputWant => {
    const name = (x as { name?: unknown } | null)?.name;
    if (typeof name !== 'string' || !offered.includes(name)) throw bad(`unknown output ${JSON.stringify(name)}: model '${m.name}' offers ${offered.join(', ')}`);
    if (seen.has(name)) throw bad(`output '${name}' is asked for more than once: name each of ${offered.join(', ')} at most once`);
    seen.add(name);
    const parameters = (x as { parameters?: unknown }).parameters;
    const binary = flag(parameters, 'binary_data', `output '${name}'`) ?? allBinary;
    const classification = classificationCount((parameters as Record<string, unknown> | undefined)?.classification, name);
    return { name, binary, ...(classification !== undefined ? { classification } : {}) };
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

/** Every element finite in FP32, else 400 naming the first that is not. */
function checkFinite(data: Float32Array, name: string, h: number, w: number): Float32Array {
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) throw bad(`input '${name}' element ${i} (at ${position(i, h, w)}) is ${data[i]}, not a finite FP32 value: send finite FP32 values`);
  }
  return data;
}

/** The input's elements: from its JSON `data`, or from the bytes after the JSON (`binary_data_size`). */
function inputData(input: Record<string, unknown>, tail: Buffer | undefined, shape: [number, number, number], name: string): Float32Array {
  const [n, h, w] = shape;
  const expected = n * 3 * h * w;
  const size = binaryDataSize(input, name);
  if (size === undefined) {
    if (tail !== undefined && tail.length > 0) throw bad(`the body holds ${tail.length} bytes after its JSON part, but no input has "binary_data_size": give input '${name}' "parameters": {"binary_data_size": ${expected * 4}} and no "data"`);
    return flattenData(input.data, expected, name, h, w);
  }
  if (tail === undefined) throw bad(`input '${name}' has "binary_data_size" but the request has no Inference-Header-Content-Length header: give the length of the JSON part there, the tensor bytes after it`);
  if (size !== expected * 4) throw bad(`input '${name}' has "binary_data_size": ${size}; its shape [${n},3,${h},${w}] of FP32 (4 bytes each) is ${expected * 4} bytes`);
  if (tail.length !== size) throw bad(`the body holds ${tail.length} bytes after its JSON part (Inference-Header-Content-Length), but input '${name}' has "binary_data_size": ${size}`);
  return checkFinite(float32FromLE(tail), name, h, w);
}

/** A validated infer request: its rows as prepared images, and the outputs asked for. */
export interface InferRequest {
  readonly id?: string;
  readonly rows: PreparedInput[];
  readonly n: number;
  /** The names of the outputs asked for, in order. */
  readonly outputs: string[];
  readonly wants: OutputWant[];
}

/**
 * Validate an infer request against the model. `tail`: the bytes after the JSON part of a binary request
 * (the binary tensor data extension), undefined for a JSON request.
 */
export function parseInferRequest(body: unknown, m: ServedModel, maxRows: number, tail?: Buffer): InferRequest {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw bad('the request body must be a JSON object with "inputs"');
  const b = body as Record<string, unknown>;
  const inputName = m.classifier.inputName;
  if (!Array.isArray(b.inputs) || b.inputs.length !== 1) {
    const [eh, ew] = m.inputSize ?? ['H', 'W'];
    throw bad(`"inputs" must be an array of one tensor: {"name":"${inputName}","shape":[N,3,${eh},${ew}],"datatype":"FP32","data":[...]}`);
  }
  const input = b.inputs[0] as Record<string, unknown>;
  if (!input || typeof input !== 'object' || Array.isArray(input)) throw bad('"inputs[0]" must be an object');
  const wants = requestedOutputs(b, m);
  const [n, h, w] = checkInput(input, m, maxRows);
  const plane = 3 * h * w;
  const data = inputData(input, tail, [n, h, w], inputName);
  const rows: PreparedInput[] = [];
  for (let i = 0; i < n; i++) {
    rows.push({ name: `${inputName}[${i}]`, data: data.slice(i * plane, (i + 1) * plane), width: w, height: h, decodeMs: 0, preprocessMs: 0 });
  }
  return { ...(typeof b.id === 'string' ? { id: b.id } : {}), rows, n, outputs: wants.map((x) => x.name), wants };
}

/** One output of the answer: JSON values, or their bytes for the binary tail. */
function outputTensor(want: OutputWant, results: readonly Classification[], labels: readonly string[] | undefined): { tensor: V2Tensor; bytes?: Buffer } {
  const rows = results.map((r) => (want.name === 'logits' ? r.logits! : r.probs));
  const cols = rows[0]?.length ?? 0;
  if (want.classification !== undefined) {
    const strings = rows.flatMap((row) => classificationStrings(row, want.classification!, labels));
    const shape = [results.length, Math.min(want.classification, cols)];
    if (!want.binary) return { tensor: { name: want.name, datatype: 'BYTES', shape, data: strings } };
    const bytes = bytesToBinary(strings);
    return { tensor: { name: want.name, datatype: 'BYTES', shape, parameters: { binary_data_size: bytes.length } }, bytes };
  }
  const shape = [results.length, cols];
  if (want.binary) {
    const flat = new Float32Array(rows.length * cols);
    rows.forEach((row, i) => flat.set(row, i * cols));
    const bytes = float32ToLE(flat);
    return { tensor: { name: want.name, datatype: 'FP32', shape, parameters: { binary_data_size: bytes.length } }, bytes };
  }
  const data: (number | null)[] = [];
  // JSON has no NaN or Infinity: a non-finite output (extreme finite inputs can overflow the network) is null
  for (const row of rows) for (const v of row) data.push(Number.isFinite(v) ? v : null);
  return { tensor: { name: want.name, datatype: 'FP32', shape, data } };
}

/** The answer: its JSON, and the bytes of its binary outputs in order (none for an all-JSON answer). */
export function inferResponse(m: ServedModel, id: string | undefined, results: readonly Classification[], wants: readonly OutputWant[]): { json: Record<string, unknown>; tails: Buffer[] } {
  const built = wants.map((want) => outputTensor(want, results, m.classifier.labels));
  const json = { model_name: m.name, model_version: '1', ...(id !== undefined ? { id } : {}), outputs: built.map((b) => b.tensor) };
  return { json, tails: built.flatMap((b) => (b.bytes ? [b.bytes] : [])) };
}

const TENSOR_META = { type: 'object', properties: { name: { type: 'string' }, datatype: { type: 'string' }, shape: { type: 'array', items: { type: 'integer' } } } } as const;
const MODEL_METADATA = {
  type: 'object',
  properties: { name: { type: 'string' }, versions: { type: 'array', items: { type: 'string' } }, platform: { type: 'string' }, inputs: { type: 'array', items: TENSOR_META }, outputs: { type: 'array', items: TENSOR_META } },
} as const;
const OUTPUT_TENSOR = {
  type: 'object',
  properties: {
    ...TENSOR_META.properties,
    data: { type: 'array', items: { type: ['number', 'string', 'null'] }, description: 'row-major; null where the output is not finite; "value:index[:label]" strings for a classification output' },
    parameters: { type: 'object', additionalProperties: true, description: 'binary_data_size: the bytes of this output after the JSON part' },
  },
} as const;
const INFER_REQUEST = {
  type: 'object',
  required: ['inputs'],
  description:
    'One FP32 input [N,3,H,W] (N ≤ --max-batch), data flat or nested row-major, every value a finite FP32 number; or, with the Inference-Header-Content-Length header, "parameters": {"binary_data_size": bytes} and the little-endian FP32 bytes after the JSON. Outputs may ask "parameters": {"binary_data": true} or {"classification": K}',
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

/** Bytes of a binary request's tensor after its JSON part, at most: --max-batch rows of FP32. */
function binaryBound(m: ServedModel, maxBatch: number, bodyLimit: number): number {
  if (!m.inputSize) return bodyLimit;
  const [h, w] = m.inputSize;
  return Math.min(bodyLimit, maxBatch * 3 * h * w * 4);
}

/** The structure bound of a model's infer JSON. */
function jsonBounds(m: ServedModel, maxBatch: number, bound: number): JsonBounds {
  const [h, w] = m.inputSize ?? [bound / 4, 1];
  return {
    maxDepth: ENVELOPE_DEPTH + RANK,
    maxContainers: maxBatch * 3 * h + 256,
    maxNumbers: maxBatch * 3 * h * w + 1024,
    what: 'the infer request',
    depthReason: `its data nests at most ${RANK} deep, the rank of [N,3,H,W]`,
  };
}

/**
 * The infer body reader: JSON, or (with Inference-Header-Content-Length) JSON then tensor bytes, whose tail it
 * keeps in `tails`. Each is bounded by the model, the JSON part structure-bounded as it arrives. The time spent
 * parsing starts the request's timing.
 */
function inferBodyReader(ctx: ServeContext, model: (req: FastifyRequest) => ServedModel, tails: WeakMap<FastifyRequest, Buffer>, timings: WeakMap<FastifyRequest, RequestTiming>) {
  const { maxBatch, bodyLimit } = ctx.limits;
  return async (req: FastifyRequest, payload: NodeJS.ReadableStream): Promise<unknown> => {
    const m = model(req);
    const jsonBound = inferBodyBound(m, maxBatch, bodyLimit);
    const bounds = jsonBounds(m, maxBatch, jsonBound);
    const binary = req.headers[HEADER_LENGTH] !== undefined;
    const length = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
    const jsonLength = binary ? headerLength(req.headers[HEADER_LENGTH], length, jsonBound) : Infinity;
    const bound = binary ? Math.min(bodyLimit, jsonLength + binaryBound(m, maxBatch, bodyLimit)) : jsonBound;
    const what = `${maxBatch} rows (--max-batch) of its input ${binary ? 'in binary after the JSON part' : 'in JSON'}, within --body-limit`;
    const tooLarge = (): ServeError => new ServeError('E_TOO_LARGE', `the infer request is over ${bound} bytes, the most model '${m.name}' can take (${what})`);
    const body = await readBounded(req, payload, bound, new JsonStructureScan(bounds), tooLarge, jsonLength);
    const timing = new RequestTiming();
    timings.set(req, timing);
    if (binary) {
      if (jsonLength > body.length) throw bad(`Inference-Header-Content-Length is ${jsonLength}, but the body is only ${body.length} bytes: it must give the length of the JSON part, which the tensor bytes follow`);
      tails.set(req, body.subarray(jsonLength));
    }
    const json = await parseJsonBounded(binary ? body.subarray(0, jsonLength) : body, bounds);
    timing.inputMs += performance.now() - timing.start;
    return json;
  };
}

/** Send an answer: JSON, or JSON then binary outputs with Inference-Header-Content-Length. */
function sendAnswer(reply: FastifyReply, answer: { json: Record<string, unknown>; tails: Buffer[] }): FastifyReply | Record<string, unknown> {
  if (answer.tails.length === 0) return answer.json;
  const { body, jsonLength } = binaryAnswer(answer.json, answer.tails);
  return reply.header(HEADER_LENGTH, String(jsonLength)).type('application/octet-stream').send(body);
}

/** The v2 routes, with their own body reader: bounded by the model, structure-bounded, yielding. */
export async function v2Routes(app: FastifyInstance, ctx: ServeContext): Promise<void> {
  const errs = failures(V2_ERROR);
  const tags = ['v2'];
  const { maxBatch, bodyLimit } = ctx.limits;
  const model = (req: FastifyRequest): ServedModel => {
    const p = req.params as { name: string; version?: string };
    if (p.version !== undefined && p.version !== '1') throw new ServeError('E_NOT_FOUND', `model '${p.name}' has no version '${p.version}'; it has version 1`);
    return findModel(ctx, p.name);
  };
  const tails = new WeakMap<FastifyRequest, Buffer>();
  const timings = new WeakMap<FastifyRequest, RequestTiming>();
  app.removeAllContentTypeParsers();
  // JSON, and binary requests (which Triton's clients send with or without a content-type)
  app.addContentTypeParser(['application/json', '*'], inferBodyReader(ctx, model, tails, timings));
  const inferLimit = Math.max(...[...ctx.models.values()].map((m) => inferBodyBound(m, maxBatch, bodyLimit) + binaryBound(m, maxBatch, bodyLimit)));

  app.get('/v2', { schema: { tags, summary: 'server metadata', response: { 200: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' }, extensions: { type: 'array', items: { type: 'string' } } } }, ...errs } } }, async () => ({ name: 'pplcnet', version: VERSION, extensions: [...V2_EXTENSIONS] }));
  app.get('/v2/health/live', { schema: { tags, summary: 'liveness', response: { 200: { type: 'object', properties: { live: { type: 'boolean' } } }, ...errs } } }, async () => ({ live: true }));
  app.get('/v2/health/ready', { schema: { tags, summary: 'readiness', response: { 200: { type: 'object', properties: { ready: { type: 'boolean' } } }, ...errs } } }, async (_req, reply) =>
    serverReady(ctx) ? { ready: true } : (reply as FastifyReply).code(503).send({ error: notReadyReason(ctx) }),
  );
  statsRoutes(app, ctx);
  await app.register(async (child) => repositoryRoutes(child, ctx));
  for (const [prefix, params] of [['/v2/models/:name', NAME_ONLY], ['/v2/models/:name/versions/:version', VERSION_PARAMS]] as const) {
    app.get(prefix, { schema: { tags, summary: 'model metadata', params, response: { 200: MODEL_METADATA, ...errs } } }, async (req) => v2ModelMetadata(model(req)));
    app.get(`${prefix}/ready`, { schema: { tags, summary: 'model readiness', params, response: { 200: { type: 'object', properties: { name: { type: 'string' }, ready: { type: 'boolean' } } }, ...errs } } }, async (req) => ({
      name: model(req).name,
      ready: modelReady(ctx, model(req).name),
    }));
    app.post(
      `${prefix}/infer`,
      {
        bodyLimit: inferLimit,
        config: { accepts: 'json' },
        onResponse: countRequests(ctx, timings),
        schema: { tags, summary: 'inference on a preprocessed FP32 tensor', params, body: INFER_REQUEST, response: { 200: INFER_RESPONSE, ...errs } },
      },
      async (req, reply) => {
        const m = model(req);
        const timing = timings.get(req) ?? new RequestTiming();
        timings.set(req, timing);
        const { id, rows, n, wants } = timing.time('inputMs', () => parseInferRequest(req.body, m, Math.min(maxBatch, ctx.admission.limit), tails.get(req)));
        req.images = n;
        const results = await runRows(ctx, m, rows, timing);
        return sendAnswer(reply, timing.time('outputMs', () => inferResponse(m, id, results, wants)));
      },
    );
  }
}
