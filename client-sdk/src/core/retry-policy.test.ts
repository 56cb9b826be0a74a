import { describe, expect, it } from 'vitest';
import { sleep } from './abort.js';
import { HaulError } from './errors.js';
import { RequestAbortedError } from './http-stack.js';
import { backoffDelay, decide, type RetryContext, retryPolicy } from './retry-policy.js';

const policy = retryPolicy({ initialDelayMs: 100, maxDelayMs: 1_000, maxAttempts: 3, maxRetryAfterMs: 10_000 });
const context = (extra: Partial<RetryContext> = {}): RetryContext => ({ attempt: 0, online: true, tokenRefreshed: false, policy, random: () => 0, ...extra });
const answer = (status: number, headers: Record<string, string> = {}) => new Response(null, { status, headers });

describe('retry policy', () => {
  it('has defaults, and false turns retrying off', () => {
    expect(retryPolicy(undefined)).toEqual({ maxAttempts: 10, initialDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 300_000, maxChecksumResends: 3 });
    expect(retryPolicy(false).maxChecksumResends).toBe(0);
    expect(retryPolicy(false).maxAttempts).toBe(0);
    expect(retryPolicy({ maxAttempts: 3.7, initialDelayMs: -5 })).toMatchObject({ maxAttempts: 3, initialDelayMs: 0 });
  });

  it('backs off exponentially with equal jitter, capped', () => {
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(policy, a, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(policy, a, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    for (let i = 0; i < 200; i++) {
      const delay = backoffDelay(policy, 2);
      expect(delay).toBeGreaterThanOrEqual(200);
      expect(delay).toBeLessThanOrEqual(400);
    }
    expect(backoffDelay(policy, 1_000_000, () => 1)).toBe(1_000);
  });

  it('backs off after no response, 5xx (but 501), 409, 423 and 429; stops on other 4xx', () => {
    for (const outcome of [new TypeError('fetch failed'), new HaulError('TIMEOUT', 'stalled'), answer(500), answer(502), answer(503), answer(409), answer(423), answer(429)]) {
      expect(decide(outcome, context({ attempt: 1 }))).toEqual({ action: 'retry', delayMs: 100 });
    }
    for (const status of [400, 403, 404, 405, 410, 412, 413, 415, 416, 501]) expect(decide(answer(status), context())).toEqual({ action: 'stop' });
  });

  it('resends a chunk answered 460 (corrupted on the way) at once, maxChecksumResends times in a row, then stops', () => {
    const patch = (attempt: number) => context({ attempt, method: 'PATCH' });
    expect(decide(answer(460), patch(0))).toEqual({ action: 'retry', delayMs: 0 });
    expect(decide(answer(460), patch(2))).toEqual({ action: 'retry', delayMs: 0 });
    expect(decide(answer(460), patch(3))).toEqual({ action: 'stop' });
    expect(decide(answer(460), context({ attempt: 0, method: 'PATCH', policy: retryPolicy({ maxChecksumResends: 0 }) }))).toEqual({ action: 'stop' });
    // Only a PATCH carries a checksum; a 460 to anything else is not ours to resend.
    expect(decide(answer(460), context({ method: 'POST' }))).toEqual({ action: 'stop' });
  });

  it('stops after maxAttempts retries in a row', () => {
    expect(decide(answer(503), context({ attempt: 2 }))).toMatchObject({ action: 'retry' });
    expect(decide(answer(503), context({ attempt: 3 }))).toEqual({ action: 'stop' });
    expect(decide(answer(503), context({ attempt: 0, policy: retryPolicy(false) }))).toEqual({ action: 'stop' });
  });

  it('honours Retry-After (seconds or a date), with at most 1 s of jitter, and stops when it is too long', () => {
    expect(decide(answer(429, { 'retry-after': '2' }), context())).toEqual({ action: 'retry', delayMs: 2000 });
    expect(decide(answer(503, { 'retry-after': '2' }), context({ random: () => 1 }))).toEqual({ action: 'retry', delayMs: 2200 });
    expect(decide(answer(429, { 'retry-after': '9000' }), context())).toEqual({ action: 'stop' });
    const at = new Date(Date.now() + 5_000).toUTCString();
    const decision = decide(answer(503, { 'retry-after': at }), context());
    expect(decision.action === 'retry' && decision.delayMs).toBeGreaterThan(3_000);
    // A HaulError from a response carries the header's value.
    expect(decide(new HaulError('RATE_LIMITED', 'x', { status: 429, retryAfterSeconds: 1 }), context())).toEqual({ action: 'retry', delayMs: 1000 });
  });

  it('401: one refresh, unless the token was refreshed already', () => {
    expect(decide(answer(401), context())).toEqual({ action: 'refresh-token' });
    expect(decide(answer(401), context({ tokenRefreshed: true }))).toEqual({ action: 'stop' });
  });

  it('offline: wait for the connection (not counted as a back-off), but never for a request that cannot succeed', () => {
    expect(decide(new TypeError('offline'), context({ online: false, attempt: 99 }))).toEqual({ action: 'wait-online' });
    expect(decide(answer(503), context({ online: false }))).toEqual({ action: 'wait-online' });
    expect(decide(answer(403), context({ online: false }))).toEqual({ action: 'stop' });
  });

  it('a tus PATCH answered 404/410 starts over at once; aborts and getToken() failures stop', () => {
    expect(decide(answer(404), context({ method: 'PATCH' }))).toEqual({ action: 'retry', delayMs: 0 });
    expect(decide(answer(410), context({ method: 'PATCH' }))).toEqual({ action: 'retry', delayMs: 0 });
    expect(decide(answer(404), context({ method: 'GET' }))).toEqual({ action: 'stop' });
    expect(decide(new RequestAbortedError(), context())).toEqual({ action: 'stop' });
    expect(decide(new HaulError('TOKEN_UNAVAILABLE', 'x', { retryable: false }), context())).toEqual({ action: 'stop' });
    expect(decide(new HaulError('ABORTED', 'x', { retryable: false }), context())).toEqual({ action: 'stop' });
  });

  it('sleep() can be aborted', async () => {
    const controller = new AbortController();
    const waiting = sleep(10_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    await expect(sleep(1)).resolves.toBeUndefined();
  });
});
