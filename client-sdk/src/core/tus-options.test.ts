import { DetailedError, type HttpRequest, Upload, type UploadOptions } from 'tus-js-client';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { FakeConnectivity } from '../testing/api-fixtures.js';
import { FakeTusServer, response } from '../testing/fake-tus-server.js';
import { TokenSource } from './auth.js';
import { retryPolicy } from './retry-policy.js';
import { type HaulTusOptions, haulTusOptions } from './tus-options.js';

/**
 * tusOptions() gives tus-js-client (and Uppy) the hooks the SDK's own uploads run with: the
 * retry policy with Retry-After and offline waiting, the token, the guarded HTTP stack.
 */

function setup({ stallTimeoutMs = 0 } = {}) {
  const server = new FakeTusServer();
  const connectivity = new FakeConnectivity();
  const tokens = new TokenSource(() => 't');
  const policy = retryPolicy({ initialDelayMs: 1, maxDelayMs: 5, maxAttempts: 5, maxRetryAfterMs: 5_000 });
  const options = haulTusOptions({ endpoint: 'http://fake/files/', tokens, policy, connectivity, httpStack: server, stallTimeoutMs, sha256: null });
  return { server, connectivity, options };
}

/** tus-js-client with these options, as Uppy drives it; resolves with the upload URL. */
function upload(options: HaulTusOptions, data: Buffer, extra: UploadOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const tus: Upload = new Upload(data, { ...options, chunkSize: 1000, storeFingerprintForResuming: false, ...extra, onError: reject, onSuccess: () => resolve(tus.url!) });
    tus.start();
  });
}

const detailed = (method: string, status: number, headers: Record<string, string> = {}) => {
  const req: HttpRequest = { getMethod: () => method, getURL: () => 'http://fake/files/u1', setHeader: () => {}, getHeader: () => undefined, setProgressHandler: () => {}, send: () => Promise.reject(new Error('unused')), abort: () => Promise.resolve(), getUnderlyingObject: () => null };
  return Object.assign(new DetailedError('tus: unexpected response'), { originalRequest: req, originalResponse: response(status, headers), causingError: null });
};

describe('tusOptions()', () => {
  it('are tus-js-client options', () => {
    expectTypeOf<HaulTusOptions>().toExtend<UploadOptions>();
    expectTypeOf<HaulTusOptions['httpStack']>().toEqualTypeOf<NonNullable<UploadOptions['httpStack']>>();
  });

  it('waits out Retry-After (tus-js-client reads the delay the policy chose)', async () => {
    const { server, options } = setup();
    let limited = false;
    server.fault = (req) => {
      if (req.method !== 'POST' || limited) return undefined;
      limited = true;
      return { status: 429, headers: { 'retry-after': '1' }, body: '{"code":"RATE_LIMITED","message":"slow down"}' };
    };
    const started = Date.now();
    await upload(options, Buffer.alloc(2500, 1));
    const posts = server.seen.filter((s) => s.method === 'POST');
    expect(posts).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(posts.every((p) => p.headers.Authorization === 'Bearer t')).toBe(true);
  });

  it('sends nothing while offline and goes on when the connection is back', async () => {
    const { server, connectivity, options } = setup();
    connectivity.set(false);
    const done = upload(options, Buffer.alloc(1500, 2));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.seen).toEqual([]);
    connectivity.set(true);
    await done;
    expect(server.seen.map((s) => s.method)).toEqual(['POST', 'PATCH', 'PATCH']);
  });

  it('a stalled request is aborted and retried (the guarded HTTP stack)', async () => {
    const { server, options } = setup({ stallTimeoutMs: 30 });
    server.fault = (req, i) => (req.method === 'PATCH' && i === 2 ? 'hang' : undefined);
    await upload(options, Buffer.alloc(3000, 3));
    expect(server.seen.map((s) => s.method)).toContain('HEAD');
    expect([...server.uploads.values()][0]!.data.equals(Buffer.alloc(3000, 3))).toBe(true);
  });

  it("stops on 4xx, and keeps Uppy's queue in step through `next` while deciding itself", () => {
    const { options } = setup();
    const asked: number[] = [];
    const next = (error: DetailedError) => (asked.push(error.originalResponse!.getStatus()), false);
    expect(options.onShouldRetry(detailed('PATCH', 403), 0, {}, next)).toBe(false);
    expect(options.onShouldRetry(detailed('PATCH', 503, { 'retry-after': '2' }), 0, {}, next)).toBe(true);
    expect(options.retryDelays[0]).toBeGreaterThanOrEqual(2000);
    expect(asked).toEqual([503]);
  });

  it("a parallel upload's parent leaves retries to its partials, but retries the final POST", () => {
    const { options } = setup();
    const parent = { parallelUploads: 3 };
    expect(options.onShouldRetry(detailed('PATCH', 503), 0, parent)).toBe(false);
    expect(options.onShouldRetry(detailed('PATCH', 503), 0, { parallelUploads: 1 })).toBe(true);
    const final = detailed('POST', 503);
    final.originalRequest.getHeader = (name) => (name === 'Upload-Concat' ? 'final;a b' : undefined);
    expect(options.onShouldRetry(final, 0, parent)).toBe(true);
  });
});
