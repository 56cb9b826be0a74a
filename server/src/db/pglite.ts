import fs from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Database, Queryable } from './database.js';
import { acquireDirectoryLock, type DirectoryLock } from './directory-lock.js';

/**
 * Embedded PostgreSQL (PGlite, WASM, in-process) for zero-setup runs. PGlite does not lock its
 * data directory and two processes opening it silently diverge, so we hold our own lock file.
 * Without a directory the database lives in memory (unit tests).
 */
export async function createPgliteDatabase(directory?: string): Promise<Database> {
  let lock: DirectoryLock | undefined;
  if (directory !== undefined) {
    await fs.mkdir(path.dirname(directory), { recursive: true });
    lock = await acquireDirectoryLock(`${directory}.lock`, 'embedded database');
  }
  let db: PGlite;
  try {
    db = await PGlite.create(directory);
  } catch (error) {
    await lock?.release();
    throw error;
  }
  const queryable = (target: Pick<PGlite, 'query' | 'exec'>): Queryable => ({
    query: async (text, params = []) => (await target.query(text, params as unknown[])).rows as never,
    exec: async (script) => {
      await target.exec(script);
    },
  });
  return {
    kind: 'pglite',
    ...queryable(db),
    transaction: (fn) => db.transaction((tx) => fn(queryable(tx))),
    close: async () => {
      await db.close();
      await lock?.release();
    },
  };
}
