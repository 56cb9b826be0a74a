import { HaulError } from '@haul/client';
import { describe, expect, it } from 'vitest';
import { describeError, errorFromBody } from './problems.js';

describe('describeError', () => {
  it('says when to try again after a rate limit', () => {
    const error = errorFromBody(429, '{"code":"RATE_LIMITED","message":"Too many requests; slow down"}', '12');
    expect(describeError(error, { action: 'download a.png', countable: 'downloads' }).message).toBe('Too many downloads: try again in 12 s.');
  });

  it('asks to sign in again when the token is refused', () => {
    const problem = describeError(new HaulError('AUTH_INVALID', 'The bearer token is invalid or expired', { status: 401 }), { action: 'load your uploads' });
    expect(problem).toEqual({ message: 'Signed out: your token expired or was refused — sign in again.', signIn: true });
  });

  it("passes the server's own sentence on", () => {
    const error = errorFromBody(409, '{"code":"UPLOAD_NOT_READY","message":"This upload is processing; wait until it is ready"}', null);
    expect(describeError(error, { action: 'download a.pdf' }).message).toBe('Could not download a.pdf: This upload is processing; wait until it is ready.');
  });

  it('marks uploads that no longer exist', () => {
    expect(describeError(new HaulError('UPLOAD_NOT_FOUND', 'Upload not found', { status: 404 }), { action: 'delete a' }).gone).toBe(true);
  });

  it('treats a timed-out action like an unreachable server', () => {
    const error = new HaulError('ABORTED', 'aborted', { cause: new DOMException('signal timed out', 'TimeoutError') });
    expect(describeError(error, { action: 'delete a' }).message).toMatch(/did not answer — check your connection/);
  });

  it('reads answers that are not JSON by their status', () => {
    expect(errorFromBody(502, '<html>Bad gateway</html>', null)).toMatchObject({ code: 'UNKNOWN', status: 502, message: 'HTTP 502' });
  });
});
