/** `pplcnet queue add|status|results|retry`: feed and read an image queue on Redis (BullMQ). */
import { lstat } from 'node:fs/promises';
import { Command } from '../commander.js';
import { FILE_LIMITS, PplcnetError, checkModelArgument, expandImageInputs, readStreamBounded, readTextBounded } from '../../index.js';
import { type AddReport, type ImageQueue as ImageQueueType, ImageQueue, type QueueStatus } from '../../queue/index.js';
import { EXIT } from '../errors.js';
import type { CliContext } from '../context.js';
import { addQueueTargetOptions, redisUrl, requireModel } from '../options.js';
import { parseInteger, parsePositiveInteger } from '../parse.js';

interface TargetFlags {
  redis?: string;
  queue: string;
}

async function withQueue<T>(flags: TargetFlags, fn: (q: ImageQueueType) => Promise<T>): Promise<T> {
  const q = await ImageQueue.open({ redis: redisUrl(flags), queue: flags.queue });
  try {
    return await fn(q);
  } finally {
    await q.close();
  }
}

function duration(s: number): string {
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  return `${h}:${String(m).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
}

function formatStatus(s: QueueStatus): string {
  const lines = [
    `queue '${s.queue}' at ${s.redis}`,
    `images   ${s.images} added: ${s.done} done${s.errors ? ` (${s.errors} unreadable)` : ''}, ${s.active} active, ${s.waiting} waiting, ${s.failed} failed`,
    `jobs     ${s.jobs.waiting} waiting, ${s.jobs.active} active, ${s.jobs.delayed} delayed (retry backoff), ${s.jobs.failed} failed${s.workers === undefined ? '' : `; ${s.workers} worker(s) connected`}`,
    `rate     ${s.imagesPerSecond === undefined ? 'idle (nothing stored in the last minute)' : `${s.imagesPerSecond.toFixed(1)} img/s over the last minute`}${s.etaSeconds === undefined ? '' : `; ETA ${duration(s.etaSeconds)}`}`,
    `results  ${s.stored} row(s) in Redis (pplcnet queue results -o FILE [--delete])`,
  ];
  for (const r of s.failedReasons) lines.push(`failed   ${r}`);
  return `${lines.join('\n')}\n`;
}

interface AddFlags extends TargetFlags {
  list?: string;
  model?: string;
  topk?: number;
  jobSize: number;
  again: boolean;
  attempts: number;
  backoffMs: number;
  check: boolean;
  json: boolean;
}

/**
 * The images of `queue add`: its arguments expanded (a named file or folder that does not exist is an error
 * unless --no-check; what is not a regular file is skipped and said), then the lines of --list.
 */
async function collectImages(images: string[], flags: AddFlags, ctx: CliContext): Promise<string[]> {
  const { files, skipped } = await expandImageInputs(images);
  if (flags.check) {
    const missing = [];
    for (const f of new Set(files.filter((f) => images.includes(f)))) if (!(await lstat(f).catch(() => undefined))) missing.push(f);
    if (missing.length) {
      throw new PplcnetError('E_IO', `no such file or folder: ${missing.join(', ')}; give images that exist here (or --no-check when only the workers see them)`);
    }
  }
  for (const s of skipped) ctx.stderr(`pplcnet: skipped ${s.path}: ${s.reason}\n`);
  if (flags.list) {
    // bounded (FILE_LIMITS.list): a FIFO or device given by name is refused, an endless standard input stopped
    const text =
      flags.list === '-'
        ? Buffer.from(await readStreamBounded(process.stdin, FILE_LIMITS.list, '--list - (standard input)')).toString('utf8')
        : await readTextBounded(flags.list, FILE_LIMITS.list, `cannot read --list ${flags.list}`);
    for (const line of text.split(/\r?\n/)) if (line.trim() !== '') files.push(line.trim());
  }
  if (files.length === 0) throw new PplcnetError('E_IO', `no images found in ${[...images, ...(flags.list ? [flags.list] : [])].join(', ')}`);
  return files;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function formatAdded(report: AddReport, queue: string): string {
  const before = report.jobs - report.addedJobs;
  const lines = [
    `queued ${plural(report.addedImages, 'image')} in ${plural(report.addedJobs, 'job')} on '${queue}'` +
      (before ? `; ${plural(before, 'job')} (${plural(report.images - report.addedImages, 'image')}) were added before (--again adds them again)` : ''),
  ];
  if (report.duplicates) {
    const e = report.duplicateExamples[0]!;
    lines.push(`left out ${plural(report.duplicates, 'duplicate path')}: the same file as one listed before (e.g. ${e.path} is ${e.sameAs})`);
  }
  if (report.missing) lines.push(`${report.missing === 1 ? '1 listed path does' : `${report.missing} listed paths do`} not exist on this machine: each gets an error row unless the workers see it`);
  return `${lines.join('\n')}\n`;
}

export function queueCommand(ctx: CliContext): Command {
  const group = new Command('queue').description('classify images across machines: a BullMQ queue on Redis (see also: pplcnet worker)');

  const add = new Command('add')
    .description('enqueue images (files, folders, globs, or --list) as jobs of --job-size images')
    .argument('[images...]', 'image files, folders (searched recursively) or glob patterns, as every worker sees them')
    .option('--list <file>', "a file of image paths, one per line ('-': standard input)")
    .option('-m, --model <name|path>', 'zoo name or model path every worker can read (default $PPLCNET_MODEL)')
    .option('-k, --topk <n>', "classes per image (default: the model's, else 5)", parsePositiveInteger)
    .option('--job-size <n>', 'images per job', parsePositiveInteger, 64)
    .option('--again', 'enqueue again jobs that were added before (by default the same inputs are enqueued once)', false)
    .option('--attempts <n>', 'attempts per job when its model cannot be loaded', parsePositiveInteger, 3)
    .option('--backoff-ms <ms>', 'delay before the first retry, doubled each attempt', parseInteger, 5000)
    .option('--no-check', 'do not check here that the model and the named images exist (for workers that see files this machine does not)')
    .option('--json', 'print the summary as JSON', false);
  addQueueTargetOptions(add).action(async (images: string[], flags: AddFlags, cmd: Command) => {
    const model = requireModel(flags);
    if (images.length === 0 && !flags.list) cmd.error('error: no images given: pass files, folders or globs, or --list FILE', { exitCode: EXIT.usage, code: 'pplcnet.missingImages' });
    if (flags.check) await checkModelArgument(model); // before the images, which may take a while to list
    const files = await collectImages(images, flags, ctx);
    const report = await withQueue(flags, (q) =>
      q.add(files, { model, jobSize: flags.jobSize, again: flags.again, attempts: flags.attempts, backoffMs: flags.backoffMs, checkModel: false, ...(flags.topk ? { topk: flags.topk } : {}) }),
    );
    if (flags.json) ctx.stdout(`${JSON.stringify(report)}\n`);
    else ctx.stdout(formatAdded(report, flags.queue));
  });

  const status = new Command('status').description('waiting/active/done/failed images, img/s and ETA').option('--json', 'print as JSON', false);
  addQueueTargetOptions(status).action(async (flags: TargetFlags & { json: boolean }) => {
    const s = await withQueue(flags, (q) => q.status());
    ctx.stdout(flags.json ? `${JSON.stringify(s)}\n` : formatStatus(s));
  });

  const results = new Command('results')
    .description("export every image's row once (predict --json rows; {file, error} for unreadable images)")
    .option('-o, --output <file>', 'write JSON lines here (atomically: temp file + rename); default standard output')
    .option('--delete', 'remove the exported rows from Redis afterwards', false);
  addQueueTargetOptions(results).action(async (flags: TargetFlags & { output?: string; delete: boolean }) => {
    const report = await withQueue(flags, (q) =>
      flags.output ? q.exportResultsToFile(flags.output, { deleteRows: flags.delete }) : q.exportResults((line) => ctx.stdout(`${line}\n`), { deleteRows: flags.delete }),
    );
    ctx.stderr(
      `pplcnet: wrote ${report.rows} row(s)${report.errors ? ` (${report.errors} error rows)` : ''}${flags.output ? ` to ${flags.output}` : ''}` +
        (flags.delete ? `; removed ${report.deleted} from Redis` : '') +
        '\n',
    );
    if (report.bad) {
      const shown = report.badRows.map((b) => `\n  ${JSON.stringify(b.key)} ${b.problem}`).join('');
      ctx.stderr(`pplcnet: error: ${report.bad} ${report.bad === 1 ? 'entry' : 'entries'} of the results hash ${report.bad === 1 ? 'is' : 'are'} not a row a worker writes: not written${flags.delete ? ', not removed' : ''}:${shown}${report.bad > report.badRows.length ? '\n  …' : ''}\n`);
      process.exitCode = EXIT.failure;
    }
  });

  const retry = new Command('retry').description('move failed jobs back to waiting');
  addQueueTargetOptions(retry).action(async (flags: TargetFlags) => {
    const r = await withQueue(flags, (q) => q.retry());
    ctx.stdout(`moved ${r.jobs} failed job(s) (${r.images} images) back to waiting\n`);
  });

  for (const c of [add, status, results, retry]) group.addCommand(c);
  return group;
}
