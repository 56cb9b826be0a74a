import { ConfigError, type Config, loadConfig } from './config.js';
import type { Database } from './db/database.js';
import { migrate } from './db/migrate.js';
import { openDatabase } from './db/open-database.js';
import { createLogger, type Logger } from './logger.js';
import { createProcessing } from './processing/create-processing.js';
import { createStatusEvents, type StatusEvents } from './processing/status-events.js';
import { createStorage, type Storage } from './storage/storage.js';
import { createUploadRepository } from './uploads/upload-repository.js';

/** Parses the environment, or exits with the list of every bad variable. */
export function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\nSee .env.example for every variable.\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

/** What the server and a standalone worker both need: database (migrated), storage, events. */
export async function openCore(config: Config) {
  const logger: Logger = createLogger({ level: config.logLevel });
  const db: Database = await openDatabase(config, logger);
  const { applied } = await migrate(db);
  if (applied.length > 0) logger.info('migrations applied', { applied });
  const storage: Storage = await createStorage(config);
  const events: StatusEvents = await createStatusEvents({ databaseUrl: db.url, logger });
  const repository = createUploadRepository(db);
  const processing = await createProcessing({ config, db, storage, uploads: repository, events, logger });
  return { config, logger, db, storage, events, repository, processing };
}

export const failedToStart = (error: unknown) => {
  process.stderr.write(`haul failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
};
