import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Haul's Prometheus metrics: one registry per server or worker (several may live in one process,
 * so nothing goes to prom-client's global registry). Names follow tusd's (`tusd_requests_total`
 * → `haul_requests_total` …) so its dashboards translate. Metrics a process cannot move are still
 * registered (at zero): a dashboard then shows 0, not "no data".
 *
 * Gauges read from the database or clamd at scrape time live beside it (backlog-gauges.ts,
 * clamd-gauges.ts); this file holds what the code increments as things happen.
 */

/** The processing stages timed in the single pass over a file (processing/inspect-file.ts). */
export type ProcessingStage = 'hash' | 'type' | 'scan' | 'previews';

const SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export function createMetrics() {
  const registry = new Registry();
  // process_resident_memory_bytes, nodejs_eventloop_lag_seconds, nodejs_heap_size_used_bytes …
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  return {
    registry,
    requests: new Counter({
      name: 'haul_requests_total', help: 'HTTP requests answered, by method and status code',
      labelNames: ['method', 'status'] as const, registers,
    }),
    errors: new Counter({
      name: 'haul_errors_total', help: 'Error responses, by Haul error code (api/src/errors.ts)',
      labelNames: ['code'] as const, registers,
    }),
    connectionsOpen: new Gauge({ name: 'haul_connections_open', help: 'TCP connections open to the HTTP server', registers }),
    bytesReceived: new Counter({ name: 'haul_bytes_received_total', help: 'Upload bytes received in PATCH and POST bodies', registers }),
    uploadsCreated: new Counter({ name: 'haul_uploads_created_total', help: 'Uploads created', registers }),
    uploadsFinished: new Counter({ name: 'haul_uploads_finished_total', help: 'Uploads whose last byte arrived (final uploads when assembled)', registers }),
    uploadsTerminated: new Counter({ name: 'haul_uploads_terminated_total', help: 'Uploads terminated by their owner (tus DELETE or the files API)', registers }),
    processingStageSeconds: new Histogram({
      name: 'haul_processing_stage_duration_seconds',
      help: 'Time per processing stage of one file (one streaming pass: the stages overlap)',
      labelNames: ['stage'] as const, buckets: SECONDS_BUCKETS, registers,
    }),
    processingOutcomes: new Counter({
      name: 'haul_processing_outcomes_total', help: 'Processed files, by the status they ended in (ready, rejected, infected, failed)',
      labelNames: ['status'] as const, registers,
    }),
    processingServiceWaits: new Counter({
      name: 'haul_processing_service_waits_total',
      help: 'Times a file waited because a service it needs (clamd, storage, database) was unreachable: no attempt spent',
      labelNames: ['service'] as const, registers,
    }),
    s3RequestSeconds: new Histogram({
      name: 'haul_s3_request_duration_seconds', help: 'S3 requests by operation and outcome (ok, error), retries included',
      labelNames: ['operation', 'outcome'] as const, buckets: SECONDS_BUCKETS, registers,
    }),
    webhookDeliveries: new Counter({
      name: 'haul_webhook_deliveries_total', help: 'Webhook attempts the receiver acknowledged', labelNames: ['type'] as const, registers,
    }),
    webhookFailures: new Counter({
      name: 'haul_webhook_failures_total', help: 'Webhook attempts that failed (and will be retried)', labelNames: ['type'] as const, registers,
    }),
  };
}

export type HaulMetrics = ReturnType<typeof createMetrics>;

/** What processing reports (the server's embedded worker and the standalone one). */
export type ProcessingMetrics = Pick<HaulMetrics, 'processingStageSeconds' | 'processingOutcomes' | 'processingServiceWaits'>;
export type UploadMetrics = Pick<HaulMetrics, 'uploadsCreated' | 'uploadsFinished' | 'uploadsTerminated'>;
export type WebhookMetrics = Pick<HaulMetrics, 'webhookDeliveries' | 'webhookFailures'>;
