/**
 * JSON schemas of the service's requests and answers, shared by the route plugins: fastify validates the
 * parameters and queries with them, serializes the answers through them, and the OpenAPI document is made
 * from them. Bodies keep their own checks where a message can say more than a schema's (v2 infer).
 */

/** `{error: {code, message}}`: every v1, page and metrics failure. */
export const V1_ERROR = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string', description: 'E_BAD_REQUEST, E_IMAGE, E_NOT_FOUND, E_TOO_LARGE, E_MEDIA_TYPE, …' }, message: { type: 'string' } },
    },
  },
} as const;

/** `{error: message}`: the v2 protocol's failure. */
export const V2_ERROR = { type: 'object', required: ['error'], properties: { error: { type: 'string' } } } as const;

/** Failure answers of a route in one shape. */
export function failures(shape: typeof V1_ERROR | typeof V2_ERROR): Record<string, unknown> {
  return { '4xx': shape, '5xx': shape };
}

export const NAME_PARAMS = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', description: 'a served model name or its zoo alias' } },
} as const;

export const TOP_CLASS = {
  type: 'object',
  required: ['classId', 'label', 'score'],
  properties: { classId: { type: 'integer' }, label: { type: 'string' }, score: { type: 'number' } },
} as const;

export const TIMINGS = {
  type: 'object',
  properties: {
    decodeMs: { type: 'number' },
    preprocessMs: { type: 'number' },
    queueMs: { type: 'number' },
    batchInferenceMs: { type: 'number' },
    batchSize: { type: 'integer' },
  },
} as const;

/** A row of a classify answer: the row `predict --json` writes (keys in its order: the answer is serialized in this order), or `{file, error}`. */
export const CLASSIFY_ROW = {
  type: 'object',
  required: ['file'],
  properties: {
    file: { type: 'string' },
    model: { type: 'string' },
    topk: { type: 'array', items: TOP_CLASS },
    labels: { type: 'array', items: TOP_CLASS, description: 'multi-label models: every class whose score reaches the threshold' },
    threshold: { type: 'number' },
    attributes: { type: 'object', additionalProperties: true },
    warnings: { type: 'array', items: { type: 'string' }, description: 'what reading the image ignored (bytes after its end)' },
    timings: TIMINGS,
    error: V1_ERROR.properties.error,
  },
} as const;

/** What `GET /v1/models` says about one model (an open object: metadata fields come and go). */
export const MODEL_INFO = {
  type: 'object',
  additionalProperties: true,
  required: ['name'],
  properties: {
    name: { type: 'string' },
    aliases: { type: 'array', items: { type: 'string' } },
    trained: { type: ['boolean', 'null'], description: 'false: initialized weights that were never trained (pplcnet build)' },
  },
} as const;

/** Digits only: `0x2`, `1e1`, ` 2` are refused. */
export const DIGITS = { type: 'string', pattern: '^[0-9]{1,9}$', description: 'a positive integer (digits only)' } as const;

/** A decimal number from 0 to 1. */
export const UNIT_NUMBER = { type: 'string', pattern: '^(0(\\.[0-9]{1,12})?|1(\\.0{1,12})?|\\.[0-9]{1,12})$', description: 'a number from 0 to 1 (digits and a point)' } as const;
