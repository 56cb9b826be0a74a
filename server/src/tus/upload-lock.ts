import type { Locker } from '@tus/utils';

/**
 * Runs `work` holding the upload's lock: one request at a time reads or writes an upload's
 * storage (across instances with the PostgreSQL locker), so an offset checked is the offset
 * written at. `onReleaseRequested` runs when another request wants the upload — the holder then
 * ends what it is doing soon (a PATCH ends its body after a short grace, keeping its bytes).
 */
export async function withUploadLock<T>(
  locker: Locker,
  key: string,
  { signal, onReleaseRequested = () => {} }: { signal: AbortSignal; onReleaseRequested?: () => void },
  work: () => Promise<T>,
): Promise<T> {
  const lock = locker.newLock(key);
  await lock.lock(signal, onReleaseRequested);
  try {
    return await work();
  } finally {
    await lock.unlock();
  }
}
