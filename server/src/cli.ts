import { ConfigError, type Config, loadConfig } from './config.js';

/**
 * What only the two command-line entries (main.ts, worker-main.ts) do: read the process's
 * environment, exit with a status, react to signals. The library never touches the process.
 */

/** Parses the environment, or exits with the list of every bad variable. */
export function configOrExit(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\nSee .env.example for every variable.\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

export const failedToStart = (error: unknown): never => {
  process.stderr.write(`haul failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
};

/** Runs `stop` once on the first SIGTERM or SIGINT, then exits (1 if stopping failed). */
export function exitOnSignal(stop: (signal: string) => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: string) => {
    if (stopping) return;
    stopping = true;
    stop(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`haul did not stop cleanly: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
}
