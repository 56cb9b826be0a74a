import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { migrate } from './db/migrate.js';
import { openDatabase } from './db/open-database.js';
import type { Logger } from './logger.js';
import { createProcessing } from './processing/create-processing.js';
import { createStatusEvents, type StatusEvents } from './processing/status-events.js';
import { createStorage, type Storage } from './storage/storage.js';
import type { StatusChangeHook } from './uploads/status-change.js';
import { createUploadRepository } from './uploads/upload-repository.js';

/** What was opened, closed in reverse order; a failed close is logged and the rest still close. */
export function createResources(logger: Logger) {
  const closers: Array<{ what: string; close: () => Promise<unknown> }> = [];
  return {
    add<T>(what: string, resource: T, close: (resource: T) => Promise<unknown>): T {
      closers.push({ what, close: () => close(resource) });
      return resource;
    },
    async closeAll(): Promise<void> {
      for (let next = closers.pop(); next; next = closers.pop()) {
        await next.close().catch((err: unknown) => logger.error(`could not close the ${next!.what}`, { err }));
      }
    },
  };
}

export type Resources = ReturnType<typeof createResources>;

/**
 * What the server and a standalone worker both need: the database (migrated), storage, status
 * events, the upload repository (with the status-change hooks) and the processing pipeline.
 * Everything that must be closed is added to `resources`.
 */
export async function openCore(config: Config, { logger, onStatusChange, resources }: {
  logger: Logger;
  onStatusChange: readonly StatusChangeHook[];
  resources: Resources;
}) {
  const db: Database = resources.add('database', await openDatabase(config, logger), (d) => d.close());
  const { applied } = await migrate(db);
  if (applied.length > 0) logger.info('migrations applied', { applied });
  const storage: Storage = await createStorage(config);
  const events: StatusEvents = resources.add('status events', await createStatusEvents({ databaseUrl: db.url, logger }), (e) => e.close());
  const repository = createUploadRepository(db, { onStatusChange });
  const processing = await createProcessing({ config, db, storage, uploads: repository, events, logger });
  return { db, storage, events, repository, processing };
}
