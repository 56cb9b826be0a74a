import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { migrate } from './db/migrate.js';
import { openDatabase } from './db/open-database.js';
import type { Logger } from './logger.js';
import type { HaulMetrics } from './metrics/metrics.js';
import { createProcessing } from './processing/create-processing.js';
import { createProcessingRepository } from './processing/processing-repository.js';
import { createStatusEvents, type StatusEvents } from './processing/status-events.js';
import { createStorage, type Storage } from './storage/storage.js';
import type { StatusChangeHook } from './uploads/status-change.js';
import { createStoredContents } from './uploads/stored-contents.js';
import { createUploadRepository } from './uploads/upload-repository.js';
import { createWebhookDelivery, type WebhookSender } from './webhooks/delivery.js';
import { createHttpWebhookSender } from './webhooks/http-sender.js';
import { createWebhookOutbox } from './webhooks/outbox.js';

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
 * events, the upload repository (with the status-change hooks) and the processing pipeline — and,
 * when webhooks go anywhere (WEBHOOK_URL, or a sender given by an embedding application), the
 * outbox written with every change and the loop delivering it (not started).
 * Everything that must be closed is added to `resources`.
 */
export async function openCore(config: Config, { logger, metrics, onStatusChange, resources, webhookSender, clock }: {
  logger: Logger;
  /** The time deduplication's scheduled removals are due by (a fake clock in tests). */
  clock?: () => Date;
  metrics: HaulMetrics;
  onStatusChange: readonly StatusChangeHook[];
  resources: Resources;
  webhookSender?: WebhookSender;
}) {
  const db: Database = resources.add('database', await openDatabase(config, logger), (d) => d.close());
  const { applied } = await migrate(db);
  if (applied.length > 0) logger.info('migrations applied', { applied });
  const storage: Storage = await createStorage(config, metrics);
  const events: StatusEvents = resources.add('status events', await createStatusEvents({ databaseUrl: db.url, pools: db.pools, logger }), (e) => e.close());
  const { endpoint, timeoutMs, maxBackoffMs } = config.webhooks;
  const send = webhookSender ?? (endpoint ? createHttpWebhookSender({ endpoint, timeoutMs }) : undefined);
  // The outbox reads the upload as the change left it, inside the change's transaction.
  const reads = createUploadRepository(db);
  const thumbnails = createProcessingRepository(db, reads);
  const outbox = send
    ? createWebhookOutbox({
        snapshot: async (tx, id) => {
          const upload = await reads.find(id, tx);
          return upload && { upload, thumbnails: await thumbnails.thumbnailsOf(id, tx) };
        },
      })
    : undefined;
  const repository = createUploadRepository(db, {
    onStatusChange: outbox ? [...onStatusChange, outbox.onStatusChange] : onStatusChange,
    onCreate: outbox ? [outbox.onCreate] : [],
    onDelete: outbox ? [outbox.onDelete] : [],
  });
  // Deduplication (DEDUP): processing adopts stored contents; deletion paths release them.
  const contents = createStoredContents({ db, storage, mode: config.uploads.dedup, logger, now: clock });
  const processing = await createProcessing({ config, db, storage, uploads: repository, contents, events, logger, metrics });
  const webhooks = send
    ? resources.add('webhook delivery', createWebhookDelivery({ db, send, timeoutMs, maxBackoffMs, logger, metrics }), (w) => w.stop())
    : undefined;
  return { db, storage, events, repository, processing, contents, webhooks };
}
