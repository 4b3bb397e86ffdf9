/** `pplcnet cache ls|rm|prune`: what the cache holds (zoo models, models converted from your files, leftovers) and removing it. */
import { Command, InvalidArgumentError } from '../commander.js';
import { type CacheItem, PplcnetError, formatBytes, listCache, pruneCache, removeFromCache } from '../../index.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../errors.js';
import { type CacheFlags, addCacheOption, cacheOptionsFrom } from '../options.js';
import { formatTable } from '../table.js';

const UNITS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `30d`, `12h`, `90m`, `2w`; a bare number is days. */
export function parseDuration(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([mhdw]?)\s*$/i.exec(value);
  if (!m) throw new InvalidArgumentError(`Expected a duration such as 30d, 12h, 90m or 2w but received ${JSON.stringify(value)}.`);
  return Number(m[1]) * UNITS[(m[2] || 'd').toLowerCase()]!;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function age(ms: number, now: number): string {
  if (!ms) return '';
  const d = (now - ms) / 86_400_000;
  return d < 1 / 24 ? 'just now' : d < 1 ? `${Math.round(d * 24)} h ago` : `${Math.round(d)} d ago`;
}

function source(i: CacheItem): string {
  if (i.kind === 'zoo') return i.complete ? 'zoo model' : "zoo model, not pulled completely ('pplcnet pull' resumes it)";
  if (i.kind === 'leftover') return 'leftover';
  const s = i.record?.sources.map((x) => x.source).join(', ') ?? 'unknown source (converted before sources were recorded)';
  return i.stale ? `${s} (stale: ${i.stale})` : s;
}

export function cacheCommand(ctx: CliContext): Command {
  const ls = new Command('ls').description('everything in the cache: zoo models, models converted from your files (with their source), leftovers').option('--json', 'machine-readable', false);
  addCacheOption(ls).action(async (flags: CacheFlags & { json: boolean }) => {
    const items = await listCache(cacheOptionsFrom(flags));
    if (flags.json) {
      ctx.stdout(`${JSON.stringify(items)}\n`);
      return;
    }
    const now = Date.now();
    const rows = items.map((i) => [i.kind, i.id, formatBytes(i.bytes), age(i.lastUsedMs, now), source(i)]);
    const total = items.reduce((n, i) => n + i.bytes, 0);
    ctx.stdout(formatTable([['kind', 'id', 'size', 'last use', 'source'], ...rows]));
    ctx.stdout(`${plural(items.length, 'item')}, ${formatBytes(total)}; remove one with 'pplcnet cache rm <id|source path>', or clean up with 'pplcnet cache prune'\n`);
  });

  const rm = new Command('rm').description('remove cached items: a zoo model name, a converted model id (key), the source path it was converted from, or a leftover').argument('<targets...>');
  addCacheOption(rm).action(async (targets: string[], flags: CacheFlags) => {
    let failed = 0;
    for (const t of targets) {
      try {
        const removed = await removeFromCache(t, cacheOptionsFrom(flags));
        for (const i of removed) ctx.stdout(`removed ${i.kind} ${i.id} (${formatBytes(i.bytes)}): ${i.path}\n`);
      } catch (err) {
        if (!(err instanceof PplcnetError)) throw err;
        ctx.stderr(`pplcnet: error: ${err.message}\n`);
        failed++;
      }
    }
    if (failed) process.exitCode = EXIT.failure;
  });

  const prune = new Command('prune')
    .description('remove models converted from files that no longer exist (or changed), leftovers (.partial, .rejected, temp files) and, with --older-than, converted models not used for that long')
    .option('--older-than <age>', 'also remove converted models not used for this long: 30d, 12h, 2w', parseDuration)
    .option('--dry-run', 'list what would be removed; remove nothing', false)
    .option('--json', 'machine-readable', false);
  addCacheOption(prune).action(async (flags: CacheFlags & { olderThan?: number; dryRun: boolean; json: boolean }) => {
    const pruned = await pruneCache({ ...cacheOptionsFrom(flags), ...(flags.olderThan !== undefined ? { olderThanMs: flags.olderThan } : {}), dryRun: flags.dryRun });
    if (flags.json) {
      ctx.stdout(`${JSON.stringify(pruned)}\n`);
      return;
    }
    const verb = flags.dryRun ? 'would remove' : 'removed';
    for (const i of pruned) ctx.stdout(`${verb} ${i.kind} ${i.id} (${formatBytes(i.bytes)}): ${i.reason}\n`);
    ctx.stdout(`${flags.dryRun ? 'would free' : 'freed'} ${formatBytes(pruned.reduce((n, i) => n + i.bytes, 0))} in ${plural(pruned.length, 'item')}\n`);
  });

  ls.addHelpText('after', '\nExamples:\n  pplcnet cache ls\n  pplcnet cache ls --json --cache-dir /data/pplcnet\n');
  rm.addHelpText('after', '\nExamples:\n  pplcnet cache rm ./PULC_textline.pdparams   # every model converted from this file\n  pplcnet cache rm ff1de757c62b               # one converted model, by the id cache ls shows\n  pplcnet cache rm PPLCNet_x1_0               # a pulled zoo model\n');
  prune.addHelpText('after', '\nExamples:\n  pplcnet cache prune --dry-run\n  pplcnet cache prune --older-than 30d\n');
  return new Command('cache').description('the cache: ls, rm, prune').addCommand(ls).addCommand(rm).addCommand(prune);
}
