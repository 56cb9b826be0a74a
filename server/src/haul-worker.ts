import { createResources, openCore } from './bootstrap.js';
import type { Config } from './config.js';
import type { HaulServerOverrides } from './haul-server.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics/metrics.js';
import { registerProcessMetrics } from './metrics/register.js';
import { serveMetrics } from './metrics/metrics-listener.js';

export interface HaulWorker {
  /** Starts claiming processing jobs (and delivering webhooks, when configured). */
  start(): void;
  /** Finishes the files in progress, then closes everything it opened. */
  close(): Promise<void>;
}

/**
 * The processing pipeline on its own (`npm run worker`), for deployments that scale it apart
 * from the upload servers (run those with WORKER=off). It changes statuses too, so it takes the
 * same status-change hooks as the server. It needs a PostgreSQL URL: DATABASE_URL, or the URL of
 * the embedded cluster a running server started (worker-main.ts finds it under DATA_DIR).
 */
export async function createHaulWorker(config: Config, overrides: Pick<HaulServerOverrides, 'logger' | 'onStatusChange' | 'webhookSender'> = {}): Promise<HaulWorker> {
  if (!config.databaseUrl) {
    // Opening the embedded database here would start a second cluster on the server's DATA_DIR.
    throw new Error('A standalone worker needs a database URL: DATABASE_URL, or the running server\'s embedded one.');
  }
  const logger = overrides.logger ?? createLogger({ level: config.logLevel });
  const resources = createResources(logger);
  try {
    const metrics = createMetrics();
    const { db, processing, webhooks } = await openCore(config, {
      logger, metrics, onStatusChange: overrides.onStatusChange ?? [], resources, webhookSender: overrides.webhookSender,
    });
    const worker = resources.add('processing worker', await processing.createWorker(), (w) => w.stop());
    registerProcessMetrics(metrics, { config, db, logger });
    // A worker has no HTTP server of its own: with METRICS_PORT it gets one, for /metrics only.
    const metricsPort = config.metricsPort;
    const listener = metricsPort === undefined
      ? undefined
      : resources.add('metrics listener', await serveMetrics({ metrics, host: config.host, port: metricsPort, token: config.metricsToken }), (l) => l.close());
    if (listener) logger.info('worker metrics listening', { url: `${listener.url}/metrics` });
    let closing: Promise<void> | undefined;
    return {
      start: () => {
        worker.start();
        // Any process that records webhooks also delivers them (the outbox is shared).
        webhooks?.start();
      },
      close: () => (closing ??= resources.closeAll()),
    };
  } catch (error) {
    await resources.closeAll();
    throw error;
  }
}
