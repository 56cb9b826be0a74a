import { ERRORS } from '@tus/utils';
import { describe, expect, it } from 'vitest';
import { HaulError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { isTransientStorageError, toTusError } from './tus-errors.js';

const parse = (e: { status_code: number; body: string }) => ({ status: e.status_code, ...JSON.parse(e.body) });

describe('toTusError', () => {
  it('maps tus errors onto the code table, keeping tus statuses clients rely on', () => {
    expect(parse(toTusError(ERRORS.INVALID_OFFSET, silentLogger))).toMatchObject({ status: 409, code: 'OFFSET_MISMATCH' });
    expect(parse(toTusError(ERRORS.ERR_MAX_SIZE_EXCEEDED, silentLogger))).toMatchObject({ status: 413, code: 'UPLOAD_TOO_LARGE' });
    // A lock timeout is transient: 423 tells clients to retry.
    expect(parse(toTusError(ERRORS.ERR_LOCK_TIMEOUT, silentLogger))).toMatchObject({ status: 423, code: 'UPLOAD_LOCKED' });
  });

  it('passes HaulErrors through', () => {
    expect(parse(toTusError(new HaulError('TOO_MANY_UPLOADS'), silentLogger))).toMatchObject({ status: 429, code: 'TOO_MANY_UPLOADS' });
  });

  it('turns storage outages into retryable 503s and other failures into 500s', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const s3Down = Object.assign(new Error('Service Unavailable'), { $metadata: { httpStatusCode: 503 } });
    const wrapped = new Error('request failed', { cause: refused });
    for (const error of [refused, s3Down, wrapped]) {
      expect(isTransientStorageError(error)).toBe(true);
      expect(parse(toTusError(error, silentLogger))).toMatchObject({ status: 503, code: 'STORAGE_UNAVAILABLE' });
    }
    expect(parse(toTusError(new TypeError('bug'), silentLogger))).toMatchObject({ status: 500, code: 'INTERNAL' });
  });
});
