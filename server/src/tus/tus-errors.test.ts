import { ERRORS } from '@tus/utils';
import { describe, expect, it } from 'vitest';
import { HaulError } from '../errors.js';
import { isTransientStorageError, toHaulError } from './tus-errors.js';

const answer = (error: unknown) => {
  const haul = toHaulError(error);
  return { status: haul.status, code: haul.code };
};

describe('toHaulError', () => {
  it('maps store and locker errors onto the code table', () => {
    expect(answer(ERRORS.FILE_NOT_FOUND)).toEqual({ status: 404, code: 'UPLOAD_NOT_FOUND' });
    expect(answer(ERRORS.FILE_NO_LONGER_EXISTS)).toEqual({ status: 410, code: 'UPLOAD_GONE' });
    // A lock timeout is transient: 423 tells clients to retry.
    expect(answer(ERRORS.ERR_LOCK_TIMEOUT)).toEqual({ status: 423, code: 'UPLOAD_LOCKED' });
    expect(answer(ERRORS.FILE_WRITE_ERROR)).toEqual({ status: 500, code: 'INTERNAL' });
  });

  it('passes HaulErrors through', () => {
    const error = new HaulError('TOO_MANY_UPLOADS');
    expect(toHaulError(error)).toBe(error);
  });

  it('turns storage outages into retryable 503s and other failures into 500s', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const s3Down = Object.assign(new Error('Service Unavailable'), { $metadata: { httpStatusCode: 503 } });
    const wrapped = new Error('request failed', { cause: refused });
    for (const error of [refused, s3Down, wrapped]) {
      expect(isTransientStorageError(error)).toBe(true);
      expect(answer(error)).toEqual({ status: 503, code: 'STORAGE_UNAVAILABLE' });
      expect(toHaulError(error).cause).toBe(error);
    }
    expect(answer(new TypeError('bug'))).toEqual({ status: 500, code: 'INTERNAL' });
  });
});
