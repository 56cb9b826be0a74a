import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { type WebhookEvent, type WebhookEventType } from '@haul/api';
import type { Database } from '../db/database.js';
import { toNumber } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { WebhookMetrics } from '../metrics/metrics.js';

/** One attempt at one event: `id` is the webhook-id (the same on every attempt), `body` the exact JSON. */
export interface WebhookDelivery {
  id: string;
  type: WebhookEventType;
  body: string;
  event: WebhookEvent;
  /** 1 for the first attempt. */
  attempt: number;
}

/**
 * Sends one webhook; resolves once the receiver has it, throws to have it retried later. Haul's
 * own sends to WEBHOOK_URL (http-sender.ts); an application embedding Haul may pass its own.
 */
export type WebhookSender = (delivery: WebhookDelivery) => Promise<void>;

/** Events claimed per round, sent concurrently: bounds the memory and connections of a round. */
const BATCH_SIZE = 16;
const IDLE_POLL_MS = 500;
const FIRST_RETRY_MS = 1000;
const RETENTION_DAYS = 7;
const CLEANUP_EVERY_MS = 60 * 60_000;

/** Capped exponential back-off with jitter: 1 s, 2 s, 4 s … at most `maxMs`. */
export const retryDelayMs = (attempt: number, maxMs: number, random = Math.random) =>
  Math.min(maxMs, FIRST_RETRY_MS * 2 ** Math.min(attempt - 1, 30) * (0.75 + random() * 0.5));

/**
 * Delivers the webhook outbox (outbox.ts): claims due rows with a lease (FOR UPDATE SKIP LOCKED,
 * like processing_jobs), so any number of instances deliver from one database without sending an
 * event twice at once, and an instance that dies (kill -9) loses its rows when the lease runs out.
 * A failed attempt is retried with capped exponential back-off, for as long as it takes: the
 * receiver being down only grows the backlog, which each round reads `BATCH_SIZE` at a time.
 * One upload's events are sent in the order they happened, each once the one before it is
 * delivered; different uploads' events go out concurrently.
 * At least once: a receiver that got an event but whose 2xx was lost sees it again, with the same
 * `webhook-id`. Delivered rows are kept RETENTION_DAYS, then removed.
 */
export function createWebhookDelivery({ db, send, timeoutMs, maxBackoffMs, logger, metrics }: {
  db: Database;
  send: WebhookSender;
  timeoutMs: number;
  maxBackoffMs: number;
  logger: Logger;
  metrics: WebhookMetrics;
}) {
  const workerId = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  // Longer than a whole round can take (its sends run concurrently, each bounded by timeoutMs).
  const leaseMs = 2 * timeoutMs + 5000;
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let lastCleanup = 0;

  async function claim() {
    const rows = await db.query(
      `UPDATE webhook_outbox SET attempts = attempts + 1, locked_by = $1, locked_until = now() + $2 * interval '1 millisecond'
       WHERE id IN (
         SELECT id FROM webhook_outbox AS event
         WHERE delivered_at IS NULL AND next_attempt_at <= now() AND (locked_until IS NULL OR locked_until < now())
           -- An upload's events in order: only the first one not yet delivered.
           AND NOT EXISTS (SELECT 1 FROM webhook_outbox AS earlier
             WHERE earlier.upload_id = event.upload_id AND earlier.delivered_at IS NULL AND earlier.seq < event.seq)
         ORDER BY next_attempt_at, seq LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING id, event_type, payload, attempts`,
      [workerId, leaseMs, BATCH_SIZE],
    );
    return rows.map((row) => ({
      id: row.id as string,
      type: row.event_type as WebhookEventType,
      body: row.payload as string,
      attempt: toNumber(row.attempts),
    }));
  }

  async function deliver(delivery: Omit<WebhookDelivery, 'event'>): Promise<void> {
    try {
      await send({ ...delivery, event: JSON.parse(delivery.body) as WebhookEvent });
      await db.query(
        `UPDATE webhook_outbox SET delivered_at = now(), locked_until = NULL, locked_by = NULL, last_error = NULL WHERE id = $1`,
        [delivery.id],
      );
      // Counted once the outbox says so: a scrape that sees the counter move also sees the backlog
      // shrink (counted before, a scrape in between saw both — CI did once).
      metrics.webhookDeliveries.inc({ type: delivery.type });
    } catch (error) {
      metrics.webhookFailures.inc({ type: delivery.type });
      const reason = error instanceof Error ? (error.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : error.message) : String(error);
      const delay = retryDelayMs(delivery.attempt, maxBackoffMs);
      logger.warn('webhook not delivered; will retry', { webhookId: delivery.id, type: delivery.type, attempt: delivery.attempt, retryInMs: Math.round(delay), reason });
      await db.query(
        `UPDATE webhook_outbox SET next_attempt_at = now() + $2 * interval '1 millisecond', locked_until = NULL, locked_by = NULL,
           last_error = $3 WHERE id = $1 AND delivered_at IS NULL`,
        [delivery.id, delay, reason.slice(0, 500)],
      );
    }
  }

  async function cleanup(): Promise<void> {
    if (Date.now() - lastCleanup < CLEANUP_EVERY_MS) return;
    lastCleanup = Date.now();
    await db.query(
      `DELETE FROM webhook_outbox WHERE id IN (
         SELECT id FROM webhook_outbox WHERE delivered_at < now() - $1 * interval '1 day' LIMIT 1000)`,
      [RETENTION_DAYS],
    );
  }

  /** One round: claims what is due and sends it; how many were claimed. */
  async function runOnce(): Promise<number> {
    const batch = await claim();
    await Promise.all(batch.map(deliver));
    await cleanup();
    return batch.length;
  }

  async function run(): Promise<void> {
    while (running) {
      let claimed = 0;
      try {
        claimed = await runOnce();
      } catch (err) {
        logger.warn('webhook delivery round failed', { err });
      }
      // Something went out: the next event of the same uploads may be due at once.
      if (claimed > 0 || !running) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, IDLE_POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  return {
    workerId,
    runOnce,
    start(): void {
      if (running) return;
      running = true;
      loop = run();
      logger.info('webhook delivery started', { workerId });
    },
    /** Lets the round in progress finish (each send is bounded by the timeout), then stops. */
    async stop(): Promise<void> {
      running = false;
      wake?.();
      await loop;
    },
  };
}

export type WebhookDeliveryLoop = ReturnType<typeof createWebhookDelivery>;
