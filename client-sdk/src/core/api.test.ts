import type { UploadJson } from '@haul/api';
import { describe, expect, it } from 'vitest';
import { type FetchFunction, HaulApi, outcomeError } from './api.js';
import { TokenSource } from './auth.js';
import { HaulError } from './errors.js';
import { retryPolicy } from './retry.js';

const record = (status: UploadJson['status'], extra: Partial<UploadJson> = {}): UploadJson => ({
  id: 'abc',
  status,
  reason: null,
  filename: 'a.txt',
  declaredType: null,
  detectedType: null,
  size: 3,
  offset: 3,
  sha256: null,
  scanned: null,
  scope: null,
  thumbnails: [],
  contentUrl: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  finishedAt: null,
  processedAt: null,
  eventsUrl: '/api/uploads/abc/events',
  ...extra,
});

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

function api(responses: Array<Response | Error | ((url: string, init?: RequestInit) => Response)>, tokens: string[] = ['t']) {
  const calls: Array<{ url: string; init: RequestInit | undefined }> = [];
  const fetch: FetchFunction = async (url, init) => {
    calls.push({ url, init });
    const next = responses.shift();
    if (!next) throw new Error(`unexpected request ${url}`);
    if (next instanceof Error) throw next;
    return typeof next === 'function' ? next(url, init) : next;
  };
  const asked: boolean[] = [];
  const source = new TokenSource(({ forceRefresh }) => {
    asked.push(forceRefresh);
    return tokens.shift() ?? 'last';
  });
  const client = new HaulApi({ apiBaseUrl: 'http://h', fetch, tokens: source, policy: retryPolicy({ initialDelayMs: 1, maxDelayMs: 5, maxAttempts: 4, maxRetryAfterMs: 2_000 }), requestTimeoutMs: 5_000 });
  return { client, calls, asked };
}

const authOf = (init: RequestInit | undefined) => (init?.headers as Record<string, string>).Authorization;

describe('HaulApi', () => {
  it('validates responses with the server schema', async () => {
    const good = api([json(200, record('ready'))]);
    expect(await good.client.get('abc')).toEqual(record('ready'));
    expect(good.calls[0]!.url).toBe('http://h/api/uploads/abc');
    expect(authOf(good.calls[0]!.init)).toBe('Bearer t');

    const bad = api([json(200, { ...record('ready'), status: 'exploded' })]);
    await expect(bad.client.get('abc')).rejects.toMatchObject({ code: 'INVALID_RESPONSE', retryable: false });
    const notJson = api([new Response('<html>', { status: 200 })]);
    await expect(notJson.client.get('abc')).rejects.toMatchObject({ code: 'INVALID_RESPONSE' });
  });

  it('after a 401 asks for a forced-fresh token and tries once more', async () => {
    const { client, calls, asked } = api([json(401, { code: 'AUTH_INVALID', message: 'expired' }), json(200, record('ready'))], ['old', 'new']);
    expect((await client.get('abc')).id).toBe('abc');
    expect(asked).toEqual([false, true]);
    expect(calls.map((c) => authOf(c.init))).toEqual(['Bearer old', 'Bearer new']);

    const twice = api([json(401, { code: 'AUTH_INVALID', message: 'no' }), json(401, { code: 'AUTH_INVALID', message: 'still no' })]);
    await expect(twice.client.get('abc')).rejects.toMatchObject({ code: 'AUTH_INVALID', status: 401, message: 'still no' });
  });

  it('retries network errors, 5xx and 429 (Retry-After); not other 4xx or a too long Retry-After', async () => {
    const flaky = api([new TypeError('fetch failed'), json(503, { code: 'DATABASE_UNAVAILABLE', message: 'x' }), json(200, record('ready'))]);
    expect((await flaky.client.get('abc')).status).toBe('ready');
    expect(flaky.calls).toHaveLength(3);

    const limited = api([json(429, { code: 'RATE_LIMITED', message: 'x' }, { 'retry-after': '1' }), json(200, record('ready'))]);
    const started = Date.now();
    await limited.client.get('abc');
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);

    const longWait = api([json(429, { code: 'RATE_LIMITED', message: 'x' }, { 'retry-after': '60' })]);
    await expect(longWait.client.get('abc')).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 60, retryable: true });

    const forbidden = api([json(403, { code: 'FORBIDDEN', message: 'no' })]);
    await expect(forbidden.client.get('abc')).rejects.toMatchObject({ code: 'FORBIDDEN', retryable: false });

    const down = api([new TypeError('a'), new TypeError('b'), new TypeError('c'), new TypeError('d')]);
    await expect(down.client.get('abc')).rejects.toMatchObject({ code: 'NETWORK_ERROR', retryable: true });
  });

  it('list() builds the query; createLink() validates its input', async () => {
    const { client, calls } = api([
      json(200, { items: [record('ready')], nextCursor: null }), json(201, { url: 'http://h/l', expiresAt: 'x' }),
      json(200, { items: [], nextCursor: null }),
    ]);
    await client.list({ status: ['ready', 'failed'], limit: 5, cursor: 'c1' });
    expect(calls[0]!.url).toBe('http://h/api/uploads?status=ready%2Cfailed&cursor=c1&limit=5');
    await client.createLink('abc', { expiresIn: 3600 });
    expect(calls[1]!.init).toMatchObject({ method: 'POST', body: '{"expiresIn":3600}' });
    await client.list({ scope: 'conv:1', owner: 'alice' });
    expect(calls[2]!.url).toBe('http://h/api/uploads?scope=conv%3A1&owner=alice');
    await expect(client.createLink('abc', { expiresIn: 1 })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });
});

const sse = (chunks: string[]) =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
        controller.close();
      },
    }),
    { status: 200, headers: { 'content-type': 'text/event-stream' } },
  );
const event = (upload: UploadJson) => `event: status\ndata: ${JSON.stringify(upload)}\nid: 1\n\n`;

describe('waitForTerminal', () => {
  it('follows the events stream to a terminal status, reporting each change', async () => {
    const { client, calls } = api([sse([': hi\n\n', event(record('received')), event(record('processing')).slice(0, 20), event(record('processing')).slice(20), event(record('ready'))])]);
    const seen: string[] = [];
    const upload = await client.waitForTerminal('abc', { onStatus: (u) => seen.push(u.status) });
    expect(upload.status).toBe('ready');
    expect(seen).toEqual(['received', 'processing', 'ready']);
    expect(calls[0]!.url).toBe('http://h/api/uploads/abc/events');
  });

  it('reconnects when the stream ends early, and falls back to polling when streams keep failing', async () => {
    const reconnect = api([sse([event(record('processing'))]), sse([event(record('processing')), event(record('infected', { reason: 'Eicar' }))])]);
    const seen: string[] = [];
    expect((await reconnect.client.waitForTerminal('abc', { onStatus: (u) => seen.push(u.status) })).status).toBe('infected');
    expect(seen).toEqual(['processing', 'infected']);

    const polling = api([new TypeError('x'), new TypeError('x'), new TypeError('x'), json(200, record('processing')), json(200, record('ready'))]);
    expect((await polling.client.waitForTerminal('abc', { pollIntervalMs: 5 })).status).toBe('ready');
    expect(polling.calls.slice(3).map((c) => c.url)).toEqual(['http://h/api/uploads/abc', 'http://h/api/uploads/abc']);

    const noStreams = api([new Response(null, { status: 200 }), json(200, record('ready'))]);
    expect((await noStreams.client.waitForTerminal('abc')).status).toBe('ready');
  });

  it('gives up on a 404, on timeout and on abort', async () => {
    const missing = api([json(404, { code: 'UPLOAD_NOT_FOUND', message: 'x' })]);
    await expect(missing.client.waitForTerminal('abc')).rejects.toMatchObject({ code: 'UPLOAD_NOT_FOUND' });
    const slow = api([() => new Response(new ReadableStream({ start() {} }), { status: 200 })]);
    await expect(slow.client.waitForTerminal('abc', { timeoutMs: 50 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    const controller = new AbortController();
    const aborted = api([() => new Response(new ReadableStream({ start() {} }), { status: 200 })]);
    const waiting = aborted.client.waitForTerminal('abc', { signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('maps processing outcomes to error codes', () => {
    expect(outcomeError(record('rejected', { reason: 'type' }))).toMatchObject({ code: 'UPLOAD_REJECTED', message: expect.stringContaining('type') });
    expect(outcomeError(record('infected'))).toMatchObject({ code: 'UPLOAD_INFECTED' });
    expect(outcomeError(record('failed'))).toMatchObject({ code: 'PROCESSING_FAILED' });
    expect(outcomeError(record('expired'))).toMatchObject({ code: 'UPLOAD_GONE', status: 410 });
    expect(outcomeError(record('failed')).upload?.id).toBe('abc');
    expect(outcomeError(record('failed'))).toBeInstanceOf(HaulError);
  });
});
