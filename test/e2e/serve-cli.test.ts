/** `pplcnet serve` as a user runs it: the compiled CLI in a child process, stopped with SIGTERM. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { FIXTURES } from '../fixtures/index.js';
import { ROOT, runCli } from '../helpers.js';

interface Served {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Start the CLI and wait (bounded) for the URL it prints. */
function serve(args: string[], home: string): Promise<Served> {
  const child = spawn(process.execPath, [`${ROOT}bin/pplcnet.js`, 'serve', ...args], { cwd: ROOT, env: { ...process.env, PPLCNET_HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not print its URL within 60 s:\n${out}\n${err}`));
    }, 60_000);
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]!, stdout: () => out, stderr: () => err, exit });
      }
    });
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening:\n${out}\n${err}`));
    });
  });
}

describe('pplcnet serve (CLI)', () => {
  let home = '';
  let running: Served | undefined;
  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'pplcnet-serve-cli-'));
  });
  after(async () => {
    if (running && running.child.exitCode === null) {
      running.child.kill('SIGKILL');
      await running.exit;
    }
    await rm(home, { recursive: true, force: true });
  });

  test('serves a model given by path under its folder name; SIGTERM lets the request in flight finish, exit 0', async () => {
    // a batch waits up to 1.5 s for company, so the request is still in flight when SIGTERM comes
    running = await serve(['-m', FIXTURES.textlineModel, '--port', '0', '--ep', 'cpu', '--threads', '1', '--max-delay-ms', '1500'], home);
    const { url, child } = running;
    assert.match(running.stdout(), /pplcnet serve: http:\/\/127\.0\.0\.1:\d+\/ \(provider cpu\)/);
    assert.match(running.stdout(), /model PP-LCNet_x0_25_textline_ori: POST/);
    const models = (await (await fetch(`${url}v1/models`)).json()) as { models: { name: string }[] };
    assert.deepEqual(models.models.map((m) => m.name), ['PP-LCNet_x0_25_textline_ori']);

    const bytes = await readFile(join(FIXTURES.textlines, '07_down.png'));
    const t0 = performance.now();
    const inFlight = fetch(`${url}v1/models/PP-LCNet_x0_25_textline_ori/classify`, { method: 'POST', body: bytes, headers: { 'content-type': 'image/png' } });
    await sleep(300);
    child.kill('SIGTERM');
    const res = await inFlight;
    assert.equal(res.status, 200);
    const body = (await res.json()) as { results: { topk: { label: string; score: number }[] }[] };
    assert.equal(body.results[0]!.topk[0]!.label, '180_degree');
    assert.ok(performance.now() - t0 >= 1000, 'the request was answered before its batch could run');
    assert.equal(await running.exit, 0);
    assert.match(running.stderr(), /SIGTERM: finishing the requests in flight/);
    assert.match(running.stderr(), /POST \/v1\/models\/PP-LCNet_x0_25_textline_ori\/classify 200 [\d.]+ ms 1 image\(s\)/);
    assert.match(running.stderr(), /pplcnet: stopped/);
    // nothing listens any more
    await assert.rejects(fetch(`${url}v2/health/live`));
  });

  test('--grpc-port serves the v2 protocol over gRPC beside HTTP, with the API key; SIGTERM stops both, exit 0', async () => {
    running = await serve(['-m', FIXTURES.textlineModel, '--port', '0', '--grpc-port', '0', '--api-key', 'k1', '--ep', 'cpu', '--threads', '1', '--no-browser', '--workers', '0'], home);
    const m = /gRPC \(inference\.GRPCInferenceService\): 127\.0\.0\.1:(\d+)/.exec(running.stdout());
    assert.ok(m, running.stdout());
    const definition = await protoLoader.load(FIXTURES.grpcClientProto, { keepCase: true, longs: Number, defaults: true });
    const Service = (grpc.loadPackageDefinition(definition).inference as grpc.GrpcObject).GRPCInferenceService as grpc.ServiceClientConstructor;
    const client = new Service(`127.0.0.1:${m[1]}`, grpc.credentials.createInsecure());
    type Unary = (req: unknown, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;
    const call = (method: string, req: unknown, key?: string): Promise<unknown> => {
      const md = new grpc.Metadata();
      if (key) md.set('authorization', `Bearer ${key}`);
      const fn = (client as unknown as Record<string, Unary>)[method]!.bind(client);
      return new Promise((resolve, reject) => fn(req, md, (err, res) => (err ? reject(err) : resolve(res))));
    };
    try {
      assert.deepEqual(await call('ServerLive', {}), { live: true });
      await assert.rejects(call('ModelReady', { name: 'PP-LCNet_x0_25_textline_ori' }), (err: grpc.ServiceError) => err.code === grpc.status.UNAUTHENTICATED);
      assert.deepEqual(await call('ModelReady', { name: 'PP-LCNet_x0_25_textline_ori' }, 'k1'), { ready: true });
    } finally {
      client.close();
    }
    running.child.kill('SIGTERM');
    assert.equal(await running.exit, 0);
    assert.match(running.stderr(), /^gRPC ModelReady UNAUTHENTICATED [\d.]+ ms 0 image\(s\)$/m);
    assert.match(running.stderr(), /^gRPC ModelReady OK [\d.]+ ms 0 image\(s\)$/m);
    assert.match(running.stderr(), /pplcnet: stopped/);
  });

  test('no model → exit 2 naming what to pass; a bad flag value → exit 2', async () => {
    const none = await runCli(['serve', '--port', '0'], { env: { PPLCNET_MODEL: '' } });
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no model given: pass -m NAME\|PATH/);
    const bad = await runCli(['serve', '-m', 'textline', '--max-batch', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Expected a positive integer but received "0"/);
    const size = await runCli(['serve', '-m', 'textline', '--body-limit', 'lots']);
    assert.equal(size.code, 2);
    assert.match(size.stderr, /Expected a size such as 20MB/);
    const port = await runCli(['serve', '-m', 'textline', '--grpc-port', '70000']);
    assert.equal(port.code, 2);
    assert.match(port.stderr, /Expected a port from 0 to 65535 but received "70000"/);
  });

  test('a port in use → exit 1 naming the port and suggesting --port 0', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const run = await runCli(['serve', '-m', FIXTURES.textlineModel, '--port', String(port), '--no-browser', '--workers', '0']);
      assert.equal(run.code, 1);
      assert.equal(run.stderr.trim().split('\n').at(-1), `pplcnet: error: port ${port} on 127.0.0.1 is already in use: stop what listens there, choose another --port, or --port 0 for any free port`);
    } finally {
      taken.close();
    }
  });

  test('a gRPC port in use → exit 1 naming the address and --grpc-port', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const run = await runCli(['serve', '-m', FIXTURES.textlineModel, '--port', '0', '--grpc-port', String(port), '--no-browser', '--workers', '0']);
      assert.equal(run.code, 1);
      assert.match(run.stderr, new RegExp(`the gRPC service cannot listen on 127\\.0\\.0\\.1:${port} .*choose another --grpc-port, or 0 for any free port`));
    } finally {
      taken.close();
    }
  });
});
