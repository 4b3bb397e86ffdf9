/** A local HTTP server for download tests (127.0.0.1 only), with scripted misbehaviour. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Route {
  body: Uint8Array;
  /** Cut the connection after this many bytes on the first N requests. */
  cutAfter?: number;
  cutTimes?: number;
  /** Ignore Range headers. */
  noRange?: boolean;
  /** Delay each chunk (ms) so concurrent clients overlap. */
  slowMs?: number;
  /** The Content-Type header. [none] */
  contentType?: string;
  /** Send no Content-Length (the body ends when the connection does). */
  noLength?: boolean;
  /** Answer a Range request with 206 and a Content-Range that starts at 0 (a broken cache in front). */
  wrongRangeStart?: boolean;
  /** Send one byte every `trickleMs` ms. */
  trickleMs?: number;
  /** Send this many bytes, then nothing more (the connection stays open). */
  stallAfter?: number;
  /** Never answer (no status line). */
  stallHeaders?: boolean;
  /** Answer 302 with this Location. */
  redirect?: string;
}

export interface TestServer {
  url: string;
  port: number;
  requests: { path: string; range?: string }[];
  routes: Map<string, Route>;
  close(): Promise<void>;
}

export async function startServer(routes: Record<string, Route> = {}): Promise<TestServer> {
  const table = new Map(Object.entries(routes));
  const requests: TestServer['requests'] = [];
  const cuts = new Map<string, number>();
  const server = http.createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push({ path, ...(req.headers.range ? { range: req.headers.range } : {}) });
    const route = table.get(path);
    if (!route) {
      res.writeHead(404).end('not found');
      return;
    }
    if (route.stallHeaders) return;
    if (route.redirect) {
      res.writeHead(302, { location: route.redirect }).end();
      return;
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const type = route.contentType ? { 'content-type': route.contentType } : {};
    const length = (n: number) => (route.noLength ? {} : { 'content-length': n });
    if (m && !route.noRange) {
      start = Number(m[1]);
      if (start >= route.body.length) {
        res.writeHead(416).end();
        return;
      }
      if (route.wrongRangeStart) start = 0;
      res.writeHead(206, { ...type, ...length(route.body.length - start), 'content-range': `bytes ${start}-${route.body.length - 1}/${route.body.length}` });
    } else {
      res.writeHead(200, { ...type, ...length(route.body.length), 'accept-ranges': 'bytes' });
    }
    const body = route.body.subarray(start);
    if (route.stallAfter !== undefined) {
      res.write(body.subarray(0, route.stallAfter));
      return;
    }
    if (route.trickleMs) {
      for (let i = 0; i < body.length && !res.destroyed; i++) {
        res.write(body.subarray(i, i + 1));
        await new Promise((r) => setTimeout(r, route.trickleMs));
      }
      res.end();
      return;
    }
    const done = cuts.get(path) ?? 0;
    if (route.cutAfter !== undefined && done < (route.cutTimes ?? 1)) {
      cuts.set(path, done + 1);
      res.write(body.subarray(0, route.cutAfter), () => res.socket?.destroy());
      return;
    }
    const chunk = 64 * 1024;
    for (let i = 0; i < body.length; i += chunk) {
      if (route.slowMs) await new Promise((r) => setTimeout(r, route.slowMs));
      if (!res.write(body.subarray(i, i + chunk))) await new Promise((r) => res.once('drain', r));
    }
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    routes: table,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * A 127.0.0.1 URL on which nothing listens (a connection there is refused): a port the system handed out,
 * closed again before it is returned.
 */
export async function refusingUrl(): Promise<string> {
  const s = await startServer();
  await s.close();
  return s.url;
}

/** A URL whose host never resolves (RFC 6761 reserves `.invalid`): a name lookup fails without any connection. */
export const UNRESOLVABLE_HOST = 'models.example.invalid';
