/**
 * Real external components for tests: a private `redis-server` and a headless Chromium.
 *
 * A test that needs one calls `needRedis(t)` / `needChromium(t)` first. When the program is missing, the
 * test fails under `CI=true` (CI must install it: see `.ci/run`) and outside CI is skipped with a message
 * that says how to install it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
const REDIS_PATHS = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];

/** The first existing executable among `$CHROMIUM_PATH` and the usual places, or undefined. */
export function chromiumPath(): string | undefined {
  return [process.env.CHROMIUM_PATH, ...CHROMIUM_PATHS].find((p): p is string => !!p && existsSync(p));
}

export function redisServerPath(): string | undefined {
  return [process.env.REDIS_SERVER_PATH, ...REDIS_PATHS].find((p): p is string => !!p && existsSync(p));
}

interface Skippable {
  skip(message?: string): void;
}

function need(t: Skippable, path: string | undefined, what: string, install: string): path is string {
  if (path) return true;
  const message = `${what} is not installed: ${install}`;
  if (process.env.CI === 'true') throw new Error(`${message} (CI must provide it; .ci/run installs it)`);
  t.skip(message);
  return false;
}

/** True when Chromium is there; otherwise fails under CI=true or skips the test with install advice. */
export function needChromium(t: Skippable): boolean {
  return need(t, chromiumPath(), 'Chromium', 'apt-get install chromium (or set CHROMIUM_PATH)');
}

/** True when redis-server is there; otherwise fails under CI=true or skips the test with install advice. */
export function needRedis(t: Skippable): boolean {
  return need(t, redisServerPath(), 'redis-server', 'apt-get install redis-server (or set REDIS_SERVER_PATH)');
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Stop the server (SIGTERM, then SIGKILL after 2 s); keeps its folder for `start()`. */
  stop(): Promise<void>;
  /** Start it again on the same port and folder (after `stop()`), e.g. to test reconnection. */
  start(): Promise<void>;
  /** Stop it and remove its folder. */
  close(): Promise<void>;
}

function waitForPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`redis-server did not listen on 127.0.0.1:${port} within ${ms} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** Start a private redis-server on a free 127.0.0.1 port with a temporary folder (no persistence). */
export async function startRedis(): Promise<RedisServer> {
  const bin = redisServerPath();
  if (!bin) throw new Error('redis-server is not installed: apt-get install redis-server');
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'pplcnet-redis-'));
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
      stdio: 'ignore',
    });
    await waitForPort(port, 10_000);
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    stop,
    start,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
