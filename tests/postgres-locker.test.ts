import { afterAll, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../server/src/logger.js';
import { PostgresLocker } from '../server/src/tus/postgres-locker.js';

/** Two lockers stand for two Haul instances sharing one PostgreSQL database. */
describe('PostgresLocker (real PostgreSQL)', () => {
  const url = inject('databaseUrl');
  const instanceA = new PostgresLocker(url, silentLogger, { timeoutMs: 2000 });
  const instanceB = new PostgresLocker(url, silentLogger, { timeoutMs: 2000 });
  const signal = () => new AbortController().signal;

  afterAll(async () => {
    await Promise.all([instanceA.close(), instanceB.close()]);
  });

  it('asks the holder in another instance to let go, then takes the lock', async () => {
    await Promise.all([instanceA.start(), instanceB.start()]);
    const held = instanceA.newLock('upload-1');
    let releaseRequested = false;
    await held.lock(signal(), () => {
      releaseRequested = true;
      setTimeout(() => void held.unlock(), 100);
    });
    const started = Date.now();
    const contender = instanceB.newLock('upload-1');
    await contender.lock(signal(), () => {});
    expect(releaseRequested).toBe(true);
    expect(Date.now() - started).toBeLessThan(1500);
    await contender.unlock();
  });

  it('never lets two holders in at once', async () => {
    let inside = 0;
    let maxInside = 0;
    const work = async (locker: PostgresLocker) => {
      const lock = locker.newLock('upload-2');
      await lock.lock(signal(), () => {});
      inside++;
      maxInside = Math.max(maxInside, inside);
      await new Promise((r) => setTimeout(r, 20));
      inside--;
      await lock.unlock();
    };
    await Promise.all(Array.from({ length: 8 }, (_, i) => work(i % 2 ? instanceA : instanceB)));
    expect(maxInside).toBe(1);
  });

  it('times out when the holder does not let go, and frees locks of a dead instance', async () => {
    const stubborn = instanceA.newLock('upload-3');
    await stubborn.lock(signal(), () => {});
    await expect(instanceB.newLock('upload-3').lock(signal(), () => {})).rejects.toMatchObject({ status_code: 500 });
    await stubborn.unlock();

    const crashing = new PostgresLocker(url, silentLogger);
    await crashing.newLock('upload-4').lock(signal(), () => {});
    await crashing.close(); // its connections end, as when a process dies
    const next = instanceB.newLock('upload-4');
    await next.lock(signal(), () => {});
    await next.unlock();
  });

  it('stops waiting when the request is aborted', async () => {
    const holder = instanceA.newLock('upload-5');
    await holder.lock(signal(), () => {});
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    await expect(instanceB.newLock('upload-5').lock(controller.signal, () => {})).rejects.toBeDefined();
    expect(Date.now() - started).toBeLessThan(1000);
    await holder.unlock();
  });
});
