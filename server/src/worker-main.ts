import { configOrExit, failedToStart, openCore } from './bootstrap.js';
import { runningEmbeddedDatabaseUrl } from './db/embedded-postgres-files.js';

/**
 * `npm run worker`: the processing pipeline as its own process, for deployments that scale it
 * apart from the upload servers (run those with WORKER=off). Without DATABASE_URL it connects to
 * the embedded database of the server running on the same DATA_DIR.
 */
async function main() {
  const config = configOrExit();
  const databaseUrl = config.databaseUrl ?? (await runningEmbeddedDatabaseUrl(config.dataDir));
  const { logger, db, events, processing } = await openCore({ ...config, databaseUrl });
  const worker = await processing.createWorker();
  worker.start();
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('worker stopping', { signal });
    await worker.stop();
    await events.close();
    await db.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch(failedToStart);
