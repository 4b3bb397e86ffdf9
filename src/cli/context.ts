/** What a command writes to and reads from; tests pass their own. @internal */
import { PplcnetError } from '../index.js';

export interface CliContext {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stderr is a terminal (progress bars are drawn only then). */
  isTTY: boolean;
  /** All of standard input (for `predict -`), at most `limit` bytes. */
  readStdin?(limit: number): Promise<Uint8Array>;
}

/** Read a stream to its end; more than `limit` bytes is an error naming the limit. */
async function readAll(stream: NodeJS.ReadableStream, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of stream) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    n += b.length;
    if (n > limit) throw new PplcnetError('E_IO', `standard input holds more than ${limit} bytes; 'predict -' reads one image (save larger ones to a file)`);
    chunks.push(b);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

export function processContext(): CliContext {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stderr.isTTY),
    readStdin: async (limit) => {
      // a terminal would wait for bytes nobody types
      if (process.stdin.isTTY) throw new RangeError("'-' reads one image from standard input, which is a terminal here: pipe an image in (cat x.png | pplcnet predict -m MODEL -)");
      return readAll(process.stdin, limit);
    },
  };
}
