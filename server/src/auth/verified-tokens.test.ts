import { describe, expect, it } from 'vitest';
import { createVerifiedTokens } from './verified-tokens.js';

describe('verified tokens', () => {
  const alice = { id: 'alice' };
  const clock = (start = 1_000_000) => {
    let t = start;
    return { now: () => t, advance: (ms: number) => void (t += ms) };
  };

  it('takes a verified token again until its exp', () => {
    const time = clock();
    const tokens = createVerifiedTokens({ ttlMs: 60_000, now: time.now });
    tokens.remember('t1', alice, time.now() + 10_000);
    expect(tokens.get('t1')).toBe(alice);
    time.advance(9_999);
    expect(tokens.get('t1')).toBe(alice);
    time.advance(1);
    expect(tokens.get('t1')).toBeUndefined();
    expect(tokens.get('never-seen')).toBeUndefined();
  });

  it('verifies again after ttlMs, however long the token lives', () => {
    const time = clock();
    const tokens = createVerifiedTokens({ ttlMs: 60_000, now: time.now });
    tokens.remember('t1', alice, time.now() + 3_600_000);
    time.advance(59_999);
    expect(tokens.get('t1')).toBe(alice);
    time.advance(1);
    expect(tokens.get('t1')).toBeUndefined();
  });

  it('keeps nothing for a token already expired, and at most `max` tokens', () => {
    const time = clock();
    const tokens = createVerifiedTokens({ max: 2, now: time.now });
    tokens.remember('expired', alice, time.now());
    expect(tokens.get('expired')).toBeUndefined();
    tokens.remember('a', alice, time.now() + 1000);
    tokens.remember('b', alice, time.now() + 1000);
    tokens.remember('c', alice, time.now() + 1000);
    expect(tokens.get('a')).toBeUndefined();
    expect(tokens.get('b')).toBe(alice);
    expect(tokens.get('c')).toBe(alice);
  });
});
