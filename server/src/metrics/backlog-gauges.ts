import { Gauge, type Registry } from 'prom-client';
import type { Queryable } from '../db/database.js';
import { toNumber } from '../db/database.js';
import type { Logger } from '../logger.js';

/**
 * Work waiting in the database, read at scrape time (one query per scrape, shared by its gauges):
 * the processing queue and the webhook outbox are shared by every instance, so each instance
 * reports the same values — aggregate them with max(), not sum(). A failed read leaves the
 * gauges at their last value and is logged; the scrape itself still answers.
 */
export function registerBacklogGauges(registry: Registry, { db, logger }: { db: Queryable; logger: Logger }): void {
  let reading: Promise<void> | undefined;
  // Each gauge's collect() runs on every scrape; they share one read in flight.
  const collect = async () => {
    reading ??= read()
      .catch((err: unknown) => logger.warn('metrics: could not read the backlog', { err }))
      .finally(() => (reading = undefined));
    await reading;
  };
  const gauge = (name: string, help: string) => new Gauge({ name, help, registers: [registry], collect });
  const queueDepth = gauge('haul_processing_queue_depth', 'Processing jobs waiting or running (all instances)');
  const oldestJob = gauge('haul_processing_oldest_job_age_seconds', 'Age of the oldest processing job (0 when none)');
  const webhookBacklog = gauge('haul_webhook_backlog', 'Webhook events not yet delivered (all instances)');
  const oldestWebhook = gauge('haul_webhook_oldest_age_seconds', 'Age of the oldest undelivered webhook event (0 when none)');

  async function read(): Promise<void> {
    const [row] = await db.query(
      `SELECT (SELECT count(*) FROM processing_jobs) AS jobs,
              (SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM processing_jobs) AS job_age,
              (SELECT count(*) FROM webhook_outbox WHERE delivered_at IS NULL) AS webhooks,
              (SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0) FROM webhook_outbox WHERE delivered_at IS NULL) AS webhook_age`,
    );
    queueDepth.set(toNumber(row!.jobs));
    oldestJob.set(toNumber(row!.job_age));
    webhookBacklog.set(toNumber(row!.webhooks));
    oldestWebhook.set(toNumber(row!.webhook_age));
  }
}
