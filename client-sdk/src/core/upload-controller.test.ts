import { describe, expect, it } from 'vitest';
import { FakeConnectivity } from '../testing/api-fixtures.js';
import { type Fault, FakeTusServer, ready, type Seen } from '../testing/fake-tus-server.js';
import { HaulApi } from './api.js';
import { TokenSource } from './auth.js';
import { browserPlatform } from './browser-platform.js';
import { createHttpClient } from './http-client.js';
import { memoryStorage, ResumeIndex } from './resume-storage.js';
import { retryPolicy } from './retry-policy.js';
import { createTusEndpoint } from './tus-endpoint.js';
import { UploadController } from './upload-controller.js';
import type { RetryInfo, UploadContext, UploadOptions, UploadState } from './upload-types.js';

/**
 * The upload controller against an in-memory tus server (an HttpStack), with faults injected:
 * retries and their classification, stalls, token refresh after a 401, going offline, pause and
 * resume, resuming from stored state, abort.
 */

function setup({ tokens = () => 't', stallTimeoutMs = 0, storage = memoryStorage() }: { tokens?: (force: boolean) => string; stallTimeoutMs?: number; storage?: ReturnType<typeof memoryStorage> } = {}) {
  const server = new FakeTusServer();
  const connectivity = new FakeConnectivity();
  const tokenRequests: boolean[] = [];
  const tokenSource = new TokenSource(({ forceRefresh }) => {
    tokenRequests.push(forceRefresh);
    return tokens(forceRefresh);
  });
  const policy = retryPolicy({ initialDelayMs: 1, maxDelayMs: 5, maxAttempts: 5 });
  const fetch = async (url: string, init?: RequestInit) => {
    const id = url.split('/').pop()!;
    if (init?.method === 'DELETE') {
      server.uploads.delete(url);
      return new Response(null, { status: 204 });
    }
    return new Response(JSON.stringify(ready(id, server.uploads.get(`http://fake/files/${id}`)?.length ?? 0)), { status: 200 });
  };
  const index = new ResumeIndex(storage, 60_000);
  const http = createHttpClient({ fetch, tokens: tokenSource, policy, connectivity });
  const api = new HaulApi({ apiBaseUrl: 'http://fake', http, requestTimeoutMs: 1_000 });
  const ctx: UploadContext = {
    endpoint: 'http://fake/files/',
    api,
    http,
    tus: { ...createTusEndpoint({ endpoint: 'http://fake/files/', http, api }), supportsConcatenation: async () => true },
    tokens: tokenSource,
    policy,
    stallTimeoutMs,
    index,
    connectivity,
    httpStack: server,
    sha256: null,
    active: new Set<string>(),
  };
  const upload = (data: Uint8Array, options: UploadOptions = {}) => {
    const states: UploadState[] = [];
    const retries: RetryInfo[] = [];
    const controller = new UploadController(ctx, browserPlatform, data, {
      chunkSize: 1000,
      waitForProcessing: false,
      onStateChange: (s) => states.push(s),
      onRetry: (r) => retries.push(r),
      ...options,
    });
    controller.run();
    return { controller, states, retries };
  };
  return { server, connectivity, tokenRequests, upload, index };
}

const bytes = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
const until = async (condition: () => boolean, what: string) => {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
};
const patches = (seen: Seen[]) => seen.filter((s) => s.method === 'PATCH').length;

describe('UploadController', () => {
  it('uploads in chunks, reports acknowledged bytes, resolves with the record', async () => {
    const { server, upload } = setup();
    const data = bytes(10_500);
    const acked: number[] = [];
    const { controller, states } = upload(data, { onProgress: (p) => acked.push(p.bytesAcknowledged) });
    const result = await controller.result;
    expect(result).toMatchObject({ id: 'u1', status: 'ready' });
    expect(server.uploads.get('http://fake/files/u1')!.data.equals(Buffer.from(data))).toBe(true);
    expect(patches(server.seen)).toBe(11);
    expect(acked.at(-1)).toBe(10_500);
    expect(states).toEqual(['uploading', 'done']);
    expect(server.seen.every((s) => s.headers.Authorization === 'Bearer t')).toBe(true);
  });

  it('retries resets, 5xx, 409 and 423 with back-off; gives up on other 4xx', async () => {
    const { server, upload } = setup();
    const faults: Fault[] = ['reset', { status: 503 }, { status: 423 }, { status: 500 }];
    server.fault = (req) => (req.method === 'PATCH' && faults.length ? faults.shift() : undefined);
    const { controller, retries } = upload(bytes(3_000));
    await controller.result;
    expect(retries.map((r) => r.error.code)).toEqual(['NETWORK_ERROR', 'STORAGE_UNAVAILABLE', 'UPLOAD_LOCKED', 'INTERNAL']);

    const forbidden = setup();
    forbidden.server.fault = (req) => (req.method === 'PATCH' ? { status: 403, body: '{"code":"FORBIDDEN","message":"no"}' } : undefined);
    const denied = forbidden.upload(bytes(3_000));
    await expect(denied.controller.result).rejects.toMatchObject({ code: 'FORBIDDEN', status: 403, retryable: false });
    expect(denied.retries).toEqual([]);
    expect(denied.controller.state).toBe('failed');
  });

  it('gives up after maxAttempts failures in a row', async () => {
    const { server, upload } = setup();
    server.fault = (req) => (req.method === 'PATCH' ? { status: 503 } : undefined);
    const { controller, retries } = upload(bytes(100));
    await expect(controller.result).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', retryable: true });
    expect(retries).toHaveLength(5);
  });

  it('a stalled request is aborted after stallTimeoutMs and retried from the server offset', async () => {
    const { server, upload } = setup({ stallTimeoutMs: 30 });
    server.fault = (req, i) => (req.method === 'PATCH' && i === 3 ? 'hang' : undefined);
    const { controller, retries } = upload(bytes(5_000));
    await controller.result;
    expect(retries.map((r) => r.error.code)).toEqual(['TIMEOUT']);
    expect(server.seen.map((s) => s.method)).toContain('HEAD');
  });

  it('a PATCH answered 401 gets a forcibly refreshed token and goes on; a second 401 with it is final', async () => {
    let current = 'old';
    const { server, upload, tokenRequests } = setup({ tokens: (force) => (force ? (current = 'new') : current) });
    server.fault = (req) => (req.headers.Authorization === 'Bearer old' && req.method === 'PATCH' && patches(server.seen) > 2 ? { status: 401, body: '{"code":"AUTH_INVALID","message":"expired"}' } : undefined);
    const { controller } = upload(bytes(5_000));
    await controller.result;
    expect(tokenRequests.filter(Boolean)).toHaveLength(1);
    expect(server.seen.at(-1)!.headers.Authorization).toBe('Bearer new');

    const revoked = setup();
    revoked.server.fault = (req) => (req.method === 'PATCH' ? { status: 401, body: '{"code":"AUTH_INVALID","message":"revoked"}' } : undefined);
    const failed = revoked.upload(bytes(5_000));
    await expect(failed.controller.result).rejects.toMatchObject({ code: 'AUTH_INVALID', status: 401 });
    expect(revoked.tokenRequests.filter(Boolean).length).toBeGreaterThanOrEqual(1);
  });

  it('goes quiet while offline and continues when back online', async () => {
    const { server, upload, connectivity } = setup();
    let gate: (() => void) | undefined;
    server.fault = (req, i) => {
      if (req.method === 'PATCH' && i === 4) {
        // Offline mid-request: the request hangs until the upload stops it.
        connectivity.set(false);
        gate?.();
        return 'hang';
      }
      return undefined;
    };
    const wentOffline = new Promise<void>((resolve) => (gate = resolve));
    const { controller, states } = upload(bytes(6_000));
    await wentOffline;
    expect(controller.state).toBe('offline');
    const before = server.seen.length;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.seen.length).toBe(before);
    connectivity.set(true);
    await controller.result;
    expect(states).toEqual(['uploading', 'offline', 'uploading', 'done']);
  });

  it('pause() and resume(); abort() terminates and forgets', async () => {
    const { server, upload, index } = setup();
    let release: (() => void) | undefined;
    const paused = new Promise<void>((resolve) => (release = resolve));
    server.fault = (req, i) => {
      if (req.method === 'PATCH' && i === 3) release?.();
      return undefined;
    };
    const { controller } = upload(bytes(8_000));
    await paused;
    controller.pause();
    expect(controller.state).toBe('paused');
    const count = server.seen.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(server.seen.length).toBeLessThanOrEqual(count + 1);
    controller.resume();
    expect((await controller.result).status).toBe('ready');
    expect(Buffer.from(bytes(8_000)).equals(server.uploads.get('http://fake/files/u1')!.data)).toBe(true);

    const second = upload(bytes(8_000, 2));
    await until(() => patches(server.seen) > 3 + 8, 'progress');
    expect((await index.entries()).length).toBe(1);
    await second.controller.abort();
    await expect(second.controller.result).rejects.toMatchObject({ code: 'ABORTED' });
    expect(server.uploads.has('http://fake/files/u2')).toBe(false);
    expect(await index.entries()).toEqual([]);
  });

  it('the same input twice at the same time makes two uploads (not two writers on one)', async () => {
    const { server, upload, index } = setup();
    const data = bytes(4_000, 9);
    const [a, b] = await Promise.all([upload(data).controller.result, upload(data).controller.result]);
    expect(new Set([a.id, b.id]).size).toBe(2);
    expect(server.seen.filter((s) => s.method === 'PATCH' && s.headers['Upload-Offset'] === '0')).toHaveLength(2);
    expect(await index.entries()).toEqual([]);
  });

  it('the same bytes again continue the stored upload; a HEAD refused with 401 keeps the stored state', async () => {
    const storage = memoryStorage();
    const first = setup({ storage });
    first.server.fault = (req) => (req.method === 'PATCH' && patches(first.server.seen) > 3 ? 'reset' : undefined);
    const data = bytes(9_000, 3);
    const failing = first.upload(data, { onRetry: () => void failing.controller.abort({ terminate: false }) });
    await expect(failing.controller.result).rejects.toMatchObject({ code: 'ABORTED' });
    const entries = await first.index.entries();
    expect(entries.map(([, entry]) => entry.uploadUrl)).toEqual(['http://fake/files/u1']);

    // Another "process": same storage, the server still has the upload.
    const second = setup({ storage });
    second.server.uploads.set('http://fake/files/u1', first.server.uploads.get('http://fake/files/u1')!);
    second.server.fault = (req) => (req.method === 'HEAD' ? { status: 401, body: '{"code":"AUTH_INVALID","message":"x"}' } : undefined);
    const refused = second.upload(data);
    await expect(refused.controller.result).rejects.toMatchObject({ code: 'AUTH_INVALID' });
    expect((await second.index.entries()).length).toBe(1);

    second.server.fault = () => undefined;
    const resumed = second.upload(data);
    expect((await resumed.controller.result).id).toBe('u1');
    expect(resumed.controller.resumedFrom).toBe(3_000);
    expect(second.server.seen.filter((s) => s.method === 'POST')).toEqual([]);
    expect(second.server.uploads.get('http://fake/files/u1')!.data.equals(Buffer.from(data))).toBe(true);
  });
});
