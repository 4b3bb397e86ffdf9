/** A lock file so that two processes pulling the same model do not write over each other. */
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PplcnetError } from '../errors.js';
import { FILE_LIMITS } from '../util/file-limits.js';
import { readTextBounded } from '../util/fs.js';

/** Whether a process with this id runs (one of another user's counts). @internal */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Take `<path>` exclusively (O_EXCL), waiting while another live process holds it. A lock left by a dead
 * process, or older than `staleMs`, is taken over. Resolves to a release function.
 */
export async function acquireLock(path: string, { waitMs = 10 * 60_000, staleMs = 30 * 60_000, pollMs = 100 } = {}): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return async () => {
        await rm(path, { force: true });
      };
    } catch (err) {
      // the folder went away (a failed pull of another process removes its empty folder): make it again
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && Date.now() < deadline) {
        await mkdir(dirname(path), { recursive: true });
        continue;
      }
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    try {
      const pid = Number((await readTextBounded(path, FILE_LIMITS.cacheRecord)).trim());
      const age = Date.now() - (await stat(path)).mtimeMs;
      if ((Number.isInteger(pid) && pid > 0 && !alive(pid)) || age > staleMs) {
        await rm(path, { force: true });
        continue;
      }
    } catch (err) {
      // it went away between the calls: take it; anything else there (a FIFO, a large file) is no lock of ours
      if (err instanceof PplcnetError && (err.cause as NodeJS.ErrnoException | undefined)?.code !== 'ENOENT') throw err;
      continue;
    }
    if (Date.now() > deadline) throw new PplcnetError('E_IO', `${path}: still locked by another pplcnet process after ${waitMs / 1000} s; if none is running, remove the file`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
