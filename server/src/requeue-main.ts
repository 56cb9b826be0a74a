import { openCore, createResources } from './bootstrap.js';
import { configOrExit, failedToStart } from './cli.js';
import { runningEmbeddedDatabaseUrl } from './db/embedded-postgres-files.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics/metrics.js';
import { requeueFailed } from './processing/requeue-failed.js';

/**
 * `npm run requeue-failed [-- --since <ISO time>] [upload ids…]`: failed uploads go back to
 * processing (processing/requeue-failed.ts); a running worker picks them up. Prints the ids.
 */
async function main() {
  const config = configOrExit();
  const args = process.argv.slice(2);
  const sinceAt = args.indexOf('--since');
  const since = sinceAt >= 0 ? new Date(args[sinceAt + 1] ?? '') : undefined;
  if (since && Number.isNaN(since.getTime())) throw new Error('--since needs a date, e.g. 2026-11-30T00:00:00Z');
  const ids = args.filter((_, i) => sinceAt < 0 || (i !== sinceAt && i !== sinceAt + 1));
  const databaseUrl = config.databaseUrl ?? (await runningEmbeddedDatabaseUrl(config.dataDir));
  const logger = createLogger({ level: config.logLevel });
  const resources = createResources(logger);
  try {
    const { db, repository, processing } = await openCore({ ...config, databaseUrl }, { logger, metrics: createMetrics(), onStatusChange: [], resources });
    const requeued = await requeueFailed({ db, uploads: repository, jobs: processing.jobs }, { ids: ids.length > 0 ? ids : undefined, failedAfter: since });
    logger.info('failed uploads requeued for processing', { count: requeued.length, ids: requeued });
  } finally {
    await resources.closeAll();
  }
}

main().catch(failedToStart);
