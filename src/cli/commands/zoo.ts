/** `pplcnet pull` and `pplcnet zoo list|info|rm|path`. */
import { Command, InvalidArgumentError } from 'commander';
import { PplcnetError } from '../../errors.js';
import { formatBytes } from '../../util/fs.js';
import { defaultCacheDir } from '../../zoo/cache.js';
import { cacheState, modelDir, removeModel } from '../../zoo/pull.js';
import { type ZooEntry, findZooEntry, loadZoo } from '../../zoo/registry.js';
import type { CliContext } from '../context.js';
import { progressBar } from '../progress.js';

interface PullFlags {
  cacheDir?: string;
  mirror?: string;
  offline?: boolean;
  quiet: boolean;
  timeout?: number;
}

function parseSeconds(v: string): number {
  const s = Number(v);
  if (!(s > 0) || !Number.isFinite(s)) throw new InvalidArgumentError('expected a positive number of seconds');
  return s;
}

/** Options for commands that may download. @internal */
export function addPullOptions(cmd: Command): Command {
  return cmd
    .option('--mirror <url>', 'fetch from this server instead of the source host (default $PPLCNET_MIRROR)')
    .option('--offline', 'never touch the network (default: $PPLCNET_OFFLINE=1)')
    .option('-q, --quiet', 'no progress bar', false);
}

function entryOrFail(name: string): ZooEntry {
  const e = findZooEntry(name);
  if (!e) throw new PplcnetError('E_MODEL', `'${name}' is not a zoo model; 'pplcnet zoo list' shows them`);
  return e;
}

export function pullCommand(ctx: CliContext): Command {
  const cmd = new Command('pull').description('download a zoo model into the cache (resumable, checksummed) and convert it').argument('<names...>', 'zoo model names');
  addPullOptions(cmd)
    .option('--cache-dir <dir>', 'cache folder (default $PPLCNET_HOME or ~/.cache/pplcnet)')
    .option('--timeout <seconds>', 'fail a download after this long without data, or averaging under 1 kB/s over this long (default $PPLCNET_TIMEOUT or 30)', parseSeconds);
  return cmd.action(async (names: string[], flags: PullFlags) => {
    const { resolveModel } = await import('../../zoo/resolve.js');
    for (const name of names) {
      const entry = entryOrFail(name);
      const onProgress = progressBar(ctx.stderr, ctx.isTTY, flags.quiet);
      const r = await resolveModel(entry.name, {
        ...(flags.cacheDir ? { cacheDir: flags.cacheDir } : {}),
        ...(flags.mirror ? { mirror: flags.mirror } : {}),
        ...(flags.offline ? { offline: true } : {}),
        ...(flags.timeout ? { timeoutMs: flags.timeout * 1000 } : {}),
        onProgress,
        notice: (m) => ctx.stderr(`pplcnet: ${m}\n`),
      });
      ctx.stdout(`${entry.name}: ${r.path ?? '(in memory)'} (${formatBytes(r.bytes.length)} ONNX)\n`);
    }
  });
}

export function zooCommand(ctx: CliContext): Command {
  const zoo = new Command('zoo').description('the model zoo: list, info, rm, path');
  zoo
    .command('list')
    .description('every zoo model, its published figures and whether it is in the cache')
    .option('--json', 'machine-readable', false)
    .option('--cache-dir <dir>', 'cache folder')
    .action(async (flags: { json: boolean; cacheDir?: string }) => {
      const cacheDir = flags.cacheDir ?? defaultCacheDir();
      const rows = await Promise.all(loadZoo().map(async (e) => ({ e, s: await cacheState(e, cacheDir) })));
      if (flags.json) {
        ctx.stdout(`${JSON.stringify(rows.map(({ e, s }) => ({ ...e, state: s.state, cachedBytes: s.bytes })))}\n`);
        return;
      }
      const table = [
        ['name', 'state', 'format', 'params', 'FLOPs', 'top-1', 'description'],
        ...rows.map(({ e, s }) => [
          e.name,
          s.state,
          e.format,
          e.metrics.paramsM !== undefined ? `${e.metrics.paramsM}M` : '',
          e.metrics.flopsM !== undefined ? `${e.metrics.flopsM}M` : '',
          e.metrics.top1 !== undefined ? e.metrics.top1.toFixed(2) : '',
          e.description,
        ]),
      ];
      const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
      for (const r of table) ctx.stdout(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`);
    });
  zoo
    .command('info')
    .description('the full record of one model and its cache state')
    .argument('<name>')
    .option('--cache-dir <dir>', 'cache folder')
    .action(async (name: string, flags: { cacheDir?: string }) => {
      const e = entryOrFail(name);
      const cacheDir = flags.cacheDir ?? defaultCacheDir();
      const s = await cacheState(e, cacheDir);
      ctx.stdout(`${JSON.stringify({ ...e, state: s.state, folder: modelDir(cacheDir, e.name), cachedBytes: s.bytes, ...(s.record ? { source: s.record } : {}) }, null, 2)}\n`);
    });
  zoo
    .command('rm')
    .description('remove a pulled model and its converted ONNX from the cache')
    .argument('<names...>')
    .option('--cache-dir <dir>', 'cache folder')
    .action(async (names: string[], flags: { cacheDir?: string }) => {
      for (const n of names) {
        const removed = await removeModel(n, flags.cacheDir ? { cacheDir: flags.cacheDir } : {});
        ctx.stdout(`${n}: ${removed ? 'removed' : 'not in the cache'}\n`);
      }
    });
  zoo
    .command('path')
    .description("print the cache folder (or a model's folder in it)")
    .argument('[name]')
    .option('--cache-dir <dir>', 'cache folder')
    .action((name: string | undefined, flags: { cacheDir?: string }) => {
      const cacheDir = flags.cacheDir ?? defaultCacheDir();
      ctx.stdout(`${name ? modelDir(cacheDir, entryOrFail(name).name) : cacheDir}\n`);
    });
  return zoo;
}
