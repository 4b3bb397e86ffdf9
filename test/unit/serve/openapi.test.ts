/**
 * `/openapi.json`: an OpenAPI 3.1 document listing every route of the service with its method, checked against
 * the rules of the OpenAPI 3.1 specification that need no network (required fields, path templates and their
 * parameters, response codes and descriptions, media types, local references, unique operations). The checker
 * is shown to find each kind of defect in a damaged copy.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Classifier } from '../../../src/classifier.js';
import { type ServeApp, createServeApp } from '../../../src/serve/app.js';
import { MODEL, textlineClassifier } from './common.js';

type Json = Record<string, unknown>;

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const PARAM_IN = ['query', 'header', 'path', 'cookie'];
const JSON_TYPES = ['null', 'boolean', 'object', 'array', 'number', 'string', 'integer'];

/** Every route of the service, as its documentation gives them. */
const ROUTES = [
  'GET /',
  'GET /web/app.js',
  'GET /web/ort/{file}',
  'GET /v1/models',
  'GET /v1/models/{name}',
  'GET /v1/models/{name}/labels',
  'GET /v1/models/{name}/model.onnx',
  'POST /v1/models/{name}/classify',
  'GET /v2',
  'GET /v2/health/live',
  'GET /v2/health/ready',
  'GET /v2/models/{name}',
  'GET /v2/models/{name}/ready',
  'POST /v2/models/{name}/infer',
  'GET /v2/models/{name}/versions/{version}',
  'GET /v2/models/{name}/versions/{version}/ready',
  'POST /v2/models/{name}/versions/{version}/infer',
  'GET /v2/models/stats',
  'GET /v2/models/{name}/stats',
  'GET /v2/models/{name}/versions/{version}/stats',
  'POST /v2/repository/index',
  'POST /v2/repository/models/{name}/load',
  'POST /v2/repository/models/{name}/unload',
  'GET /metrics',
  'GET /openapi.json',
].sort();

/** Check schema objects: `type` a JSON type or a list of them, `required` names listed properties, `$ref` local. */
function checkSchema(s: unknown, where: string, problems: string[]): void {
  if (!s || typeof s !== 'object') return;
  const o = s as Json;
  if (o.type !== undefined) {
    const types = Array.isArray(o.type) ? o.type : [o.type];
    if (types.length === 0 || !types.every((t) => typeof t === 'string' && JSON_TYPES.includes(t))) problems.push(`${where}: bad type ${JSON.stringify(o.type)}`);
  }
  if (o.required !== undefined) {
    if (!Array.isArray(o.required) || !o.required.every((r) => typeof r === 'string')) problems.push(`${where}: required must list names`);
    else if (o.properties && typeof o.properties === 'object') {
      for (const r of o.required) if (!(r in (o.properties as Json))) problems.push(`${where}: required '${r}' is not a property`);
    }
  }
  for (const [k, v] of Object.entries(o)) {
    if (k === 'properties' && v && typeof v === 'object') for (const [p, ps] of Object.entries(v as Json)) checkSchema(ps, `${where}.properties.${p}`, problems);
    else if (['items', 'additionalProperties', 'not'].includes(k)) checkSchema(v, `${where}.${k}`, problems);
    else if (['anyOf', 'oneOf', 'allOf'].includes(k) && Array.isArray(v)) v.forEach((x, i) => checkSchema(x, `${where}.${k}[${i}]`, problems));
  }
}

/** Every `$ref` in the document points at something in it. */
function checkRefs(doc: Json, node: unknown, where: string, problems: string[]): void {
  if (!node || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node as Json)) {
    if (k === '$ref') {
      if (typeof v !== 'string' || !v.startsWith('#/')) problems.push(`${where}: $ref ${JSON.stringify(v)} is not local`);
      else {
        let at: unknown = doc;
        for (const part of v.slice(2).split('/')) at = at && typeof at === 'object' ? (at as Json)[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
        if (at === undefined) problems.push(`${where}: $ref ${v} leads nowhere`);
      }
    } else checkRefs(doc, v, `${where}.${k}`, problems);
  }
}

function checkOperation(op: Json, where: string, template: string[], problems: string[]): void {
  const params = (op.parameters ?? []) as Json[];
  if (!Array.isArray(params)) problems.push(`${where}: parameters must be an array`);
  const seen = new Set<string>();
  for (const p of params) {
    if (typeof p.name !== 'string' || !PARAM_IN.includes(String(p.in))) problems.push(`${where}: a parameter needs a name and an 'in' of ${PARAM_IN.join(', ')}`);
    if (seen.has(`${p.in}:${p.name}`)) problems.push(`${where}: parameter ${p.name} twice`);
    seen.add(`${p.in}:${p.name}`);
    if (p.in === 'path' && p.required !== true) problems.push(`${where}: path parameter ${p.name} must be required`);
    if (p.in === 'path' && !template.includes(String(p.name))) problems.push(`${where}: path parameter ${p.name} is not in the path`);
    if (!p.schema && !p.content) problems.push(`${where}: parameter ${p.name} has no schema`);
    checkSchema(p.schema, `${where}.${p.name}`, problems);
  }
  for (const name of template) if (!seen.has(`path:${name}`)) problems.push(`${where}: {${name}} is not declared as a path parameter`);
  const responses = op.responses as Json | undefined;
  if (!responses || typeof responses !== 'object' || Object.keys(responses).length === 0) problems.push(`${where}: no responses`);
  for (const [code, r] of Object.entries(responses ?? {})) {
    if (!/^([1-5][0-9]{2}|[1-5]XX|default)$/.test(code)) problems.push(`${where}: response code ${code}`);
    const resp = r as Json;
    if (typeof resp.description !== 'string') problems.push(`${where} ${code}: a response needs a description`);
    for (const [type, media] of Object.entries((resp.content ?? {}) as Json)) {
      if (!/^[\w.+*-]+\/[\w.+*-]+$/.test(type)) problems.push(`${where} ${code}: media type ${type}`);
      checkSchema((media as Json).schema, `${where} ${code} ${type}`, problems);
    }
  }
  const body = op.requestBody as Json | undefined;
  if (body !== undefined && (typeof body.content !== 'object' || Object.keys(body.content as Json).length === 0)) problems.push(`${where}: requestBody without content`);
}

/** What breaks the OpenAPI 3.1 rules this test can check offline; empty when none. */
function openApiProblems(doc: Json): string[] {
  const problems: string[] = [];
  if (typeof doc.openapi !== 'string' || !/^3\.1\.\d+$/.test(doc.openapi)) problems.push(`openapi must be 3.1.x, is ${JSON.stringify(doc.openapi)}`);
  const info = doc.info as Json | undefined;
  if (!info || typeof info.title !== 'string' || typeof info.version !== 'string') problems.push('info needs a title and a version');
  const paths = doc.paths as Record<string, Json> | undefined;
  if (!paths || typeof paths !== 'object') return [...problems, 'no paths'];
  const ids = new Set<string>();
  const shapes = new Set<string>();
  for (const [path, item] of Object.entries(paths)) {
    if (!path.startsWith('/')) problems.push(`path ${path} must start with /`);
    const template = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    const shape = path.replace(/\{[^}]+\}/g, '{}');
    if (shapes.has(shape)) problems.push(`paths ${path} and another differ only in parameter names`);
    shapes.add(shape);
    for (const [method, op] of Object.entries(item)) {
      if (!METHODS.includes(method)) {
        if (!['summary', 'description', 'parameters', 'servers', '$ref'].includes(method)) problems.push(`${path}: unknown field ${method}`);
        continue;
      }
      const o = op as Json;
      if (o.operationId !== undefined) {
        if (ids.has(String(o.operationId))) problems.push(`operationId ${o.operationId} twice`);
        ids.add(String(o.operationId));
      }
      checkOperation(o, `${method.toUpperCase()} ${path}`, template, problems);
    }
  }
  checkRefs(doc, doc, '#', problems);
  return problems;
}

function listed(doc: Json): string[] {
  return Object.entries(doc.paths as Record<string, Json>)
    .flatMap(([path, item]) => Object.keys(item).filter((m) => METHODS.includes(m)).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

describe('/openapi.json', () => {
  let cache = '';
  let clf: Classifier;
  let served: ServeApp;
  let doc: Json;

  before(async () => {
    cache = await mkdtemp(join(tmpdir(), 'pplcnet-serve-openapi-'));
    clf = await textlineClassifier(cache);
    served = await createServeApp([{ name: MODEL, classifier: clf }], { processMetrics: false, apiKey: 'k3y' });
    const res = await served.app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200, 'served without the API key');
    assert.match(String(res.headers['content-type']), /^application\/json/);
    doc = JSON.parse(res.body) as Json;
  });
  after(async () => {
    await served?.close();
    await clf?.close();
    await rm(cache, { recursive: true, force: true });
  });

  test('an OpenAPI 3.1 document that breaks none of the rules checked', () => {
    assert.deepEqual(openApiProblems(doc), []);
    assert.deepEqual((doc.components as Json).securitySchemes, { bearer: { type: 'http', scheme: 'bearer' } });
  });

  test('every route is listed with its method, and each listed route answers on the server', async () => {
    assert.deepEqual(listed(doc), ROUTES);
    for (const r of ROUTES) {
      const [method, path] = r.split(' ') as ['GET' | 'POST', string];
      assert.ok(served.app.hasRoute({ method, url: path.replace(/\{(\w+)\}/g, ':$1') }), `${r} is a route of the server`);
    }
    // the 405 routes are not documented, nor HEAD
    assert.ok(!listed(doc).some((r) => r.startsWith('PUT ') || r.startsWith('HEAD ')));
  });

  test('classify documents its bodies, its query (digits only) and the row of a multi-label model', () => {
    const op = (doc.paths as Record<string, Record<string, Json>>)['/v1/models/{name}/classify']!.post!;
    assert.deepEqual(Object.keys(((op.requestBody as Json).content as Json)).sort(), ['application/octet-stream', 'image/*', 'multipart/form-data']);
    const topk = (op.parameters as Json[]).find((p) => p.name === 'topk')!;
    assert.equal(topk.in, 'query');
    assert.equal((topk.schema as Json).pattern, '^[0-9]{1,9}$');
    const row = ((((op.responses as Json)['200'] as Json).content as Json)['application/json'] as { schema: { properties: { results: { items: { properties: Json } } } } }).schema.properties.results.items.properties;
    for (const k of ['file', 'model', 'topk', 'timings', 'labels', 'threshold', 'attributes', 'error']) assert.ok(k in row, k);
    const infer = (doc.paths as Record<string, Record<string, Json>>)['/v2/models/{name}/infer']!.post!;
    assert.ok(((infer.requestBody as Json).content as Json)['application/json']);
  });

  test('the checker finds each kind of defect in a damaged copy', () => {
    const broken = JSON.parse(JSON.stringify(doc)) as Json;
    const paths = broken.paths as Record<string, Record<string, Json>>;
    broken.openapi = '2.0';
    delete (paths['/v1/models']!.get!.responses as Record<string, Json>)['200']!.description;
    (paths['/v1/models/{name}']!.get!.parameters as Json[]).splice(0, 1);
    paths['/v1/models/{other}'] = { get: { responses: { '200': { description: 'x', content: { 'application/json': { schema: { $ref: '#/components/schemas/Nothing' } } } } } } };
    (paths['/metrics']!.get!.responses as Json)['2xx'] = { description: 'x' };
    paths['/v2']!.get!.parameters = [{ name: 'x', in: 'body', schema: { type: 'text' } }];
    const problems = openApiProblems(broken);
    for (const want of [/openapi must be 3\.1/, /GET \/v1\/models 200: a response needs a description/, /\{name\} is not declared/, /differ only in parameter names/, /leads nowhere/, /response code 2xx/, /'in' of/, /bad type "text"/]) {
      assert.ok(problems.some((p) => want.test(p)), `${want} in ${problems.join('\n')}`);
    }
  });
});
