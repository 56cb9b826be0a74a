import { configOrExit, exitOnSignal, failedToStart } from './cli.js';
import { createHaulWorker } from './haul-worker.js';

/** `npm run worker`: the processing pipeline as its own process, until SIGTERM/SIGINT. */
async function main() {
  const config = configOrExit();
  if (!config.databaseUrl) {
    process.stderr.write('npm run worker needs DATABASE_URL: the embedded database can only be used by the server process itself.\n');
    process.exit(78); // EX_CONFIG
  }
  const worker = await createHaulWorker(config);
  worker.start();
  exitOnSignal(() => worker.close());
}

main().catch(failedToStart);
