import { type ChildProcess, spawn } from 'node:child_process';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHaulClient, type TokenRequest } from '@haul/client/node';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SourceFile, textFile } from './helpers/files.js';
import { type FlakyProxy, startFlakyProxy } from './helpers/flaky-proxy.js';
import { freePort, type HaulServer, REPO_ROOT, startHaul } from './helpers/haul-server.js';
import { type StoredUpload, storedUploads } from './helpers/sdk.js';
import { offsetOf, uploadIdOf } from './helpers/tus.js';
import { waitFor } from './helpers/wait.js';

/**
 * The SDK on bad networks and through crashes: a proxy that drops and stalls connections
 * (every upload still completes, byte-identical), the server killed and restarted mid-upload,
 * the CLI killed mid-upload and run again (it resumes from the server's offset), and bearer
 * tokens that expire mid-upload (AUTH_MODE=jwt, 2 s tokens signed here).
 */

const MiB = 2 ** 20;
const CLI = path.join(REPO_ROOT, 'client-sdk/bin/haul-upload.js'); // the package's bin


interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runCli(args: string[], env: Record<string, string> = {}): CliRun {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => stdout, stderr: () => stderr, exit };
}

let dir: string;
beforeAll(async () => {
  dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'haul-sdk-net-'));
});
afterAll(async () => {
  if (dir) await fsp.rm(dir, { recursive: true, force: true });
});

describe('SDK through a flaky network and crashes (dev auth)', () => {
  let server: HaulServer;
  let port: number;
  const servers: HaulServer[] = [];
  const proxies: FlakyProxy[] = [];

  const start = async () => {
    server = await startHaul({ port, dataDir: servers[0]?.dataDir, env: { WORKER: 'embedded', SCAN_MODE: 'off' } });
    servers.push(server);
    return server;
  };

  beforeAll(async () => {
    port = await freePort();
    await start();
  });
  afterAll(async () => {
    for (const p of proxies) await p.close();
    for (const s of servers) await s.kill();
    if (servers[0]) await fsp.rm(servers[0].dataDir, { recursive: true, force: true });
  });

  it('drops and stalls mid-body: every upload (single and parallel) completes with identical SHA-256', async () => {
    const proxy = await startFlakyProxy({ target: server.url, dropRate: 0.3, stallRate: 0.15, budgetBytes: [256 * 1024, 3 * MiB], seed: 7 });
    proxies.push(proxy);
    const token = await server.token('sdk-flaky');
    const files = await Promise.all([textFile(dir, 'flaky-a.txt', 20 * MiB), textFile(dir, 'flaky-b.txt', 24 * MiB), textFile(dir, 'flaky-c.txt', 6 * MiB + 7)]);
    const haul = createHaulClient({
      endpoint: `${proxy.url}/files/`,
      apiBaseUrl: server.url,
      getToken: () => token,
      cacheDir: await fsp.mkdtemp(path.join(dir, 'cache-')),
      stallTimeoutMs: 1_000,
      retry: { initialDelayMs: 50, maxDelayMs: 500, maxAttempts: 20 },
    });
    const retries: string[] = [];
    const results = await Promise.all(
      files.map((file, i) =>
        // Checksummed chunks (the SDK's default) count only whole, and this network cuts a
        // connection every 0.25–3 MiB: chunks of 1–2 MiB get through.
        haul.upload(file.path, { parallel: i === 1 ? 4 : 1, chunkSize: i === 2 ? 2 * MiB : MiB, onRetry: ({ error }) => retries.push(error.code) }).result,
      ),
    );
    for (const [i, upload] of results.entries()) {
      expect(upload).toMatchObject({ status: 'ready', size: files[i]!.size, sha256: files[i]!.sha256 });
    }
    expect(proxy.stats.dropped).toBeGreaterThan(0);
    expect(proxy.stats.stalled).toBeGreaterThan(0);
    expect(retries).toContain('TIMEOUT');
    expect(retries).toContain('NETWORK_ERROR');
  });

  it('the server is killed and restarted mid-upload: the upload continues from its offset', async () => {
    const proxy = await startFlakyProxy({ target: server.url, bytesPerSecond: 6 * MiB });
    proxies.push(proxy);
    const token = await server.token('sdk-restart');
    const file = await textFile(dir, 'restart.txt', 24 * MiB);
    const haul = createHaulClient({
      endpoint: `${proxy.url}/files/`,
      getToken: () => token,
      storage: false,
      stallTimeoutMs: 2_000,
      retry: { initialDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 30 },
    });
    const handle = haul.upload(file.path, { chunkSize: 2 * MiB });
    await waitFor(() => handle.progress.bytesAcknowledged >= 6 * MiB, { timeoutMs: 30_000, what: 'progress before the crash' });
    const url = handle.uploadUrl!;
    await server.kill();
    const restarted = await start();
    const offset = await offsetOf(url.replace(proxy.url, restarted.url), token);
    expect(offset).toBeGreaterThanOrEqual(6 * MiB);
    expect(offset).toBeLessThan(file.size);
    proxy.set({ bytesPerSecond: null });
    const upload = await handle.result;
    expect(upload).toMatchObject({ id: uploadIdOf(url), status: 'ready', sha256: file.sha256 });
  });

  it.each([
    { name: 'single stream', parallel: 1 },
    { name: 'parallel', parallel: 3 },
  ])('the CLI killed (SIGKILL) mid-upload resumes on the next run ($name)', async ({ parallel }) => {
    const proxy = await startFlakyProxy({ target: server.url, bytesPerSecond: MiB });
    proxies.push(proxy);
    const token = await server.token(`sdk-cli-${parallel}`);
    const file = await textFile(dir, `cli-${parallel}.txt`, 18 * MiB);
    const cacheDir = await fsp.mkdtemp(path.join(dir, 'cli-cache-'));
    // Small chunks: a checksummed chunk counts only whole, and the kill comes a MiB or so in.
    const args = [file.path, '--endpoint', `${proxy.url}/files/`, '--token', token, '--parallel', String(parallel), '--json', '--wait', '--chunk-size', '256KiB'];
    const env = { HAUL_CACHE_DIR: cacheDir };

    const first = runCli(args, env);
    let stored: StoredUpload | undefined;
    await waitFor(async () => {
      [stored] = await storedUploads(cacheDir);
      return parallel === 1 ? Boolean(stored?.uploadUrl) : stored?.parallelUploadUrls?.length === parallel;
    }, { timeoutMs: 20_000, what: 'resume state' });
    const urls = (parallel === 1 ? [stored!.uploadUrl!] : stored!.parallelUploadUrls!).map((u) => u.replace(proxy.url, server.url));
    const onServer = async () => {
      let sum = 0;
      for (const url of urls) sum += await offsetOf(url, token);
      return sum;
    };
    // Not probing with HEAD while it runs: a HEAD takes the upload's lock and interrupts the PATCH.
    // At 1 MiB/s per connection, a second is a MiB or so in (of 6 MiB per part at least).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    first.child.kill('SIGKILL');
    expect((await first.exit).signal).toBe('SIGKILL');
    expect(first.stdout()).toBe('');
    const before = await onServer();
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(file.size);

    proxy.set({ bytesPerSecond: null });
    const second = runCli(args, env);
    expect((await second.exit).code).toBe(0);
    const line = JSON.parse(second.stdout().trim()) as { file: string; id: string; status: string; sha256: string; resumedFrom: number | null };
    expect(line).toMatchObject({ file: file.path, status: 'ready', sha256: file.sha256 });
    expect(line.resumedFrom).toBeGreaterThanOrEqual(before);
    if (parallel === 1) expect(line.id).toBe(uploadIdOf(urls[0]!));
    expect(second.stderr()).toMatch(/resumed at/);
    // Done: nothing left to resume.
    expect(await storedUploads(cacheDir)).toEqual([]);
  });

  it('the CLI: usage errors exit 2, a missing file fails with exit 1 and a JSON error line', async () => {
    const usage = runCli(['--endpoint', `${server.url}/files/`]);
    expect((await usage.exit).code).toBe(2);
    expect(usage.stderr()).toMatch(/--token/);
    const token = await server.token('sdk-cli-errors');
    const missing = runCli([path.join(dir, 'nope.txt'), '--endpoint', `${server.url}/files/`, '--token', token, '--json'], { HAUL_CACHE_DIR: dir });
    expect((await missing.exit).code).toBe(1);
    expect(JSON.parse(missing.stdout().trim())).toMatchObject({ status: 'failed', error: { code: 'INVALID_INPUT' } });
  });
});

describe('SDK with tokens that expire mid-upload (AUTH_MODE=jwt)', () => {
  const secret = 'sdk-tests-jwt-secret-0123456789abcdef0123';
  const key = new TextEncoder().encode(secret);
  let server: HaulServer;
  let proxy: FlakyProxy;

  /** A token for `sub` that expires in 2 s (the server allows 5 s of clock skew on top). */
  const sign = (sub: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(sub)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + 2)
      .sign(key);

  beforeAll(async () => {
    server = await startHaul({ env: { AUTH_MODE: 'jwt', JWT_SECRET: secret, WORKER: 'embedded', SCAN_MODE: 'off' } });
    proxy = await startFlakyProxy({ target: server.url, bytesPerSecond: 3 * MiB });
  });
  afterAll(async () => {
    await proxy?.close();
    await server?.stop();
  });

  it('fresh token per request, or a cached one refreshed after the 401: both uploads complete', async () => {
    const file = await textFile(dir, 'jwt.txt', 30 * MiB);
    // Hands out a new 2 s token on every call.
    const fresh: TokenRequest[] = [];
    // Caches its token until told to refresh: the server's 401 after expiry is what renews it.
    const cachedCalls: TokenRequest[] = [];
    let cached: string | undefined;
    const common = { endpoint: `${proxy.url}/files/`, storage: false as const, retry: { initialDelayMs: 50, maxDelayMs: 500 } };
    const freshClient = createHaulClient({
      ...common,
      getToken: (request) => {
        fresh.push(request);
        return sign('jwt-fresh');
      },
    });
    const cachingClient = createHaulClient({
      ...common,
      getToken: async (request) => {
        cachedCalls.push(request);
        if (request.forceRefresh || !cached) cached = await sign('jwt-cached');
        return cached;
      },
    });
    const started = Date.now();
    const [a, b] = await Promise.all([
      freshClient.upload(file.path, { chunkSize: MiB }).result,
      cachingClient.upload(file.path, { chunkSize: MiB }).result,
    ]);
    expect(Date.now() - started).toBeGreaterThan(8_000); // longer than a token lives (2 s + 5 s skew)
    expect(a).toMatchObject({ status: 'ready', sha256: file.sha256 });
    expect(b).toMatchObject({ status: 'ready', sha256: file.sha256 });
    expect(fresh.length).toBeGreaterThanOrEqual(30);
    expect(fresh.every((r) => !r.forceRefresh)).toBe(true);
    expect(cachedCalls.some((r) => r.forceRefresh)).toBe(true);
    // The refresh did not restart the upload: ~one pass of bytes went through the proxy per client.
    expect(proxy.stats.bytesUp).toBeLessThan(2 * file.size * 1.1);

    // The JSON API refreshes the same way.
    cached = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('jwt-cached').setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(key);
    cachedCalls.length = 0;
    expect((await cachingClient.get(b.id)).status).toBe('ready');
    expect(cachedCalls.map((r) => r.forceRefresh)).toEqual([false, true]);
  });
});
