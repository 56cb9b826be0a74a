import { ERRORS, type Lock, type Locker, type RequestRelease } from '@tus/utils';

interface Waiter {
  requestRelease: RequestRelease;
  grant(): void;
}

interface Held {
  requestRelease: RequestRelease;
  /** Requests waiting for this upload, first come first served. */
  queue: Waiter[];
}

const askToRelease = (held: Held) => void Promise.resolve().then(held.requestRelease).catch(() => {});

/**
 * Upload locks for one process (the embedded database has one instance). A request that finds
 * an upload locked asks the holder to let go (tus: a client that reconnected while its dead
 * connection still holds the upload) and queues; unlocking hands the lock to the next in line,
 * which is asked to let go in turn if others still wait. Waiting costs nothing: no polling.
 * Gives up with ERR_LOCK_TIMEOUT after `timeoutMs` or when the request's signal aborts.
 */
export function createMemoryLocker({ timeoutMs = 30_000 }: { timeoutMs?: number } = {}): Locker {
  const locks = new Map<string, Held>();

  const handOver = (id: string, held: Held) => {
    const next = held.queue.shift();
    if (!next) return void locks.delete(id);
    held.requestRelease = next.requestRelease;
    next.grant();
    if (held.queue.length > 0) askToRelease(held);
  };

  const newLock = (id: string): Lock => {
    let holding = false;
    return {
      async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
        if (signal.aborted) throw ERRORS.ERR_LOCK_TIMEOUT;
        const held = locks.get(id);
        if (!held) {
          locks.set(id, { requestRelease, queue: [] });
          holding = true;
          return;
        }
        await new Promise<void>((resolve, reject) => {
          const giveUp = () => {
            clearTimeout(timer);
            signal.removeEventListener('abort', giveUp);
            held.queue.splice(held.queue.indexOf(waiter), 1);
            reject(ERRORS.ERR_LOCK_TIMEOUT);
          };
          const waiter: Waiter = {
            requestRelease,
            grant: () => {
              clearTimeout(timer);
              signal.removeEventListener('abort', giveUp);
              resolve();
            },
          };
          const timer = setTimeout(giveUp, timeoutMs);
          signal.addEventListener('abort', giveUp, { once: true });
          held.queue.push(waiter);
          askToRelease(held);
        });
        holding = true;
      },

      async unlock(): Promise<void> {
        const held = locks.get(id);
        if (!holding || !held) throw new Error('Releasing an unlocked lock');
        holding = false;
        handOver(id, held);
      },
    };
  };

  return { newLock };
}
