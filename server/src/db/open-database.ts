import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../logger.js';
import type { Database } from './database.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { DEFAULT_POOL_SETTINGS, type PoolSettings } from './pool-settings.js';
import { createPostgresDatabase } from './postgres.js';

/**
 * The PostgreSQL server at DATABASE_URL, or else Haul's own cluster under DATA_DIR/postgres,
 * started here and stopped by `close()` (and by its watchdog if this process dies).
 */
export async function openDatabase(
  { databaseUrl, dataDir, database: pools = DEFAULT_POOL_SETTINGS }: { databaseUrl: string | undefined; dataDir: string; database?: PoolSettings },
  logger: Logger,
): Promise<Database> {
  if (databaseUrl) return createPostgresDatabase(databaseUrl, { pools });
  await refuseEarlierPglite(dataDir);
  const cluster = await startEmbeddedPostgres({ dataDir, logger });
  const db = createPostgresDatabase(cluster.url, { pools, kind: 'embedded-postgres' });
  return {
    ...db,
    close: async () => {
      await db.close();
      await cluster.stop();
    },
  };
}

/**
 * Earlier versions of Haul kept their embedded metadata in PGlite (DATA_DIR/pglite). Starting on an empty
 * PostgreSQL beside it would show none of the uploads in DATA_DIR/files: say so instead.
 */
async function refuseEarlierPglite(dataDir: string) {
  const pglite = path.join(dataDir, 'pglite');
  const postgres = path.join(dataDir, 'postgres');
  const [hasPglite, hasPostgres] = await Promise.all([pglite, postgres].map((dir) => fs.access(dir).then(() => true, () => false)));
  if (hasPglite && !hasPostgres) {
    throw new Error(
      `${pglite} holds the metadata of an earlier Haul (embedded PGlite). The embedded database is now PostgreSQL ` +
        `(${postgres}), which would start empty. Move ${pglite} away (its uploads will no longer be listed), ` +
        'or keep running the earlier Haul with it.',
    );
  }
}
