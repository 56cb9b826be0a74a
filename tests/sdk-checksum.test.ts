import { spawn } from 'node:child_process';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHaulClient, type HaulError } from '@haul/client/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { textFile } from './helpers/files.js';
import { type FlakyProxy, startFlakyProxy } from './helpers/flaky-proxy.js';
import { type HaulServer, REPO_ROOT, startHaul } from './helpers/haul-server.js';

/**
 * "Survives bad networks", the corrupting kind: through a proxy that flips one byte in some PATCH
 * bodies, the SDK and the CLI (which checksum every PATCH by default) finish byte-identical, the
 * corrupted requests having been answered 460 and resent. Without checksums the same proxy gets
 * a corrupted file stored — the proof that the checksum is what catches it. Files are text
 * (processing accepts text/plain), so "PATCH /" never appears in a body the proxy scans.
 */

const MiB = 2 ** 20;
const CLI = path.join(REPO_ROOT, 'client-sdk/bin/haul-upload.js');

describe('SDK and CLI checksums through a corrupting proxy', () => {
  let server: HaulServer;
  let token: string;
  let dir: string;
  const proxies: FlakyProxy[] = [];
  const corruptingProxy = async (every: number) => {
    const proxy = await startFlakyProxy({ target: server.url, corruptEveryNthPatch: every });
    proxies.push(proxy);
    return proxy;
  };

  beforeAll(async () => {
    server = await startHaul({ env: { WORKER: 'embedded', SCAN_MODE: 'off' } });
    token = await server.token('checksums');
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'haul-sdk-checksum-'));
  });
  afterAll(async () => {
    for (const proxy of proxies) await proxy.close();
    await server?.stop();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  const client = (proxy: FlakyProxy, extra: { checksum?: boolean } = {}) =>
    createHaulClient({
      endpoint: `${proxy.url}/files/`,
      apiBaseUrl: server.url,
      getToken: () => token,
      storage: false,
      retry: { initialDelayMs: 20, maxDelayMs: 200 },
      ...extra,
    });

  it('the SDK resends corrupted chunks and finishes byte-identical (one PATCH, chunks, parallel parts)', async () => {
    const proxy = await corruptingProxy(3);
    const files = await Promise.all([textFile(dir, 'whole.txt', 20 * MiB + 3), textFile(dir, 'chunked.txt', 7 * MiB), textFile(dir, 'parallel.txt', 9 * MiB + 1)]);
    const haul = client(proxy);
    const retries: string[] = [];
    const results = await Promise.all(
      files.map((file, i) =>
        haul.upload(file.path, {
          chunkSize: i === 1 ? MiB : undefined, parallel: i === 2 ? 3 : 1, onRetry: ({ error }) => retries.push(error.code),
        }).result,
      ),
    );
    for (const [i, upload] of results.entries()) {
      expect(upload).toMatchObject({ status: 'ready', size: files[i]!.size, sha256: files[i]!.sha256 });
    }
    expect(proxy.stats.corrupted).toBeGreaterThanOrEqual(3);
    // Every corrupted request was refused, and nothing else was.
    expect(proxy.stats.answered460).toBe(proxy.stats.corrupted);
    expect(retries.filter((code) => code === 'CHECKSUM_MISMATCH')).toHaveLength(proxy.stats.corrupted);
  });

  it('without checksums the same proxy gets corrupted bytes stored', async () => {
    const proxy = await corruptingProxy(1);
    const file = await textFile(dir, 'unchecked.txt', 2 * MiB + 5);
    const upload = await client(proxy, { checksum: false }).upload(file.path).result;
    expect(proxy.stats.corrupted).toBe(1);
    expect(proxy.stats.answered460).toBe(0);
    expect(upload.sha256).not.toBe(file.sha256);
  });

  it('gives up with a clear error when every resend arrives corrupted', async () => {
    const proxy = await corruptingProxy(1);
    const file = await textFile(dir, 'hopeless.txt', MiB);
    const failure = await client(proxy).upload(file.path).result.catch((error: HaulError) => error);
    expect(failure).toMatchObject({ code: 'CHECKSUM_MISMATCH', status: 460, retryable: false });
    expect((failure as HaulError).message).toMatch(/corrupted every time/);
    // The first PATCH and maxChecksumResends (3) resends.
    expect(proxy.stats.answered460).toBe(4);
  });

  it('the CLI finishes byte-identical through the corrupting proxy', async () => {
    const proxy = await corruptingProxy(2);
    const file = await textFile(dir, 'cli.txt', 40 * MiB + 11);
    const child = spawn(process.execPath, [CLI, file.path, '--endpoint', `${proxy.url}/files/`, '--token', token, '--json', '--wait', '--quiet', '--no-resume'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout.trim())).toMatchObject({ file: file.path, status: 'ready', sha256: file.sha256 });
    // 40 MiB in 8 MiB chunks: five chunks, every second PATCH corrupted and resent.
    expect(proxy.stats.corrupted).toBeGreaterThanOrEqual(2);
    expect(proxy.stats.answered460).toBe(proxy.stats.corrupted);
  });
});
