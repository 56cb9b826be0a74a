import { describe, expect, it } from 'vitest';
import { authOf, FakeConnectivity, json, record, scriptedApi } from '../testing/api-fixtures.js';

describe('HaulApi', () => {
  it('validates responses with the server schema', async () => {
    const good = scriptedApi([json(200, record('ready'))]);
    expect(await good.client.get('abc')).toEqual(record('ready'));
    expect(good.calls[0]!.url).toBe('http://h/api/uploads/abc');
    expect(authOf(good.calls[0]!.init)).toBe('Bearer t');

    const bad = scriptedApi([json(200, { ...record('ready'), status: 'exploded' })]);
    await expect(bad.client.get('abc')).rejects.toMatchObject({ code: 'INVALID_RESPONSE', retryable: false });
    const notJson = scriptedApi([new Response('<html>', { status: 200 })]);
    await expect(notJson.client.get('abc')).rejects.toMatchObject({ code: 'INVALID_RESPONSE' });
  });

  it('after a 401 asks for a forced-fresh token and tries once more', async () => {
    const { client, calls, asked } = scriptedApi([json(401, { code: 'AUTH_INVALID', message: 'expired' }), json(200, record('ready'))], ['old', 'new']);
    expect((await client.get('abc')).id).toBe('abc');
    expect(asked).toEqual([false, true]);
    expect(calls.map((c) => authOf(c.init))).toEqual(['Bearer old', 'Bearer new']);

    const twice = scriptedApi([json(401, { code: 'AUTH_INVALID', message: 'no' }), json(401, { code: 'AUTH_INVALID', message: 'still no' })]);
    await expect(twice.client.get('abc')).rejects.toMatchObject({ code: 'AUTH_INVALID', status: 401, message: 'still no' });
  });

  it('retries network errors, 5xx and 429 (Retry-After); not other 4xx or a too long Retry-After', async () => {
    const flaky = scriptedApi([new TypeError('fetch failed'), json(503, { code: 'DATABASE_UNAVAILABLE', message: 'x' }), json(200, record('ready'))]);
    expect((await flaky.client.get('abc')).status).toBe('ready');
    expect(flaky.calls).toHaveLength(3);

    const limited = scriptedApi([json(429, { code: 'RATE_LIMITED', message: 'x' }, { 'retry-after': '1' }), json(200, record('ready'))]);
    const started = Date.now();
    await limited.client.get('abc');
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);

    const longWait = scriptedApi([json(429, { code: 'RATE_LIMITED', message: 'x' }, { 'retry-after': '60' })]);
    await expect(longWait.client.get('abc')).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 60, retryable: true });

    const forbidden = scriptedApi([json(403, { code: 'FORBIDDEN', message: 'no' })]);
    await expect(forbidden.client.get('abc')).rejects.toMatchObject({ code: 'FORBIDDEN', retryable: false });

    // maxAttempts (4) retries after the first failure, then the error.
    const down = scriptedApi([new TypeError('a'), new TypeError('b'), new TypeError('c'), new TypeError('d'), new TypeError('e')]);
    await expect(down.client.get('abc')).rejects.toMatchObject({ code: 'NETWORK_ERROR', retryable: true, message: expect.stringContaining(': e') });
    expect(down.calls).toHaveLength(5);
  });

  it('list() builds the query; createLink() validates its input', async () => {
    const { client, calls } = scriptedApi([
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

  it('a request made while offline waits for the connection, then goes out', async () => {
    const connectivity = new FakeConnectivity();
    connectivity.online = false;
    const { client, calls } = scriptedApi([new TypeError('offline'), json(200, record('ready'))], ['t'], connectivity);
    const pending = client.get('abc');
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(calls).toHaveLength(1);
    connectivity.set(true);
    expect((await pending).status).toBe('ready');
    expect(calls).toHaveLength(2);
  });
});
