import { describe, expect, it } from 'vitest';
import { createMemoryLocker } from './memory-locker.js';

const never = () => new AbortController().signal;

describe('createMemoryLocker', () => {
  it('asks the holder to let go, then hands the lock to the waiter', async () => {
    const locker = createMemoryLocker();
    const first = locker.newLock('u');
    let asked = 0;
    await first.lock(never(), () => {
      asked++;
      setTimeout(() => void first.unlock(), 10);
    });
    const second = locker.newLock('u');
    await second.lock(never(), () => {});
    expect(asked).toBe(1);
    await second.unlock();
    // Free again: taken at once.
    const third = locker.newLock('u');
    await third.lock(never(), () => expect.unreachable());
    await third.unlock();
  });

  it('never lets two holders in at once, and serves waiters in order', async () => {
    const locker = createMemoryLocker();
    const order: number[] = [];
    let inside = 0;
    await Promise.all(Array.from({ length: 6 }, async (_, i) => {
      const lock = locker.newLock('u');
      await lock.lock(never(), () => {});
      inside++;
      expect(inside).toBe(1);
      order.push(i);
      await new Promise((r) => setTimeout(r, 5));
      inside--;
      await lock.unlock();
    }));
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('gives up after the timeout or when the request is aborted, and the lock still works', async () => {
    const locker = createMemoryLocker({ timeoutMs: 50 });
    const holder = locker.newLock('u');
    await holder.lock(never(), () => {});
    await expect(locker.newLock('u').lock(never(), () => {})).rejects.toMatchObject({ status_code: 500 });
    const controller = new AbortController();
    const waiting = locker.newLock('u').lock(controller.signal, () => {});
    controller.abort();
    await expect(waiting).rejects.toBeDefined();
    await holder.unlock();
    const next = locker.newLock('u');
    await next.lock(never(), () => {});
    await next.unlock();
    await expect(next.unlock()).rejects.toThrow(/unlocked/);
  });

  it('keeps uploads independent', async () => {
    const locker = createMemoryLocker({ timeoutMs: 50 });
    const a = locker.newLock('a');
    await a.lock(never(), () => {});
    const b = locker.newLock('b');
    await b.lock(never(), () => expect.unreachable());
    await Promise.all([a.unlock(), b.unlock()]);
  });
});
