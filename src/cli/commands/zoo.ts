/** `pplcnet zoo list|info|rm|path`: the model zoo and the cache. */
import { Command } from '../commander.js';
import { formatBytes, listZoo, removeModel, zooModelInfo, zooPath } from '../../index.js';
import type { CliContext } from '../context.js';
import { type CacheFlags, addCacheOption, cacheOptionsFrom } from '../options.js';
import { formatTable } from '../table.js';
import { STATE_WORDS, formatZooInfo } from '../zoo-info.js';

export function zooCommand(ctx: CliContext): Command {
  const list = new Command('list').description('every zoo model, its published figures and whether it is in the cache').option('--json', 'machine-readable', false);
  addCacheOption(list).action(async (flags: CacheFlags & { json: boolean }) => {
    const models = await listZoo(cacheOptionsFrom(flags));
    if (flags.json) {
      ctx.stdout(`${JSON.stringify(models)}\n`);
      return;
    }
    const rows = models.map((e) => [
      e.name,
      STATE_WORDS[e.state],
      e.format === 'packaged' ? 'shipped' : e.format,
      e.sizeBytes !== undefined ? formatBytes(e.sizeBytes) : '',
      e.metrics.paramsM !== undefined ? `${e.metrics.paramsM}M` : '',
      e.metrics.flopsM !== undefined ? `${e.metrics.flopsM}M` : '',
      e.metrics.top1 !== undefined ? e.metrics.top1.toFixed(2) : '',
      e.description,
    ]);
    ctx.stdout(formatTable([['name', 'state', 'format', 'size', 'params', 'FLOPs', 'top-1', 'description'], ...rows]));
    ctx.stdout(
      [
        '',
        "state: shipped = ships with pplcnet (converted into the cache on first use); pulled = downloaded into the cache; remote = downloaded on first use or by 'pplcnet pull <name>'",
        'size: in the cache, download and converted ONNX (pulled); the download, where its publisher gives it (remote; blank when unknown); the shipped files (shipped)',
        `cache: ${zooPath(undefined, cacheOptionsFrom(flags))}; 'pplcnet cache ls' lists everything in it, models converted from your own files included`,
        '',
      ].join('\n'),
    );
  });

  const info = new Command('info').description('the full record of one model and its cache state').argument('<name>').option('--json', 'the record as JSON', false);
  addCacheOption(info).action(async (name: string, flags: CacheFlags & { json: boolean }) => {
    const record = await zooModelInfo(name, cacheOptionsFrom(flags));
    ctx.stdout(flags.json ? `${JSON.stringify(record, null, 2)}\n` : formatZooInfo(record));
  });

  const rm = new Command('rm').description('remove a pulled model and its converted ONNX from the cache').argument('<names...>');
  addCacheOption(rm).action(async (names: string[], flags: CacheFlags) => {
    for (const n of names) {
      const removed = await removeModel(n, cacheOptionsFrom(flags));
      ctx.stdout(`${n}: ${removed ? 'removed' : 'not in the cache'}\n`);
    }
  });

  const path = new Command('path').description("print the cache folder (or a model's folder in it)").argument('[name]');
  addCacheOption(path).action((name: string | undefined, flags: CacheFlags) => {
    ctx.stdout(`${zooPath(name, cacheOptionsFrom(flags))}\n`);
  });

  return new Command('zoo').description('the model zoo: list, info, rm, path').addCommand(list).addCommand(info).addCommand(rm).addCommand(path);
}
