/**
 * The whole `pplcnet` command line: every command (each lives in `commands/`), each loaded on its own, so a
 * run of one command loads only that command's modules (`pplcnet predict` starts without the server, the
 * queue or the trainer).
 */
import type { Command } from './commander.js';
import type { CliContext } from './context.js';
import { programWith } from './shell.js';

type Loader = (ctx: CliContext) => Promise<Command>;

/** Every command, in the order `pplcnet --help` lists them. */
export const COMMANDS: Readonly<Record<string, Loader>> = Object.freeze({
  predict: async (ctx) => (await import('./commands/predict.js')).predictCommand(ctx),
  convert: async (ctx) => (await import('./commands/convert.js')).convertCommand(ctx),
  inspect: async (ctx) => (await import('./commands/inspect.js')).inspectCommand(ctx),
  build: async (ctx) => (await import('./commands/build.js')).buildCommand(ctx),
  pull: async (ctx) => (await import('./commands/pull.js')).pullCommand(ctx),
  zoo: async (ctx) => (await import('./commands/zoo.js')).zooCommand(ctx),
  cache: async (ctx) => (await import('./commands/cache.js')).cacheCommand(ctx),
  bench: async (ctx) => (await import('./commands/bench.js')).benchCommand(ctx),
  compare: async (ctx) => (await import('./commands/compare.js')).compareCommand(ctx),
  embed: async (ctx) => (await import('./commands/embed.js')).embedCommand(ctx),
  split: async (ctx) => (await import('./commands/split.js')).splitCommand(ctx),
  train: async (ctx) => (await import('./commands/train.js')).trainCommand(ctx),
  eval: async (ctx) => (await import('./commands/eval.js')).evalCommand(ctx),
  serve: async (ctx) => (await import('./commands/serve.js')).serveCommand(ctx),
  'export-web': async (ctx) => (await import('./commands/export-web.js')).exportWebCommand(ctx),
  queue: async (ctx) => (await import('./commands/queue.js')).queueCommand(ctx),
  worker: async (ctx) => (await import('./commands/worker.js')).workerCommand(ctx),
} satisfies Record<string, Loader>);

/**
 * The program for `argv`: a command named first, alone; `--version` with no command at all; anything else
 * (help, a mistyped command) every command, so help lists them and a mistake gets its suggestion.
 */
export async function createProgram(ctx: CliContext, argv: readonly string[] = []): Promise<Command> {
  const first = argv[0] ?? '';
  if (Object.hasOwn(COMMANDS, first)) return programWith(ctx, [await COMMANDS[first]!(ctx)]);
  if (argv.length === 1 && (first === '--version' || first === '-V')) return programWith(ctx, []);
  return programWith(ctx, await Promise.all(Object.values(COMMANDS).map((load) => load(ctx))));
}
