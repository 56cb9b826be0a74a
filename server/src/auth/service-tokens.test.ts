import { describe, expect, it } from 'vitest';
import { createServiceTokenMatcher, parseServiceTokens } from './service-tokens.js';

const A = 'a'.repeat(40);
const B = 'B-b.b_b~b+b/b='.padEnd(32, 'b');

describe('SERVICE_TOKENS', () => {
  it('parses name:token pairs (tokens may contain ":" after the first)', () => {
    expect(parseServiceTokens(` backend:${A} , jobs:${B} `)).toEqual({ tokens: [{ name: 'backend', token: A }, { name: 'jobs', token: B }] });
    expect(parseServiceTokens(undefined)).toEqual({ tokens: [] });
    expect(parseServiceTokens('')).toEqual({ tokens: [] });
  });

  it('refuses short tokens, bad names, duplicates — without echoing a token', () => {
    for (const text of [`backend:${'a'.repeat(31)}`, `:${A}`, A, `bad name:${A}`, `x:${A},x:${B}`, `x:${A},y:${A}`, `x:${A} ${A}`]) {
      const parsed = parseServiceTokens(text);
      expect(parsed, text).toHaveProperty('problem');
      expect(JSON.stringify(parsed)).not.toContain(A);
    }
  });

  it('matches exactly one configured token, and nothing else', () => {
    const match = createServiceTokenMatcher([{ name: 'backend', token: A }, { name: 'jobs', token: B }]);
    expect(match(A)).toBe('backend');
    expect(match(B)).toBe('jobs');
    for (const other of [A.slice(1), `${A}a`, '', 'eyJhbGciOiJIUzI1NiJ9.e30.x']) expect(match(other)).toBeUndefined();
    expect(createServiceTokenMatcher([])(A)).toBeUndefined();
  });
});
