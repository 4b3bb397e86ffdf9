/** The whole `pplcnet` command line: every command (each lives in `commands/`). */
import type { Command } from './commander.js';
import { benchCommand } from './commands/bench.js';
import { buildCommand } from './commands/build.js';
import { cacheCommand } from './commands/cache.js';
import { compareCommand } from './commands/compare.js';
import { convertCommand } from './commands/convert.js';
import { exportWebCommand } from './commands/export-web.js';
import { embedCommand } from './commands/embed.js';
import { evalCommand } from './commands/eval.js';
import { inspectCommand } from './commands/inspect.js';
import { predictCommand } from './commands/predict.js';
import { pullCommand } from './commands/pull.js';
import { queueCommand } from './commands/queue.js';
import { serveCommand } from './commands/serve.js';
import { splitCommand } from './commands/split.js';
import { trainCommand } from './commands/train.js';
import { workerCommand } from './commands/worker.js';
import { zooCommand } from './commands/zoo.js';
import type { CliContext } from './context.js';
import { programWith } from './shell.js';

export function createProgram(ctx: CliContext): Command {
  return programWith(ctx, [predictCommand(ctx), convertCommand(ctx), inspectCommand(ctx), buildCommand(ctx), pullCommand(ctx), zooCommand(ctx), cacheCommand(ctx), benchCommand(ctx), compareCommand(ctx), embedCommand(ctx), splitCommand(ctx), trainCommand(ctx), evalCommand(ctx), serveCommand(ctx), exportWebCommand(ctx), queueCommand(ctx), workerCommand(ctx)]);
}
