import { configOrExit, exitOnSignal, failedToStart } from './cli.js';
import { runningEmbeddedDatabaseUrl } from './db/embedded-postgres-files.js';
import { createHaulWorker } from './haul-worker.js';

/**
 * `npm run worker`: the processing pipeline as its own process, until SIGTERM/SIGINT. Without
 * DATABASE_URL it connects to the embedded database of the server running on the same DATA_DIR.
 */
async function main() {
  const config = configOrExit();
  const databaseUrl = config.databaseUrl ?? (await runningEmbeddedDatabaseUrl(config.dataDir));
  const worker = await createHaulWorker({ ...config, databaseUrl });
  worker.start();
  exitOnSignal(() => worker.close());
}

main().catch(failedToStart);
