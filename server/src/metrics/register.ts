import type { Config } from '../config.js';
import type { Queryable } from '../db/database.js';
import type { Logger } from '../logger.js';
import { registerBacklogGauges } from './backlog-gauges.js';
import { registerClamdGauges } from './clamd-gauges.js';
import type { HaulMetrics } from './metrics.js';

/**
 * The gauges read at scrape time, for a server or a standalone worker: the shared backlog
 * (processing queue, webhook outbox) and, where files are scanned, clamd.
 */
export function registerProcessMetrics(metrics: HaulMetrics, { config, db, logger }: { config: Config; db: Queryable; logger: Logger }): void {
  registerBacklogGauges(metrics.registry, { db, logger });
  if (config.processing.scanMode !== 'off') registerClamdGauges(metrics.registry, config.processing.clamd);
}
