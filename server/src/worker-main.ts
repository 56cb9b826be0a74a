import { configOrExit, failedToStart, openCore } from './bootstrap.js';

/**
 * `npm run worker`: the processing pipeline as its own process, for deployments that scale it
 * apart from the upload servers (run those with WORKER=off). Needs PostgreSQL: embedded PGlite
 * belongs to one process.
 */
async function main() {
  const config = configOrExit();
  if (!config.databaseUrl) {
    process.stderr.write('npm run worker needs DATABASE_URL: the embedded database can only be used by the server process itself.\n');
    process.exit(78);
  }
  const { logger, db, events, processing } = await openCore(config);
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
