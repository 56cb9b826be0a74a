import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@haul/api';
import { CLIENT_ERROR_CODES, errorFromResponse, HaulError, isHaulError, isRetryableStatus, parseRetryAfter, SERVER_ERROR_CODES } from './errors.js';

describe('error codes', () => {
  it("lists exactly the contract's error codes", () => {
    expect([...SERVER_ERROR_CODES].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('client codes do not collide with server codes', () => {
    for (const code of CLIENT_ERROR_CODES) expect(SERVER_ERROR_CODES as readonly string[]).not.toContain(code);
  });

  it('retryable statuses agree with the server (plus 0: no response)', () => {
    for (const { status, retryable } of Object.values(ERROR_CODES)) expect(isRetryableStatus(status), String(status)).toBe(retryable);
    expect(isRetryableStatus(0)).toBe(true);
  });
});

describe('errorFromResponse', () => {
  it('takes code and message from the JSON body', () => {
    const error = errorFromResponse(423, JSON.stringify({ code: 'UPLOAD_LOCKED', message: 'busy' }));
    expect(error).toBeInstanceOf(HaulError);
    expect(error).toMatchObject({ code: 'UPLOAD_LOCKED', message: 'busy', status: 423, retryable: true, serverCode: 'UPLOAD_LOCKED' });
    expect(isHaulError(error)).toBe(true);
  });

  it('keeps Retry-After (seconds or HTTP date)', () => {
    expect(errorFromResponse(429, '{"code":"RATE_LIMITED","message":"x"}', '7').retryAfterSeconds).toBe(7);
    const date = new Date(Date.now() + 10_000).toUTCString();
    expect(errorFromResponse(503, '', date).retryAfterSeconds).toBeGreaterThan(8);
  });

  it('an unknown server code becomes UNKNOWN, keeping the original', () => {
    expect(errorFromResponse(400, '{"code":"SOMETHING_NEW","message":"hm"}')).toMatchObject({ code: 'UNKNOWN', serverCode: 'SOMETHING_NEW', message: 'hm', retryable: false });
  });

  it('a body that is not JSON (a proxy page, tus plain text): the status decides', () => {
    expect(errorFromResponse(502, '<html>Bad Gateway</html>')).toMatchObject({ code: 'INTERNAL', status: 502, retryable: true });
    expect(errorFromResponse(401, '')).toMatchObject({ code: 'AUTH_INVALID', retryable: false, message: 'HTTP 401' });
    expect(errorFromResponse(409, 'mismatch')).toMatchObject({ code: 'OFFSET_MISMATCH', retryable: true });
  });

  it('serialises to JSON without the stack', () => {
    expect(JSON.parse(JSON.stringify(new HaulError('TIMEOUT', 'slow')))).toEqual({ name: 'HaulError', code: 'TIMEOUT', message: 'slow', status: 0, retryable: true });
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates; ignores garbage', () => {
    expect(parseRetryAfter('30')).toBe(30_000);
    expect(parseRetryAfter('1.5')).toBe(1_500);
    expect(parseRetryAfter(new Date(61_000).toUTCString(), 1_000)).toBe(60_000);
    expect(parseRetryAfter(new Date(0).toUTCString(), 5_000)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});
