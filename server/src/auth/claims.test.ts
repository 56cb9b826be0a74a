import { describe, expect, it } from 'vitest';
import { HaulError } from '../errors.js';
import { userFromClaims } from './claims.js';

const parse = (claims: Record<string, unknown>, scopesClaim = 'scopes') => userFromClaims(claims, { scopesClaim });
const code = (claims: Record<string, unknown>) => {
  try {
    parse(claims);
    return 'ok';
  } catch (error) {
    expect(error).toBeInstanceOf(HaulError);
    return (error as HaulError).code;
  }
};

describe('userFromClaims', () => {
  it('sub is the user; no scopes claim means the token says nothing about scopes', () => {
    expect(parse({ sub: 'alice' })).toEqual({ id: 'alice' });
    expect(parse({ sub: 'alice', scopes: [] })).toEqual({ id: 'alice', scopes: [] });
  });

  it('reads the configured claim (JWT_SCOPES_CLAIM) and only that one', () => {
    expect(parse({ sub: 'bob', scopes: ['conv:1', 'conv:2'] })).toEqual({ id: 'bob', scopes: ['conv:1', 'conv:2'] });
    expect(parse({ sub: 'bob', 'https://chat.example/rooms': ['conv:3'], scopes: ['conv:1'] }, 'https://chat.example/rooms')).toEqual({ id: 'bob', scopes: ['conv:3'] });
  });

  it('role "service" makes a service named by sub, whatever scopes it lists', () => {
    expect(parse({ sub: 'billing', role: 'service', scopes: ['x'] })).toEqual({ id: 'service:billing', service: 'billing' });
    expect(parse({ sub: 'billing', role: 'admin' })).toEqual({ id: 'billing' });
  });

  it('a malformed subject or scopes claim makes the token invalid (never "no scopes")', () => {
    for (const claims of [
      {}, { sub: '' }, { sub: 'x'.repeat(256) }, { sub: 42 },
      { sub: 'a', scopes: 'conv:1' }, { sub: 'a', scopes: [1] }, { sub: 'a', scopes: ['has space'] }, { sub: 'a', scopes: [''] },
      { sub: 'a', scopes: Array.from({ length: 1001 }, (_, i) => `s${i}`) }, { sub: 'a', scopes: null },
    ]) {
      expect(code(claims), JSON.stringify(claims).slice(0, 80)).toBe('AUTH_INVALID');
    }
  });
});
