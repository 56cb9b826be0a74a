import type { Locker } from '@tus/utils';
import { enterLockHold, leaveLockHold } from '../storage/lock-holds.js';

/**
 * Runs `work` holding the upload's lock: one request at a time reads or writes an upload's
 * storage (across instances with the PostgreSQL locker), so an offset checked is the offset
 * written at. `onReleaseRequested` runs when another request wants the upload — the holder then
 * ends what it is doing soon (a PATCH ends its body after a short grace, keeping its bytes).
 * While `work` runs, the hold is known to storage (storage/lock-holds.ts): what the S3 store read
 * of the upload serves the write that follows, and nothing after.
 */
export async function withUploadLock<T>(
  locker: Locker,
  key: string,
  { signal, onReleaseRequested = () => {} }: { signal: AbortSignal; onReleaseRequested?: () => void },
  work: () => Promise<T>,
): Promise<T> {
  const lock = locker.newLock(key);
  await lock.lock(signal, onReleaseRequested);
  const hold = enterLockHold(key);
  try {
    return await work();
  } finally {
    leaveLockHold(hold);
    await lock.unlock();
  }
}
