import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { HaulError } from '../errors.js';
import { applyMethodOverride, checkTusResumable } from './protocol-guards.js';

const request = (method: string, override?: string) =>
  ({ method, headers: override === undefined ? {} : { 'x-http-method-override': override } }) as IncomingMessage;

describe('X-HTTP-Method-Override', () => {
  it('rewrites POST and GET to the requested method', () => {
    const req = request('POST', 'patch');
    applyMethodOverride(req);
    expect(req.method).toBe('PATCH');
  });

  it('ignores the header on other methods and refuses unknown methods', () => {
    const req = request('DELETE', 'PATCH');
    applyMethodOverride(req);
    expect(req.method).toBe('DELETE');
    expect(() => applyMethodOverride(request('POST', 'TRACE'))).toThrow(HaulError);
  });
});

describe('Tus-Resumable', () => {
  it('accepts 1.0.0 and answers anything else with 412 and Tus-Version', () => {
    expect(() => checkTusResumable('1.0.0')).not.toThrow();
    for (const value of [undefined, '0.2.2', '2.0.0', '']) {
      try {
        checkTusResumable(value);
        expect.unreachable();
      } catch (error) {
        expect(error).toMatchObject({ status: 412, code: 'UNSUPPORTED_VERSION', headers: { 'Tus-Version': '1.0.0' } });
      }
    }
  });
});
