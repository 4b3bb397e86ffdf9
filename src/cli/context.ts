/** What a command writes to and reads from; tests pass their own. @internal */
import { FILE_LIMITS, readStreamBounded } from '../essentials.js';

export interface CliContext {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stderr is a terminal (progress bars are drawn only then). */
  isTTY: boolean;
  /** All of standard input (for `predict -`), at most `limit` bytes. */
  readStdin?(limit: number): Promise<Uint8Array>;
}

export function processContext(): CliContext {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stderr.isTTY),
    readStdin: async (limit) => {
      // a terminal would wait for bytes nobody types
      if (process.stdin.isTTY) throw new RangeError("'-' reads one image from standard input, which is a terminal here: pipe an image in (cat x.png | pplcnet predict -m MODEL -)");
      return readStreamBounded(process.stdin, { ...FILE_LIMITS.stdinImage, maxBytes: limit }, 'standard input');
    },
  };
}
