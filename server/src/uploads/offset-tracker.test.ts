import { describe, expect, it } from 'vitest';
import { silentLogger } from '../logger.js';
import { createOffsetTracker } from './offset-tracker.js';

describe('offset tracker', () => {
  it('writes the highest offset per upload in one batch, and retries a failed batch', async () => {
    const batches: Array<Record<string, number>> = [];
    let fail = true;
    const tracker = createOffsetTracker({
      intervalMs: 60_000,
      logger: silentLogger,
      repository: {
        async recordOffsets(offsets) {
          if (fail) {
            fail = false;
            throw new Error('database blip');
          }
          batches.push(Object.fromEntries(offsets));
        },
      },
    });
    tracker.note('a', 10);
    tracker.note('a', 30);
    tracker.note('a', 20);
    tracker.note('b', 5);
    await tracker.flush();
    expect(batches).toEqual([]);
    tracker.note('b', 7);
    await tracker.stop();
    expect(batches).toEqual([{ a: 30, b: 7 }]);
  });

  it('forgets finished uploads', async () => {
    const batches: Array<Record<string, number>> = [];
    const tracker = createOffsetTracker({
      intervalMs: 60_000,
      logger: silentLogger,
      repository: { recordOffsets: async (o) => void batches.push(Object.fromEntries(o)) },
    });
    tracker.note('a', 1);
    tracker.forget('a');
    await tracker.stop();
    expect(batches).toEqual([]);
  });
});
