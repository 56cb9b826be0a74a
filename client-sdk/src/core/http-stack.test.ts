import { Readable } from 'node:stream';
import type { HttpRequest, HttpResponse, HttpStack } from 'tus-js-client';
import { describe, expect, it } from 'vitest';
import { GuardedHttpStack, type GuardedRequest, HttpStatusError, RequestAbortedError, StallError } from './http-stack.js';

type Behaviour = (req: FakeRequest, body: unknown) => Promise<HttpResponse>;

const response = (status: number, headers: Record<string, string> = {}, body = ''): HttpResponse => ({
  getStatus: () => status,
  getHeader: (name) => headers[name.toLowerCase()],
  getBody: () => body,
  getUnderlyingObject: () => null,
});

class FakeRequest implements HttpRequest {
  readonly headers: Record<string, string> = {};
  progress: (bytes: number) => void = () => {};
  aborted = false;
  constructor(
    readonly method: string,
    readonly url: string,
    private readonly behaviour: Behaviour,
  ) {}
  getMethod = () => this.method;
  getURL = () => this.url;
  setHeader(name: string, value: string) {
    this.headers[name] = value;
  }
  getHeader = (name: string) => this.headers[name];
  setProgressHandler(handler: (bytes: number) => void) {
    this.progress = handler;
  }
  send(body: unknown) {
    return this.behaviour(this, body);
  }
  abort() {
    this.aborted = true;
    return Promise.resolve();
  }
  getUnderlyingObject = () => null;
}

function fakeStack(behaviour: Behaviour): HttpStack & { sent: FakeRequest[] } {
  const sent: FakeRequest[] = [];
  return {
    sent,
    createRequest(method, url) {
      const req = new FakeRequest(method, url, behaviour);
      sent.push(req);
      return req;
    },
    getName: () => 'fake',
  };
}

const never = () => new Promise<HttpResponse>(() => {});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('GuardedHttpStack', () => {
  it('a request without progress or answer for stallTimeoutMs fails with StallError and is aborted', async () => {
    const inner = fakeStack(never);
    const stack = new GuardedHttpStack(inner, { stallTimeoutMs: 50 });
    const req = stack.createRequest('PATCH', 'http://x/files/1');
    const started = Date.now();
    const error = await req.send(Buffer.alloc(10)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StallError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(inner.sent[0]!.aborted).toBe(true);
  });

  it('progress keeps a slow request alive, and reaches the handler tus set', async () => {
    const stack = new GuardedHttpStack(
      fakeStack(async (req) => {
        for (let i = 1; i <= 8; i++) {
          await sleep(20);
          req.progress(i * 100);
        }
        return response(204, { 'upload-offset': '800' });
      }),
      { stallTimeoutMs: 60 },
    );
    const req = stack.createRequest('PATCH', 'http://x/files/1');
    const seen: number[] = [];
    req.setProgressHandler((bytes) => seen.push(bytes));
    req.setHeader('Upload-Offset', '0');
    const res = await req.send(Buffer.alloc(800));
    expect(res.getStatus()).toBe(204);
    expect(seen).toEqual([100, 200, 300, 400, 500, 600, 700, 800]);
    expect(req.getHeader('upload-offset')).toBe('0');
  });

  it('abort() settles a pending request (tus would otherwise wait forever) and refuses later sends', async () => {
    const stack = new GuardedHttpStack(fakeStack(never), { stallTimeoutMs: 0 });
    const req = stack.createRequest('HEAD', 'http://x/files/1');
    const pending = req.send(null);
    await req.abort();
    await expect(pending).rejects.toBeInstanceOf(RequestAbortedError);
    await expect(req.send(null)).rejects.toBeInstanceOf(RequestAbortedError);
  });

  it('a failed request destroys its body stream (no leaked file handles)', async () => {
    const stack = new GuardedHttpStack(fakeStack(() => Promise.reject(new Error('ECONNRESET'))), { stallTimeoutMs: 0 });
    const body = Readable.from(['a', 'b']);
    await expect(stack.createRequest('PATCH', 'http://x/files/1').send(body)).rejects.toThrow('ECONNRESET');
    expect(body.destroyed).toBe(true);
  });

  it('a bodyless request answered 401 is sent once more when retryUnauthorized put a fresh token on it; a PATCH is not', async () => {
    const inner = fakeStack(async (req) => response(req.headers.Authorization === 'Bearer fresh' ? 200 : 401, { 'upload-offset': '5', 'upload-length': '10' }));
    const reauthorized: GuardedRequest[] = [];
    const stack = new GuardedHttpStack(inner, {
      stallTimeoutMs: 0,
      retryUnauthorized: async (req, refused) => {
        expect(refused.getStatus()).toBe(401);
        reauthorized.push(req);
        req.setHeader('Authorization', 'Bearer fresh');
        return true;
      },
    });
    const head = stack.createRequest('HEAD', 'http://x/files/1');
    head.setHeader('Authorization', 'Bearer stale');
    expect((await head.send(null)).getStatus()).toBe(200);
    expect(inner.sent.map((r) => r.headers.Authorization)).toEqual(['Bearer stale', 'Bearer fresh']);
    expect(reauthorized).toEqual([head]);

    const patch = stack.createRequest('PATCH', 'http://x/files/1');
    patch.setHeader('Authorization', 'Bearer stale');
    expect((await patch.send(Buffer.alloc(1))).getStatus()).toBe(401);
    expect(reauthorized).toHaveLength(1);
  });

  it('HEAD answered 4xx other than 404/410 is an error, so tus does not start the upload over', async () => {
    const statuses = [403, 429, 404, 410];
    const stack = new GuardedHttpStack(fakeStack(async () => response(statuses.shift()!)), { stallTimeoutMs: 0 });
    const forbidden = await stack.createRequest('HEAD', 'http://x/files/1').send(null).catch((e: unknown) => e);
    expect(forbidden).toBeInstanceOf(HttpStatusError);
    expect((forbidden as HttpStatusError).response.getStatus()).toBe(403);
    await expect(stack.createRequest('HEAD', 'http://x/files/1').send(null)).rejects.toBeInstanceOf(HttpStatusError);
    expect((await stack.createRequest('HEAD', 'http://x/files/1').send(null)).getStatus()).toBe(404);
    expect((await stack.createRequest('HEAD', 'http://x/files/1').send(null)).getStatus()).toBe(410);
  });
});
