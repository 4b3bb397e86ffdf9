/** `zoo info`'s readable view of one zoo record: one line per field, compact values. @internal */
import { type ZooModelInfo, formatBytes, shortestFloat32 } from '../index.js';
import { formatTable } from './table.js';

/** What a user reads for each cache state and record format (the JSON keeps the library's words). */
export const STATE_WORDS: Readonly<Record<ZooModelInfo['state'], string>> = Object.freeze({ packaged: 'shipped', pulled: 'pulled', remote: 'remote' });
const FORMAT_WORDS: Readonly<Record<ZooModelInfo['format'], string>> = Object.freeze({
  packaged: 'shipped with pplcnet (a Paddle inference model)',
  pdparams: 'PaddleClas dygraph weights (.pdparams)',
  inference: 'Paddle inference model archive (.tar)',
});
const STATE_HELP: Readonly<Record<ZooModelInfo['state'], string>> = Object.freeze({
  packaged: 'ships with pplcnet; converted into the cache on first use',
  pulled: 'downloaded into the cache',
  remote: "downloaded on first use, or by 'pplcnet pull'",
});

/** A value on one line: numbers at float32 precision, arrays as `a, b`, objects as `key value, …`. */
function compact(v: unknown): string {
  if (typeof v === 'number') return String(shortestFloat32(v));
  if (Array.isArray(v)) return v.every((x) => typeof x !== 'object' || x === null) ? v.map(compact).join(', ') : JSON.stringify(v);
  if (v && typeof v === 'object') return Object.entries(v).map(([k, x]) => `${k} ${Array.isArray(x) ? JSON.stringify(x) : compact(x)}`).join(', ');
  return String(v);
}

function preprocessLine(p: NonNullable<ZooModelInfo['preprocess']>): string {
  const r = p.resize;
  const resize = r.mode === 'short' ? `resize short side to ${r.size}` : `resize to ${r.width}x${r.height}`;
  const crop = p.crop ? `, crop ${p.crop.height}x${p.crop.width}` : '';
  return `${resize}${crop} (${p.interpolation}), ${p.channelOrder}, mean ${compact(p.mean)}, std ${compact(p.std)}`;
}

function metricsLine(m: ZooModelInfo['metrics']): string {
  const parts: string[] = [];
  if (m.paramsM !== undefined) parts.push(`params ${m.paramsM}M`);
  if (m.flopsM !== undefined) parts.push(`FLOPs ${m.flopsM}M`);
  if (m.top1 !== undefined) parts.push(`top-1 ${m.top1}%`);
  if (m.top5 !== undefined) parts.push(`top-5 ${m.top5}%`);
  if (m.meanAccuracy !== undefined) parts.push(`mA ${m.meanAccuracy}`);
  if (m.latencyMs !== undefined) parts.push(`latency ${m.latencyMs} ms${m.hardware ? ` (${m.hardware})` : ''}`);
  const known = new Set(['paramsM', 'flopsM', 'top1', 'top5', 'meanAccuracy', 'latencyMs', 'hardware']);
  for (const [k, v] of Object.entries(m)) if (!known.has(k) && v !== undefined) parts.push(`${k} ${compact(v)}`);
  return parts.join(', ');
}

/** Where the model is: a shipped model's files and its conversions, or a pulled model's cache folder. */
function cacheRows(e: ZooModelInfo): [string, string][] {
  if (e.state !== 'packaged') return [['cache', `${e.folder} (${formatBytes(e.cachedBytes)})`]];
  const rows: [string, string][] = e.packaged ? [['files', e.packaged]] : [];
  if (e.converted.length === 0) return [...rows, ['cache', 'not converted yet (0 B)']];
  return [...rows, ['cache', `${formatBytes(e.cachedBytes)}: ${e.converted.join(', ')}`]];
}

/** The record as `field  value` lines; fields the view does not know are shown compactly, never dropped. */
export function formatZooInfo(e: ZooModelInfo): string {
  const rows: [string, string][] = [
    ['name', e.name],
    ['description', e.description],
  ];
  if (e.aliases.length) rows.push(['aliases', e.aliases.join(', ')]);
  rows.push(['state', `${STATE_WORDS[e.state]}: ${STATE_HELP[e.state]}`], ['format', FORMAT_WORDS[e.format] ?? e.format]);
  e.urls.forEach((u, i) => rows.push([i === 0 ? 'download' : 'mirror', u]));
  if (e.sizeBytes !== undefined) rows.push(['size', formatBytes(e.sizeBytes)]);
  if (e.sha256) rows.push(['sha256', e.sha256]);
  if (e.inputSize) rows.push(['input', `${e.inputSize[0]}x${e.inputSize[1]} (height x width)`]);
  if (e.preprocess) rows.push(['preprocess', preprocessLine(e.preprocess)]);
  if (e.labels) rows.push(['labels', e.labels === 'imagenet1k' ? 'ImageNet-1k (1000 classes)' : `${e.labels.length}: ${e.labels.slice(0, 5).join(', ')}${e.labels.length > 5 ? ', …' : ''}`]);
  const figures = metricsLine(e.metrics);
  if (figures) rows.push(['published', figures]);
  rows.push(['license', e.license], ...cacheRows(e));
  if (e.source) rows.push(['source', `${e.source.url}, sha256 ${e.source.sha256}, ${formatBytes(e.source.bytes)}, ${compact(e.source.verified)}`]);
  const shown = new Set(['name', 'description', 'aliases', 'state', 'format', 'urls', 'sizeBytes', 'sha256', 'inputSize', 'preprocess', 'labels', 'metrics', 'license', 'folder', 'cachedBytes', 'converted', 'source', 'packaged']);
  for (const [k, v] of Object.entries(e)) if (!shown.has(k) && v !== undefined) rows.push([k, compact(v)]);
  return formatTable(rows);
}
