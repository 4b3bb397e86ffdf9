/** Shared setup of the serve tests: the shipped text-line model, fixture images, hand-made PNG headers. */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import sharp from 'sharp';
import { type Classifier, createClassifier } from '../../../src/classifier.js';
import type { ServeApp } from '../../../src/serve/app.js';
import { FIXTURES } from '../../fixtures/index.js';

/** The text-line classifier, converted into `cacheDir`; one thread, one preprocessing worker. */
export function textlineClassifier(cacheDir: string): Promise<Classifier> {
  return createClassifier({ model: 'PP-LCNet_x0_25_textline_ori', cacheDir, ep: 'cpu', threads: 1, workers: 1 });
}

export const MODEL = 'PP-LCNet_x0_25_textline_ori';

/** A row without its timings, as JSON text. */
export const withoutTimings = (row: object): string => JSON.stringify({ ...row, timings: undefined });

/** A multipart upload of the given files: [name, bytes], PNG or else JPEG by the name. */
export function upload(files: [string, Uint8Array][]): FormData {
  const form = new FormData();
  for (const [name, bytes] of files) form.append('file', new Blob([new Uint8Array(bytes)], { type: name.endsWith('.png') ? 'image/png' : 'image/jpeg' }), name);
  return form;
}

/** `form` POSTed to `url` through fastify's inject (no socket), with the body and headers a client sends. */
export async function injectForm(app: ServeApp, url: string, form: FormData): Promise<LightMyRequestResponse> {
  const req = new Request('http://x/', { method: 'POST', body: form });
  return app.app.inject({ method: 'POST', url, headers: Object.fromEntries(req.headers), payload: Buffer.from(await req.arrayBuffer()) });
}

/** The 20 rendered text lines, sorted: [name, bytes]. */
export async function textlines(): Promise<[string, Buffer][]> {
  const names = (await readdir(FIXTURES.textlines)).filter((f) => f.endsWith('.png')).sort();
  return Promise.all(names.map(async (n) => [n, await readFile(join(FIXTURES.textlines, n))] as [string, Buffer]));
}

/** 32 different images: the 20 text lines, and 12 of them mirrored left-right and saved as JPEG. */
export async function thirtyTwoImages(): Promise<[string, Buffer][]> {
  const lines = await textlines();
  const extra = await Promise.all(lines.slice(0, 12).map(async ([n, b]) => [n.replace('.png', '_flop.jpg'), await sharp(b).flop().jpeg({ quality: 90 }).toBuffer()] as [string, Buffer]));
  return [...lines, ...extra];
}

/** Values of one metric family's samples from Prometheus text, by their label string. */
export function metricSamples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m && m[1] === name) out.set(m[2] ?? '', Number(m[3]));
  }
  return out;
}
