import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isRetryableStatus } from './errors.js';

describe('error codes', () => {
  it('each code is retryable exactly when its status says so (tus convention)', () => {
    for (const [code, { status, retryable }] of Object.entries(ERROR_CODES)) {
      expect([code, retryable]).toEqual([code, isRetryableStatus(status)]);
    }
  });

  it('statuses are HTTP error statuses and messages are sentences', () => {
    for (const { status, message } of Object.values(ERROR_CODES)) {
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
      expect(message).toMatch(/^[A-Z]/);
    }
  });
});
