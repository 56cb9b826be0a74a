import { describe, expect, it } from 'vitest';
import { backoffDelay, retryPolicy, sleep } from './retry.js';

describe('retry policy', () => {
  it('has defaults, and false turns retrying off', () => {
    expect(retryPolicy(undefined)).toEqual({ maxAttempts: 10, initialDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 300_000 });
    expect(retryPolicy(false).maxAttempts).toBe(0);
    expect(retryPolicy({ maxAttempts: 3.7, initialDelayMs: -5 })).toMatchObject({ maxAttempts: 3, initialDelayMs: 0 });
  });

  it('backs off exponentially with equal jitter, capped', () => {
    const policy = retryPolicy({ initialDelayMs: 100, maxDelayMs: 1_000 });
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(policy, a, () => 0))).toEqual([50, 100, 200, 400, 500, 500]);
    expect([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(policy, a, () => 1))).toEqual([100, 200, 400, 800, 1000, 1000]);
    for (let i = 0; i < 200; i++) {
      const delay = backoffDelay(policy, 2);
      expect(delay).toBeGreaterThanOrEqual(200);
      expect(delay).toBeLessThanOrEqual(400);
    }
    expect(backoffDelay(policy, 1_000_000, () => 1)).toBe(1_000);
  });

  it('sleep() can be aborted', async () => {
    const controller = new AbortController();
    const waiting = sleep(10_000, controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    await expect(sleep(1)).resolves.toBeUndefined();
  });
});
