import { configOrExit, exitOnSignal, failedToStart } from './cli.js';
import { createHaulServer } from './haul-server.js';

/** `npm start`: the server from the environment, until SIGTERM/SIGINT (graceful shutdown). */
async function main() {
  const haul = await createHaulServer(configOrExit());
  exitOnSignal(async (signal) => {
    haul.logger.info('signal received', { signal });
    await haul.close();
  });
  await haul.listen();
}

main().catch(failedToStart);
