import { afterAll, describe, expect, inject, it } from 'vitest';
import { migrate } from '../server/src/db/migrate.js';
import { createPostgresDatabase } from '../server/src/db/postgres.js';
import { type FreshDatabase, freshDatabase } from './helpers/database.js';

/**
 * Instances started together on a fresh database each run the migrations at start-up. They must
 * all start: an advisory lock serialises them, from the bookkeeping table on (two CREATE TABLE IF
 * NOT EXISTS at once on a fresh database can both miss the table, and one fails with "duplicate
 * key value violates unique constraint pg_type_typname_nsp_index").
 */

const databases: FreshDatabase[] = [];
afterAll(async () => {
  for (const db of databases) await db.drop();
});

describe('migrations from several processes at once', () => {
  it('six runners on fresh databases, five times: all succeed, each migration applied once', async () => {
    for (let round = 0; round < 5; round++) {
      const fresh = await freshDatabase(inject('databaseUrl'));
      databases.push(fresh);
      const runners = Array.from({ length: 6 }, () => createPostgresDatabase(fresh.url));
      try {
        const results = await Promise.all(runners.map((db) => migrate(db)));
        const applied = results.flatMap((r) => r.applied);
        expect(applied.length).toBeGreaterThan(0);
        expect(new Set(applied).size).toBe(applied.length);
        const recorded = await fresh.sql`SELECT version FROM haul_migrations ORDER BY version`;
        expect(recorded.map((r) => r.version as string)).toEqual([...applied].sort());
      } finally {
        await Promise.all(runners.map((db) => db.close()));
      }
    }
  });
});
