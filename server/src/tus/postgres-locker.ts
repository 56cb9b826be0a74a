import { createHash } from 'node:crypto';
import type { Lock, Locker, RequestRelease } from '@tus/utils';
import { ERRORS } from '@tus/utils';
import postgres from 'postgres';
import { APPLICATION_NAMES, DEFAULT_POOL_SETTINGS, poolOptions } from '../db/pool-settings.js';
import type { Logger } from '../logger.js';

const RELEASE_CHANNEL = 'haul_tus_lock_release';
const RETRY_MIN_MS = 20;
const RETRY_MAX_MS = 250;

/** A 64-bit advisory lock key for an upload, namespaced so other apps' keys are unlikely to clash. */
export function advisoryKey(id: string): bigint {
  return createHash('sha256').update(`haul:tus:${id}`).digest().readBigInt64BE(0);
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });

/** One PostgreSQL session (one connection) through which this process holds its upload locks. */
interface LockSession {
  readonly sql: postgres.Sql;
  /** Its connection closed, or it was retired: every lock taken through it is gone. */
  closed: boolean;
  /** Locks held through it, and attempts and requests under way on it. */
  users: number;
  idleTimer: NodeJS.Timeout | undefined;
}

interface Holder {
  session: LockSession;
  requestRelease: RequestRelease;
}

export interface PostgresLockerOptions {
  /** How long a request waits for an upload another request holds (then ERR_LOCK_TIMEOUT: 423). */
  timeoutMs?: number;
  /** The lock session closes once no lock has been held for this long (DATABASE_IDLE_TIMEOUT_SECONDS). */
  idleTimeoutSeconds?: number;
}

/**
 * A tus locker shared by every Haul instance on one PostgreSQL database, in two connections
 * whatever the number of uploads in progress.
 *
 * Each lock is a session-level advisory lock. PostgreSQL's manual (Advisory Locks): "Once
 * acquired at session level, an advisory lock is held until explicitly released or the session
 * ends", and `pg_advisory_unlock(key)` releases that one key — so one session holds the locks of
 * every request of this process, each released on its own, and a crashed instance's locks vanish
 * with its connection. But "If a session already holds a given advisory lock, additional requests
 * by it will always succeed": between the requests of this process the lock is decided here
 * (`held`, `taking`), and PostgreSQL decides between processes.
 *
 * If the session's connection is lost, its locks are gone: every request holding one is asked to
 * let go (as when another instance asks), and later locks are taken through a new session. With
 * no lock held for `idleTimeoutSeconds`, the session is closed; the next lock opens another.
 *
 * A request that finds an upload locked asks its holder to let go: here directly, elsewhere by
 * NOTIFY — the instance holding it calls the holder's `requestRelease` (which ends the old PATCH,
 * typically a client that reconnected through another instance while its dead connection still
 * held the lock) — and keeps trying until it gets the lock or gives up after `timeoutMs`.
 */
export class PostgresLocker implements Locker {
  /** LISTEN for release requests: one connection postgres.js opens apart from this (unused) pool and keeps. */
  private readonly requests: postgres.Sql;
  private session: LockSession | undefined;
  private readonly held = new Map<string, Holder>();
  /** Uploads whose lock this process is asking PostgreSQL for right now. */
  private readonly taking = new Set<string>();
  private listening: Promise<unknown> | undefined;
  private closing = false;
  private readonly timeoutMs: number;
  private readonly idleTimeoutSeconds: number;

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
    options: PostgresLockerOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.idleTimeoutSeconds = options.idleTimeoutSeconds ?? DEFAULT_POOL_SETTINGS.idleTimeoutSeconds;
    this.requests = postgres(url, poolOptions(APPLICATION_NAMES.lockRequests, { max: 1, idleTimeoutSeconds: this.idleTimeoutSeconds }));
  }

  /** Subscribes to release requests; call once before serving. */
  async start(): Promise<void> {
    this.listening ??= this.requests.listen(RELEASE_CHANNEL, (id) => {
      const holder = this.held.get(id);
      if (holder) {
        this.logger.debug('lock release requested', { key: id });
        this.askToLetGo(holder);
      }
    });
    await this.listening;
  }

  newLock(id: string): Lock {
    return new PostgresLock(id, this);
  }

  async close(): Promise<void> {
    this.closing = true;
    const session = this.session;
    if (session) this.retire(session);
    await Promise.all([session?.sql.end({ timeout: 5 }), this.requests.end({ timeout: 5 })]);
  }

  /** @internal */
  async acquire(id: string, signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    let wait = RETRY_MIN_MS;
    let askedForRelease = false;
    for (;;) {
      if (signal.aborted) throw ERRORS.ERR_LOCK_TIMEOUT;
      if (await this.tryLock(id, requestRelease)) return;
      if (!askedForRelease) askedForRelease = await this.askForRelease(id);
      if (Date.now() + wait > deadline) throw ERRORS.ERR_LOCK_TIMEOUT;
      await sleep(wait, signal);
      wait = Math.min(wait * 2, RETRY_MAX_MS);
    }
  }

  /** @internal */
  async release(id: string): Promise<void> {
    const holder = this.held.get(id);
    if (!holder) return;
    this.held.delete(id);
    const { session } = holder;
    try {
      if (session.closed) return; // its locks went with it
      const [row] = await session.sql`SELECT pg_advisory_unlock(${advisoryKey(id).toString()}::bigint) AS unlocked`;
      if (!row?.unlocked) this.logger.warn('advisory lock was not held at unlock', { key: id });
    } catch (err) {
      // The unlock could not be sent, so the session may still hold the lock: only ending the
      // session releases it, and with it the other locks held here (their requests let go).
      this.logger.warn('advisory unlock failed; closing the lock session', { err });
      this.lost(session);
    } finally {
      this.leave(session);
    }
  }

  /** One attempt: true if this request now holds the upload. */
  private async tryLock(id: string, requestRelease: RequestRelease): Promise<boolean> {
    // Another request of this process holds it or is taking it: the session would say yes again.
    if (this.held.has(id) || this.taking.has(id)) return false;
    const session = this.join();
    this.taking.add(id);
    let locked = false;
    try {
      const [row] = await session.sql`SELECT pg_try_advisory_lock(${advisoryKey(id).toString()}::bigint) AS locked`;
      locked = Boolean(row?.locked) && !session.closed;
      if (locked) this.held.set(id, { session, requestRelease });
      return locked;
    } finally {
      this.taking.delete(id);
      if (!locked) this.leave(session);
    }
  }

  /** Asks whoever holds `id` to let go; false if no one could be asked yet (another request here is taking it). */
  private async askForRelease(id: string): Promise<boolean> {
    const local = this.held.get(id);
    if (local) {
      this.askToLetGo(local);
      return true;
    }
    if (this.taking.has(id)) return false;
    const session = this.join();
    try {
      await session.sql`SELECT pg_notify(${RELEASE_CHANNEL}, ${id})`;
    } finally {
      this.leave(session);
    }
    return true;
  }

  private askToLetGo(holder: Holder) {
    void Promise.resolve(holder.requestRelease()).catch((err: unknown) => this.logger.warn('release request failed', { err }));
  }

  /** The current lock session (opened if there is none), counted as in use until `leave`. */
  private join(): LockSession {
    if (this.closing) throw ERRORS.ERR_LOCK_TIMEOUT;
    const session = (this.session ??= this.open());
    session.users++;
    clearTimeout(session.idleTimer);
    session.idleTimer = undefined;
    return session;
  }

  private leave(session: LockSession) {
    session.users--;
    if (session.users > 0 || session.closed || session !== this.session) return;
    session.idleTimer = setTimeout(() => {
      if (session.users === 0) {
        this.retire(session);
        void session.sql.end({ timeout: 5 }).catch(() => {});
      }
    }, this.idleTimeoutSeconds * 1000);
    session.idleTimer.unref();
  }

  private open(): LockSession {
    const session: LockSession = {
      closed: false,
      users: 0,
      idleTimer: undefined,
      sql: postgres(this.url, {
        // Its locks live as long as its one connection: postgres.js must never close it for
        // being idle (a PATCH holding a lock sends no query for minutes) or old (max_lifetime),
        // nor reconnect it behind our back. Idleness is handled in `leave`, when no lock is held.
        ...poolOptions(APPLICATION_NAMES.locks, { max: 1, idleTimeoutSeconds: 0 }),
        max_lifetime: 0,
        fetch_types: false,
        onclose: () => this.lost(session),
      }),
    };
    return session;
  }

  /** No new lock goes through `session`. */
  private retire(session: LockSession) {
    session.closed = true;
    clearTimeout(session.idleTimer);
    if (this.session === session) this.session = undefined;
  }

  /** The session's connection is gone, or must go: so are its locks, and their holders are told. */
  private lost(session: LockSession) {
    if (session.closed) return;
    this.retire(session);
    const holders = [...this.held.values()].filter((h) => h.session === session);
    if (holders.length > 0) this.logger.warn('the lock session was lost; its requests are asked to let go', { locks: holders.length });
    for (const holder of holders) this.askToLetGo(holder);
    // Ended, so that postgres.js does not open a new connection for it (that would hold no lock).
    setImmediate(() => void session.sql.end({ timeout: 0 }).catch(() => {}));
  }
}

class PostgresLock implements Lock {
  private locked = false;

  constructor(
    private readonly id: string,
    private readonly locker: PostgresLocker,
  ) {}

  async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    await this.locker.acquire(this.id, signal, requestRelease);
    this.locked = true;
  }

  async unlock(): Promise<void> {
    if (!this.locked) throw new Error('Releasing an unlocked lock');
    this.locked = false;
    await this.locker.release(this.id);
  }
}
