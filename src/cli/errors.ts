/** How the CLI reports errors and picks exit codes. @internal */
import { CommanderError } from './commander.js';
import { PplcnetError } from '../essentials.js';

/** Exit codes: 0 success, 1 a run-time failure (or some inputs failed), 2 bad usage or options. */
export const EXIT = Object.freeze({ ok: 0, failure: 1, usage: 2 });

/** Library option names → CLI flags, so errors name what the user typed. */
const FLAGS: Record<string, string> = {
  scale: '--scale',
  classNum: '--class-num',
  classExpand: '--class-expand',
  dropoutProb: '--dropout',
  act: '--act',
  strideList: '--stride-list',
  inputSize: '--input-size',
  opset: '--opset',
  batch: '--batch',
  seed: '--seed',
  outDir: '--output',
};

/** Rewrite "… for 'strideList[1]' …" as "… for '--stride-list' entry 1 …". */
export function toFlagMessage(message: string): string {
  return message.replace(/for '([A-Za-z]+)(?:\[(\d+)\])?'/, (m, name: string, index?: string) => {
    const flag = FLAGS[name];
    if (!flag) return m;
    return index === undefined ? `for '${flag}'` : `for '${flag}' entry ${index}`;
  });
}

/** Print an error and return the exit code. */
export function handleError(err: unknown, stderr: (s: string) => void): number {
  if (err instanceof CommanderError) {
    // commander already printed its message
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof TypeError || err instanceof RangeError) {
    stderr(`pplcnet: error: ${toFlagMessage(err.message)}\n`);
    return EXIT.usage;
  }
  if (err instanceof PplcnetError) {
    stderr(`pplcnet: error: ${err.message}\n`);
    return EXIT.failure;
  }
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && e.message) {
    stderr(`pplcnet: error: ${e.message}\n`);
    return EXIT.failure;
  }
  stderr(`pplcnet: internal error: ${e?.stack ?? String(err)}\n`);
  return EXIT.failure;
}
