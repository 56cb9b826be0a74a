import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from './database.js';

/** migrations/ at the repository root, next to server/ (also in the Docker image). */
export const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/', import.meta.url));

// Any constant works; it only has to be the same in every Haul process sharing a database.
const MIGRATION_LOCK_KEY = 727_274_001;

export interface MigrationResult {
  applied: string[];
}

/**
 * Applies `NNNNNN_name.sql` files in order, each in its own transaction, recording each in
 * haul_migrations. Safe to re-run and to run from several processes at once: an advisory
 * transaction lock serialises runners, and each re-checks what is already applied.
 */
export async function migrate(db: Database, dir = DEFAULT_MIGRATIONS_DIR): Promise<MigrationResult> {
  // Under the lock too: two processes running CREATE TABLE IF NOT EXISTS at once on a fresh
  // database can both miss the table and one fails ("duplicate key value violates unique
  // constraint pg_type_typname_nsp_index": seen when two instances started together).
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS haul_migrations (
    version text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
  });
  const files = (await fs.readdir(dir)).filter((f) => /^\d{6}_[\w-]+\.sql$/.test(f)).sort();
  const applied: string[] = [];
  for (const file of files) {
    const sql = await fs.readFile(path.join(dir, file), 'utf8');
    const ran = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      const done = await tx.query('SELECT 1 FROM haul_migrations WHERE version = $1', [file]);
      if (done.length > 0) return false;
      await tx.exec(sql);
      await tx.query('INSERT INTO haul_migrations (version) VALUES ($1)', [file]);
      return true;
    });
    if (ran) applied.push(file);
  }
  return { applied };
}
