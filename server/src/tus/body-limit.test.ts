import { describe, expect, it } from 'vitest';
import { bodyLimit, contentLengthOf } from './body-limit.js';

describe('bodyLimit', () => {
  const maxSize = 1000;

  it('allows up to the declared length, refusing a Content-Length that goes beyond it', () => {
    expect(bodyLimit({ offset: 0, size: 100, maxSize, contentLength: 100 }).limit).toBe(100);
    expect(bodyLimit({ offset: 40, size: 100, maxSize, contentLength: undefined }).limit).toBe(60);
    expect(bodyLimit({ offset: 40, size: 100, maxSize, contentLength: 10 }).limit).toBe(10);
    expect(() => bodyLimit({ offset: 40, size: 100, maxSize, contentLength: 61 })).toThrow(/Upload-Length of 100/);
    // A finished upload takes no more bytes, but an empty body is fine.
    expect(bodyLimit({ offset: 100, size: 100, maxSize, contentLength: 0 }).limit).toBe(0);
    expect(() => bodyLimit({ offset: 100, size: 100, maxSize, contentLength: 1 })).toThrow(expect.objectContaining({ status: 413 }));
  });

  it('allows a deferred upload to grow up to the maximum size', () => {
    expect(bodyLimit({ offset: 0, size: undefined, maxSize, contentLength: undefined }).limit).toBe(1000);
    expect(bodyLimit({ offset: 900, size: undefined, maxSize, contentLength: 100 }).limit).toBe(100);
    expect(() => bodyLimit({ offset: 900, size: undefined, maxSize, contentLength: 101 })).toThrow(/maximum size of 1000/);
  });

  it("holds a deferred upload to the room left in its owner's quota, refused as QUOTA_EXCEEDED", () => {
    expect(bodyLimit({ offset: 0, size: undefined, maxSize, quotaRoom: 300, contentLength: undefined }).limit).toBe(300);
    expect(bodyLimit({ offset: 0, size: undefined, maxSize, quotaRoom: 300, contentLength: 300 }).limit).toBe(300);
    expect(() => bodyLimit({ offset: 0, size: undefined, maxSize, quotaRoom: 300, contentLength: 301 })).toThrow(expect.objectContaining({ code: 'QUOTA_EXCEEDED' }));
    expect(bodyLimit({ offset: 0, size: undefined, maxSize, quotaRoom: 300, contentLength: undefined }).overLimit().code).toBe('QUOTA_EXCEEDED');
    // A declared length was checked against the quota when declared: the room no longer applies.
    expect(bodyLimit({ offset: 0, size: 500, maxSize, quotaRoom: 300, contentLength: undefined }).limit).toBe(500);
    // The maximum size is still the smaller limit when the quota is larger.
    expect(bodyLimit({ offset: 900, size: undefined, maxSize, quotaRoom: 5000, contentLength: undefined }).overLimit().code).toBe('UPLOAD_TOO_LARGE');
  });
});

describe('contentLengthOf', () => {
  it('reads plain integers only', () => {
    expect(contentLengthOf('0')).toBe(0);
    expect(contentLengthOf('12345')).toBe(12345);
    expect(contentLengthOf(undefined)).toBeUndefined();
    expect(contentLengthOf('1e3')).toBeUndefined();
    expect(contentLengthOf('99999999999999999999')).toBeUndefined();
  });
});
