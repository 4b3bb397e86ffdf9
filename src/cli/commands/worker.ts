/** `pplcnet worker`: classify the images of a queue on Redis until stopped (SIGTERM: finish the job, exit 0). */
import { Command } from '../commander.js';
import type { DecodeMode } from '../../index.js';
import { startImageWorker } from '../../queue/index.js';
import type { CliContext } from '../context.js';
import { EXIT } from '../errors.js';
import { type ModelSourceFlags, type SessionFlags, addBatchSizeOption, addDecodeOption, addModelSourceOptions, addQueueTargetOptions, addSessionOptions, decodeOptionFrom, modelSourceOptionsFrom, redisUrl, sessionOptionsFrom } from '../options.js';
import { parseInteger, parsePositiveInteger } from '../parse.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

interface WorkerFlags extends SessionFlags, ModelSourceFlags {
  decode: DecodeMode;
  redis?: string;
  queue: string;
  concurrency: number;
  batchSize: number;
  workers?: number;
  lockMs: number;
  untilEmpty: boolean;
}

export function workerCommand(ctx: CliContext): Command {
  const cmd = new Command('worker')
    .description('take jobs from a queue (pplcnet queue add) and store one result row per image; SIGTERM finishes the current job and exits 0')
    .option('--concurrency <n>', 'jobs at once in this process', parsePositiveInteger, 1)
    .option('--workers <n>', 'preprocessing threads (0: main thread; default: planned from the core count)', parseInteger)
    .option('--lock-ms <ms>', "a job's lock; a dead worker's job is taken over within about twice this", parsePositiveInteger, 30_000)
    .option('--until-empty', 'exit once no job is waiting, delayed or active: 0, or 1 when a job failed here', false);
  addBatchSizeOption(cmd);
  addDecodeOption(cmd);
  addQueueTargetOptions(cmd);
  addSessionOptions(cmd);
  addModelSourceOptions(cmd); // -q: no per-job lines (connection messages and failures are still printed)
  return cmd.action(async (flags: WorkerFlags) => {
    const say = (m: string): void => ctx.stderr(`pplcnet: ${m}\n`);
    const worker = await startImageWorker({
      redis: redisUrl(flags),
      queue: flags.queue,
      concurrency: flags.concurrency,
      batchSize: flags.batchSize,
      lockMs: flags.lockMs,
      untilEmpty: flags.untilEmpty,
      ...sessionOptionsFrom(flags, ctx),
      ...modelSourceOptionsFrom(flags, ctx),
      ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
      ...decodeOptionFrom(flags),
      log: (m) => {
        if (!flags.quiet || !m.startsWith('job ') || m.includes('failed')) say(m);
      },
      notice: say,
    });
    say(`worker on queue '${flags.queue}' at ${worker.target.display} (concurrency ${flags.concurrency}, pid ${process.pid})`);
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (++signals > 1) {
        say(`${sig} again: exiting now; the job in hand goes to another worker when its lock expires`);
        process.exit(1);
      }
      say(`${sig}: finishing the job in hand, then exiting`);
      void worker.close();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      await worker.done;
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
    const failed = worker.jobsFailed;
    say(`worker stopped after ${plural(worker.jobsDone, 'job')}${failed ? `; ${plural(failed, 'job')} failed (pplcnet queue status shows why, pplcnet queue retry puts them back)` : ''}`);
    // the queue was not emptied as asked: the run failed
    if (flags.untilEmpty && failed > 0) process.exitCode = EXIT.failure;
  });
}
