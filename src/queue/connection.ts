/**
 * Redis connections for the image queue: parsing `redis://` / `rediss://` URLs, hiding their passwords in
 * everything printed, and ioredis clients with the retry behaviour each role needs.
 */
// ioredis and bullmq are imported when a queue is used, so other commands do not pay for loading them
import type { Redis, RedisOptions } from 'ioredis';
import { isIP } from 'node:net';
import { PplcnetError } from '../index.js';

export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
  readonly tls: boolean;
  /** The URL with its password replaced by `***`: the only form that is ever printed. */
  readonly display: string;
}

/** `redis://[user][:password]@host[:port][/db]`, or `rediss://` for TLS. Throws E_NETWORK naming what is wrong. */
export function parseRedisUrl(url: string | undefined): RedisTarget {
  if (url === undefined || url === '') {
    throw new PplcnetError('E_NETWORK', 'no Redis given: pass --redis redis://host:6379 (rediss:// for TLS) or set PPLCNET_REDIS');
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PplcnetError('E_NETWORK', `not a Redis URL: ${JSON.stringify(redactRedisUrl(url))}; expected redis://[:password@]host[:port][/db] or rediss://… for TLS`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new PplcnetError('E_NETWORK', `not a Redis URL: ${JSON.stringify(redactRedisUrl(url))} has scheme '${u.protocol}'; expected redis:// or rediss:// (TLS)`);
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new PplcnetError('E_NETWORK', `Redis URL ${JSON.stringify(redactRedisUrl(url))} has no host`);
  const port = u.port ? Number(u.port) : 6379;
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new PplcnetError('E_NETWORK', `Redis URL ${JSON.stringify(redactRedisUrl(url))}: the database must be a number such as /0, found '/${dbText}'`);
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  return {
    host,
    port,
    db,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    tls: u.protocol === 'rediss:',
    display: redactRedisUrl(url),
  };
}

/** The URL with any password replaced by `***` (also for strings that do not parse). */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
  }
}

/** Remove a target's password from any text (an error message from the client, say). */
export function redactSecret(text: string, target: RedisTarget): string {
  const pw = target.password;
  if (!pw) return text;
  return text.split(pw).join('***').split(encodeURIComponent(pw)).join('***');
}

export type ConnectionRole =
  /** A long-running worker: retries forever with backoff (1 s, 2 s, 4 s … 30 s), commands wait meanwhile. */
  | 'worker'
  /** A command (`queue add/status/results/retry`): a few quick retries, then fails with a clear error. */
  | 'command';

export interface ConnectOptions {
  role: ConnectionRole;
  /** Told about connection loss and recovery (messages never hold the password). */
  log?: (message: string) => void;
  /** First reconnection delay for workers, doubled each attempt up to 30 s. [1000] */
  retryBaseMs?: number;
}

/** An ioredis client for `target` in the given role. */
export async function connectRedis(target: RedisTarget, options: ConnectOptions): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const log = options.log ?? (() => {});
  const base = options.retryBaseMs ?? 1000;
  let lastError = '';
  let down = false;
  const ioOptions: RedisOptions = {
    host: target.host,
    port: target.port,
    db: target.db,
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
    // SNI only for names (an IP address is checked against the certificate's IP entries)
    ...(target.tls ? { tls: isIP(target.host) ? {} : { servername: target.host } } : {}),
    connectTimeout: 10_000,
    lazyConnect: false,
    ...(options.role === 'worker'
      ? {
          maxRetriesPerRequest: null,
          retryStrategy: (times: number) => {
            const delay = Math.min(base * 2 ** Math.min(times - 1, 10), 30_000);
            down = true;
            log(`lost the connection to Redis at ${target.display}${lastError ? ` (${lastError})` : ''}; retrying in ${(delay / 1000).toFixed(1)} s (attempt ${times})`);
            return delay;
          },
        }
      : {
          maxRetriesPerRequest: 2,
          retryStrategy: (times: number) => (times > 3 ? null : 200 * times),
        }),
  };
  const client = new Redis(ioOptions);
  client.on('error', (err: Error) => {
    lastError = redactSecret((err as NodeJS.ErrnoException).code ?? err.message, target);
  });
  client.on('ready', () => {
    if (down) log(`connected to Redis at ${target.display} again`);
    down = false;
    lastError = '';
  });
  return client;
}

/** Wait until the client is ready, or fail with E_NETWORK naming the server (never its password). */
export async function whenReady(client: Redis, target: RedisTarget): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    let last = '';
    const onError = (err: Error): void => {
      last = (err as NodeJS.ErrnoException).code ?? err.message;
    };
    const onEnd = (): void => {
      cleanup();
      const tls = /CERT|SSL|TLS|UNABLE_TO_VERIFY|HOSTNAME/i.test(last);
      const advice = tls
        ? "the server's TLS certificate is not trusted: give its CA with NODE_EXTRA_CA_CERTS=ca.pem, and check that the certificate names this host"
        : "is redis-server running there, and are --redis's host, port and password right?";
      reject(new PplcnetError('E_NETWORK', `cannot reach Redis at ${target.display}${last ? ` (${redactSecret(last, target)})` : ''}: ${advice}`));
    };
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      client.off('error', onError);
      client.off('end', onEnd);
      client.off('ready', onReady);
    };
    client.on('error', onError);
    client.once('end', onEnd);
    client.once('ready', onReady);
  });
}
