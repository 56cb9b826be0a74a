import { describe, expect, it } from 'vitest';
import { onDatabase, OUTAGE_MAX_WAIT_MS, outageWaitMs, ServiceUnavailableError, unavailableService } from './outage.js';
import { ScanError } from './virus-scanner.js';

const withCode = (code: string) => Object.assign(new Error(code), { code });

describe('outages (no attempt spent) vs errors about the file', () => {
  it('names the service that is unreachable', () => {
    expect(unavailableService(new ServiceUnavailableError('clamd', 'clamd is unreachable'))).toBe('clamd');
    expect(unavailableService(withCode('ECONNREFUSED'))).toBe('storage');
    expect(unavailableService(withCode('CONNECTION_CLOSED'))).toBe('database');
    expect(unavailableService(withCode('08006'))).toBe('database'); // PostgreSQL connection failure
    expect(unavailableService(withCode('57P01'))).toBe('database'); // admin shutdown
    expect(unavailableService(Object.assign(new Error('Service Unavailable'), { $metadata: { httpStatusCode: 503 } }))).toBe('storage');
    expect(unavailableService(new Error('wrapped', { cause: withCode('ETIMEDOUT') }))).toBe('storage');
    // An S3 request stalled past S3_STALL_TIMEOUT_MS, as the SDK throws it (no code, no status).
    expect(unavailableService(Object.assign(new Error('socket timed out'), { name: 'TimeoutError', $metadata: { attempts: 3 } }))).toBe('storage');
    // postgres.js marks the errors it rejects queries with (a refused connection included).
    const refusedQuery = Object.defineProperty(withCode('ECONNREFUSED'), 'query', { value: 'SELECT 1', enumerable: false });
    expect(unavailableService(refusedQuery)).toBe('database');
  });

  it('database work that cannot reach PostgreSQL is a database outage, whatever the error looks like', async () => {
    const failed = await onDatabase(() => Promise.reject(withCode('ECONNREFUSED'))).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(ServiceUnavailableError);
    expect(unavailableService(failed)).toBe('database');
    expect((failed as Error).message).toMatch(/^the database is unreachable: ECONNREFUSED/);
    // Other errors pass through untouched: a constraint violation is no outage.
    const constraint = withCode('23505');
    await expect(onDatabase(() => Promise.reject(constraint))).rejects.toBe(constraint);
    await expect(onDatabase(async () => 42)).resolves.toBe(42);
  });

  it('anything else may be the file: an attempt', () => {
    expect(unavailableService(new ScanError('clamd closed the connection without an answer'))).toBeUndefined();
    expect(unavailableService(new Error('image data is corrupt'))).toBeUndefined();
    expect(unavailableService(withCode('ENOENT'))).toBeUndefined();
    expect(unavailableService(withCode('23505'))).toBeUndefined(); // a constraint: a bug, not an outage
    expect(unavailableService(Object.assign(new Error('Forbidden'), { $metadata: { httpStatusCode: 403 } }))).toBeUndefined();
    expect(unavailableService('a string')).toBeUndefined();
    // A timeout that is not the S3 client's says nothing about storage.
    expect(unavailableService(Object.assign(new Error('timed out'), { name: 'TimeoutError' }))).toBeUndefined();
  });

  it('waits grow from ~1 s and are capped, however long the outage', () => {
    expect(outageWaitMs(1)).toBeGreaterThanOrEqual(800);
    expect(outageWaitMs(1)).toBeLessThanOrEqual(1200);
    for (const n of [5, 10, 100, 10_000]) expect(outageWaitMs(n)).toBeLessThanOrEqual(OUTAGE_MAX_WAIT_MS * 1.2);
    expect(outageWaitMs(10_000)).toBeGreaterThanOrEqual(OUTAGE_MAX_WAIT_MS * 0.8);
  });
});
