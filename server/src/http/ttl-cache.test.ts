import { describe, expect, it } from 'vitest';
import { createTtlCache } from './ttl-cache.js';

describe('createTtlCache', () => {
  it('keeps an entry for ttlMs, then forgets it', () => {
    let time = 1000;
    const cache = createTtlCache<boolean>({ ttlMs: 500, maxEntries: 10, now: () => time });
    cache.set('a', false);
    expect(cache.get('a')).toBe(false);
    time = 1499;
    expect(cache.get('a')).toBe(false);
    time = 1500;
    expect(cache.get('a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('holds at most maxEntries, dropping the least recently used', () => {
    const cache = createTtlCache<number>({ ttlMs: 60_000, maxEntries: 3 });
    for (const [i, key] of ['a', 'b', 'c'].entries()) cache.set(key, i);
    expect(cache.get('a')).toBe(0); // a is now the most recently used
    cache.set('d', 3);
    expect(cache.size).toBe(3);
    expect(cache.get('b')).toBeUndefined();
    expect([cache.get('a'), cache.get('c'), cache.get('d')]).toEqual([0, 2, 3]);
    for (let i = 0; i < 1000; i++) cache.set(`k${i}`, i);
    expect(cache.size).toBe(3);
  });

  it('caches nothing with ttlMs 0 or maxEntries 0', () => {
    for (const options of [{ ttlMs: 0, maxEntries: 10 }, { ttlMs: 1000, maxEntries: 0 }]) {
      const cache = createTtlCache<number>(options);
      cache.set('a', 1);
      expect(cache.get('a')).toBeUndefined();
    }
  });
});
