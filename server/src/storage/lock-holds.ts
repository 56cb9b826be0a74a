/**
 * The upload locks this process holds right now (tus/upload-lock.ts enters and leaves them), one
 * distinct token per hold. A store may remember what it read under a hold and use it later in
 * the same hold — nobody else writes the upload meanwhile, in this process or another — keyed by
 * the token itself (a WeakMap), so what it remembered is unreachable once the hold ends: the
 * next hold, here or on another instance, starts from what storage says.
 */
export type LockHold = Readonly<{ key: string }>;

const holds = new Map<string, LockHold>();

/** Records that this process now holds `key`'s lock; returns the hold's token. */
export function enterLockHold(key: string): LockHold {
  const hold: LockHold = Object.freeze({ key });
  holds.set(key, hold);
  return hold;
}

/** The hold ends (before the lock is released). */
export function leaveLockHold(hold: LockHold): void {
  if (holds.get(hold.key) === hold) holds.delete(hold.key);
}

/** The hold of `key`'s lock under way in this process, if any. */
export function currentLockHold(key: string): LockHold | undefined {
  return holds.get(key);
}
