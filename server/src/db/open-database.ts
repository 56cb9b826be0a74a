import path from 'node:path';
import type { Database } from './database.js';
import { createPgliteDatabase } from './pglite.js';
import { createPostgresDatabase } from './postgres.js';

/** PostgreSQL when DATABASE_URL is set, otherwise embedded PGlite under DATA_DIR/pglite. */
export function openDatabase({ databaseUrl, dataDir }: { databaseUrl: string | undefined; dataDir: string }): Promise<Database> {
  if (databaseUrl) return Promise.resolve(createPostgresDatabase(databaseUrl));
  return createPgliteDatabase(path.join(dataDir, 'pglite'));
}
