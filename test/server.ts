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
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && !route.noRange) {
      start = Number(m[1]);
      if (start >= route.body.length) {
        res.writeHead(416).end();
        return;
      }
      res.writeHead(206, { 'content-length': route.body.length - start, 'content-range': `bytes ${start}-${route.body.length - 1}/${route.body.length}` });
    } else {
      res.writeHead(200, { 'content-length': route.body.length, 'accept-ranges': 'bytes' });
    }
    const body = route.body.subarray(start);
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
