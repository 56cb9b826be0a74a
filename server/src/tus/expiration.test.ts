import { describe, expect, it } from 'vitest';
import { checkNotExpired, uploadExpiresHeader } from './expiration.js';

describe('expiration', () => {
  const now = Date.parse('2026-12-01T10:00:00Z');

  it('refuses an unfinished upload past its expiry with 410, even before the sweep ran', () => {
    const past = new Date(now - 1);
    expect(() => checkNotExpired({ status: 'uploading', expiresAt: past }, now)).toThrow(expect.objectContaining({ status: 410, code: 'UPLOAD_GONE' }));
    expect(() => checkNotExpired({ status: 'part_received', expiresAt: past }, now)).toThrow(expect.objectContaining({ status: 410 }));
    expect(() => checkNotExpired({ status: 'uploading', expiresAt: new Date(now + 1000) }, now)).not.toThrow();
  });

  it('never expires a finished upload', () => {
    expect(() => checkNotExpired({ status: 'received', expiresAt: null }, now)).not.toThrow();
    expect(() => checkNotExpired({ status: 'ready', expiresAt: new Date(now - 1) }, now)).not.toThrow();
  });

  it('announces the expiry as an RFC 7231 date', () => {
    expect(uploadExpiresHeader(new Date(now))).toEqual({ 'Upload-Expires': 'Tue, 01 Dec 2026 10:00:00 GMT' });
    expect(uploadExpiresHeader(null)).toEqual({});
  });
});
