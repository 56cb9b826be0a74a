import { createHash } from 'node:crypto';
import type { Lock, Locker, RequestRelease } from '@tus/utils';
import { ERRORS } from '@tus/utils';
import postgres from 'postgres';
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

/**
 * A tus locker shared by every Haul instance on one PostgreSQL database.
 *
 * Each held lock is a session-level advisory lock on a connection reserved for as long as the
 * request holds it, so a crashed instance's locks vanish with its connections. A request that
 * finds an upload locked broadcasts a release request with NOTIFY; the instance holding it
 * calls the holder's `requestRelease` for that request (which ends the old PATCH — typically a
 * client that reconnected through another instance while its dead connection still held the
 * lock), and the new request keeps trying until it gets the lock or gives up after `timeoutMs`.
 */
export class PostgresLocker implements Locker {
  private readonly sql: postgres.Sql;
  private readonly held = new Map<string, RequestRelease>();
  private listening: Promise<unknown> | undefined;

  constructor(
    url: string,
    private readonly logger: Logger,
    private readonly options: { timeoutMs?: number; maxConnections?: number } = {},
  ) {
    this.sql = postgres(url, {
      max: options.maxConnections ?? 50,
      onnotice: () => {},
      connect_timeout: 5,
      connection: { application_name: 'haul-locker' },
    });
  }

  /** Subscribes to release requests; call once before serving. */
  async start(): Promise<void> {
    this.listening ??= this.sql.listen(RELEASE_CHANNEL, (id) => {
      const release = this.held.get(id);
      if (release) {
        this.logger.debug('lock release requested', { key: id });
        void Promise.resolve(release()).catch((err: unknown) => this.logger.warn('release request failed', { err }));
      }
    });
    await this.listening;
  }

  newLock(id: string): Lock {
    return new PostgresLock(id, this);
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }

  /** @internal */
  async acquire(id: string, signal: AbortSignal, requestRelease: RequestRelease): Promise<postgres.ReservedSql> {
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    const key = advisoryKey(id).toString();
    const connection = await this.sql.reserve();
    try {
      let wait = RETRY_MIN_MS;
      let askedForRelease = false;
      for (;;) {
        if (signal.aborted) throw ERRORS.ERR_LOCK_TIMEOUT;
        const [row] = await connection`SELECT pg_try_advisory_lock(${key}::bigint) AS locked`;
        if (row?.locked) {
          this.held.set(id, requestRelease);
          return connection;
        }
        if (!askedForRelease) {
          askedForRelease = true;
          await this.sql`SELECT pg_notify(${RELEASE_CHANNEL}, ${id})`;
        }
        if (Date.now() + wait > deadline) throw ERRORS.ERR_LOCK_TIMEOUT;
        await sleep(wait, signal);
        wait = Math.min(wait * 2, RETRY_MAX_MS);
      }
    } catch (error) {
      connection.release();
      throw error;
    }
  }

  /** @internal */
  async release(id: string, connection: postgres.ReservedSql): Promise<void> {
    this.held.delete(id);
    try {
      await connection`SELECT pg_advisory_unlock(${advisoryKey(id).toString()}::bigint)`;
      connection.release();
    } catch (err) {
      // If the unlock could not be sent, the session may still hold the lock: end that
      // connection, which releases every lock it held, rather than return it to the pool.
      this.logger.warn('advisory unlock failed; closing its connection', { err });
      await connection.end?.().catch(() => {});
    }
  }
}

class PostgresLock implements Lock {
  private connection: postgres.ReservedSql | undefined;

  constructor(
    private readonly id: string,
    private readonly locker: PostgresLocker,
  ) {}

  async lock(signal: AbortSignal, requestRelease: RequestRelease): Promise<void> {
    this.connection = await this.locker.acquire(this.id, signal, requestRelease);
  }

  async unlock(): Promise<void> {
    const connection = this.connection;
    if (!connection) throw new Error('Releasing an unlocked lock');
    this.connection = undefined;
    await this.locker.release(this.id, connection);
  }
}
