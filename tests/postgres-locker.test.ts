import { ERRORS } from '@tus/utils';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { APPLICATION_NAMES } from '../server/src/db/pool-settings.js';
import { silentLogger } from '../server/src/logger.js';
import { PostgresLocker, type PostgresLockerOptions } from '../server/src/tus/postgres-locker.js';
import { type FreshDatabase, freshDatabase } from './helpers/database.js';
import { waitFor } from './helpers/wait.js';

/**
 * Takes the lock of `upload` once through each of `lockers` at the same time, each holding it for
 * 20 ms: how many held it at once (1 if the lock excludes).
 */
async function mostHoldersAtOnce(lockers: PostgresLocker[], upload: string): Promise<number> {
  let inside = 0;
  let most = 0;
  await Promise.all(lockers.map(async (locker) => {
    const lock = locker.newLock(upload);
    await lock.lock(new AbortController().signal, () => {});
    inside++;
    most = Math.max(most, inside);
    await new Promise((r) => setTimeout(r, 20));
    inside--;
    await lock.unlock();
  }));
  return most;
}

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
    expect(await mostHoldersAtOnce(Array.from({ length: 8 }, (_, i) => (i % 2 ? instanceA : instanceB)), 'upload-2')).toBe(1);
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

/** One instance's locks: how many connections hold them, and what happens when that one is lost. */
describe('PostgresLocker connections (real PostgreSQL, a database of its own)', () => {
  let database: FreshDatabase;
  const lockers: PostgresLocker[] = [];
  const signal = () => new AbortController().signal;
  const locker = (options: PostgresLockerOptions = {}) => {
    const created = new PostgresLocker(database.url, silentLogger, { timeoutMs: 3000, ...options });
    lockers.push(created);
    return created;
  };
  const name = () => new URL(database.url).pathname.slice(1);
  /** Connections to this database by application_name. */
  const connections = async (): Promise<Record<string, number>> => {
    const rows = await database.sql<{ application_name: string; n: number }[]>`
      SELECT application_name, count(*)::int AS n FROM pg_stat_activity
      WHERE datname = ${name()} AND application_name LIKE 'haul-%' GROUP BY application_name`;
    return Object.fromEntries(rows.map((r) => [r.application_name, r.n]));
  };
  /** Advisory locks granted to lock sessions on this database. */
  const advisoryLocksHeld = async () => {
    const [row] = await database.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND a.datname = ${name()} AND a.application_name = ${APPLICATION_NAMES.locks}`;
    return row!.n;
  };

  /** Closes every locker but `kept`: its lock session is then the only one on the database. */
  const closeAllBut = (kept: PostgresLocker) => Promise.all(lockers.filter((l) => l !== kept).map((l) => l.close()));

  beforeAll(async () => {
    database = await freshDatabase(inject('databaseUrl'));
  });
  afterAll(async () => {
    await Promise.all(lockers.map((l) => l.close()));
    await database?.drop();
  });

  it('holds the locks of many uploads on one connection, each released on its own', async () => {
    const instance = locker();
    await instance.start();
    const locks = Array.from({ length: 20 }, (_, i) => instance.newLock(`many-${i}`));
    await Promise.all(locks.map((lock) => lock.lock(signal(), () => {})));
    expect(await advisoryLocksHeld()).toBe(20);
    expect(await connections()).toEqual({ [APPLICATION_NAMES.locks]: 1, [APPLICATION_NAMES.lockRequests]: 1 });
    await Promise.all(locks.slice(0, 5).map((lock) => lock.unlock()));
    expect(await advisoryLocksHeld()).toBe(15);
    // Another instance gets a released upload, not one still held here.
    const other = locker({ timeoutMs: 300 });
    const released = other.newLock('many-0');
    await released.lock(signal(), () => {});
    await expect(other.newLock('many-10').lock(signal(), () => {})).rejects.toBe(ERRORS.ERR_LOCK_TIMEOUT);
    await Promise.all([released, ...locks.slice(5)].map((lock) => lock.unlock()));
    expect(await advisoryLocksHeld()).toBe(0);
  });

  it('lets one request of an instance at a time hold an upload (the session alone would say yes twice)', async () => {
    const instance = locker({ timeoutMs: 10_000 });
    expect(await mostHoldersAtOnce(Array.from({ length: 6 }, () => instance), 'same-instance')).toBe(1);
  });

  it('asks its holders to let go when the lock session is lost, and takes later locks on a new one', async () => {
    const instance = locker();
    await instance.start();
    const held = instance.newLock('lost-1');
    let asked = false;
    await held.lock(signal(), () => {
      asked = true;
    });
    await closeAllBut(instance);
    const [session] = await database.sql<{ pid: number }[]>`
      SELECT pid FROM pg_stat_activity WHERE datname = ${name()} AND application_name = ${APPLICATION_NAMES.locks}`;
    await database.sql`SELECT pg_terminate_backend(${session!.pid})`;
    await waitFor(() => asked, { what: 'the holder to be asked to let go', timeoutMs: 5000 });
    // Its lock went with the session: another instance takes the upload.
    const other = locker();
    const taken = other.newLock('lost-1');
    await taken.lock(signal(), () => {});
    await held.unlock();
    const next = instance.newLock('lost-2');
    await next.lock(signal(), () => {});
    expect(await advisoryLocksHeld()).toBe(2);
    await Promise.all([taken.unlock(), next.unlock()]);
  });

  it('closes the lock session once no lock has been held for the idle timeout', async () => {
    const instance = locker({ idleTimeoutSeconds: 1 });
    await instance.start();
    const lock = instance.newLock('idle-1');
    await lock.lock(signal(), () => {});
    // Held longer than the idle timeout: the session stays while it holds a lock.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await advisoryLocksHeld()).toBe(1);
    await lock.unlock();
    await closeAllBut(instance);
    await waitFor(async () => (await connections())[APPLICATION_NAMES.locks] === undefined, { what: 'the idle lock session to close', timeoutMs: 5000 });
    // Its LISTEN connection stays: release requests must reach it.
    expect((await connections())[APPLICATION_NAMES.lockRequests]).toBe(1);
    const again = instance.newLock('idle-2');
    await again.lock(signal(), () => {});
    await again.unlock();
  });
});
