import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Database } from '../db/database.js';
import type { Logger } from '../logger.js';
import type { ProcessingMetrics } from '../metrics/metrics.js';
import type { JobQueue } from './job-queue.js';
import { outageWaitMs, unavailableService } from './outage.js';
import type { ProcessingRepository } from './processing-repository.js';
import type { StatusEvents } from './status-events.js';
import type { UploadProcessor } from './process-upload.js';

const IDLE_POLL_MS = 500;
const MAX_BACKOFF_MS = 5 * 60_000;

/** Exponential back-off with jitter: 2 s, 4 s, 8 s … capped at 5 minutes. */
export const backoffMs = (attempt: number) => Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempt) * (0.75 + Math.random() * 0.5);

/**
 * Runs processing jobs: claims one with a lease, keeps the lease alive while the file is
 * processed, and on failure schedules another attempt with back-off — until the last attempt,
 * after which the upload is `failed` with the reason. A failure that is an outage (clamd, storage
 * or the database unreachable: outage.ts) is no attempt: the job waits (capped back-off, logged)
 * and goes on once the service is back, however long it was away. Runs inside the server by default
 * (WORKER=embedded) or alone (`npm run worker`); any number of workers may share a database.
 */
export function createWorker({ db, jobs, processing, processUpload, events, concurrency, expressMaxSize, leaseMs, maxAttempts, logger, metrics }: {
  db: Database;
  jobs: JobQueue;
  processing: ProcessingRepository;
  processUpload: UploadProcessor;
  events: StatusEvents;
  concurrency: number;
  /** Files up to this size have one more slot, the express lane, that larger ones never take. */
  expressMaxSize: number;
  leaseMs: number;
  maxAttempts: number;
  logger: Logger;
  metrics: Pick<ProcessingMetrics, 'processingOutcomes' | 'processingServiceWaits'>;
}) {
  const workerId = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  let running = false;
  const loops: Array<Promise<void>> = [];
  /** Ends every pause at once when the worker stops. */
  let stopping = new AbortController();
  /** Aborted (and replaced) when the database answers again after an outage: whatever waits for it goes on at once. */
  let databaseBack = new AbortController();
  const noteDatabaseBack = () => {
    databaseBack.abort();
    databaseBack = new AbortController();
  };
  const pause = (ms: number, orWhen?: AbortSignal) =>
    sleep(ms, undefined, { signal: orWhen ? AbortSignal.any([stopping.signal, orWhen]) : stopping.signal }).catch(() => {});
  /** Services found unreachable, since when and how many waits ago; cleared by any file processed. */
  const outages = new Map<string, { at: number; waits: number }>();
  /** Jobs in hand, until what became of them is recorded: this worker's loops never claim them again. */
  const held = new Set<string>();

  /**
   * Writes what became of a job (its outcome, a wait, a retry, a failure), trying again with the
   * capped back-off while the database is unreachable: a job whose outcome was never written
   * would keep the attempt its claim counted and be claimed again, one attempt spent, once its
   * lease ran out — and be processed again from storage its first run already changed (an
   * infected file moved to quarantine). Gives up only when the worker stops (the job is then
   * claimed again after its lease, as one left by a worker that stopped mid-file is).
   */
  async function record<T>(uploadId: string, write: () => Promise<T>): Promise<T> {
    const since = Date.now();
    for (let waits = 1; ; waits++) {
      try {
        const written = await write();
        if (waits > 1) noteDatabaseBack();
        return written;
      } catch (error) {
        if (unavailableService(error) === undefined || !running) throw error;
        const delay = outageWaitMs(waits);
        metrics.processingServiceWaits.inc({ service: 'database' });
        logger.warn('the database is unreachable: what became of the job is recorded once it is back', {
          uploadId, service: 'database', unavailableForMs: Date.now() - since, retryInMs: Math.round(delay),
          reason: error instanceof Error ? error.message : String(error),
        });
        await pause(delay, databaseBack.signal);
      }
    }
  }

  async function runJob(uploadId: string, attempt: number): Promise<void> {
    held.add(uploadId);
    const heartbeat = setInterval(() => {
      jobs.extend(uploadId, workerId, leaseMs).catch((err: unknown) => logger.warn('lease renewal failed', { err, uploadId }));
    }, leaseMs / 3);
    const startedAt = Date.now();
    try {
      // The claim counts every attempt, including those whose worker died mid-file (its lease
      // ran out): without this, a file that crashes the worker (out of memory, a decoder bug)
      // would be claimed again after every lease, for ever, and never reach PROCESSING_MAX_ATTEMPTS.
      if (attempt > maxAttempts) {
        throw new Error(`gave up after ${maxAttempts} attempt(s): the last one never finished (the worker stopped or crashed while processing the file)`);
      }
      await processUpload(uploadId, { record: (write) => record(uploadId, write) });
      outages.clear();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const service = unavailableService(error);
      if (service) {
        // Not the file's fault: it waits, as long as the outage lasts, without spending an attempt.
        const since = outages.get(service) ?? { at: startedAt, waits: 0 };
        since.waits++;
        outages.set(service, since);
        // The database: the wait was spent writing this down (record); it is back if that worked.
        const delay = service === 'database' ? 0 : outageWaitMs(since.waits);
        metrics.processingServiceWaits.inc({ service });
        logger.warn('a service processing needs is unavailable; the file waits without spending an attempt', {
          uploadId, service, unavailableForMs: Date.now() - since.at, retryInMs: Math.round(delay), reason,
        });
        await record(uploadId, async () => {
          await processing.noteRetry(uploadId, `waiting for ${service} (${reason}); no attempt used, retrying`);
          await jobs.waitForService(uploadId, workerId, reason, delay);
        });
      } else if (attempt >= maxAttempts) {
        logger.error('processing failed for good', { uploadId, attempt, err: error });
        await record(uploadId, () =>
          db.transaction(async (tx) => {
            await processing.fail(uploadId, reason, tx);
            await jobs.complete(uploadId, tx);
          }),
        );
        metrics.processingOutcomes.inc({ status: 'failed' });
      } else {
        const delay = backoffMs(attempt);
        logger.warn('processing failed; will retry', { uploadId, attempt, retryInMs: Math.round(delay), reason });
        await record(uploadId, async () => {
          await processing.noteRetry(uploadId, `attempt ${attempt} of ${maxAttempts} failed: ${reason}; retrying`);
          await jobs.retryLater(uploadId, reason, delay);
        });
      }
    } finally {
      clearInterval(heartbeat);
      held.delete(uploadId);
      await events.publish(uploadId);
    }
  }

  /** `maxSize`: the express lane's loop, which only takes files up to that size. */
  async function loop(maxSize?: number): Promise<void> {
    /** Claims that failed in a row because the database was unreachable, and since when. */
    let unreachable = { since: 0, claims: 0 };
    while (running) {
      let job;
      let idleMs = IDLE_POLL_MS;
      try {
        job = await jobs.claim(workerId, leaseMs, maxSize, [...held]);
        if (unreachable.claims > 0) noteDatabaseBack();
        unreachable = { since: 0, claims: 0 };
      } catch (err) {
        if (unavailableService(err) === undefined) {
          logger.warn('could not claim a processing job', { err });
        } else {
          // Polling a database that is away every 500 ms would only fill the log: capped back-off.
          if (unreachable.claims++ === 0) unreachable.since = Date.now();
          idleMs = outageWaitMs(unreachable.claims);
          logger.warn('the database is unreachable: no processing job can be claimed; trying again', {
            service: 'database', unavailableForMs: Date.now() - unreachable.since, retryInMs: Math.round(idleMs), reason: err instanceof Error ? err.message : String(err),
          });
        }
      }
      if (!job) {
        await pause(idleMs, unreachable.claims > 0 ? databaseBack.signal : undefined);
        continue;
      }
      await runJob(job.uploadId, job.attempt).catch((err: unknown) => logger.error('processing job crashed', { err, uploadId: job.uploadId }));
    }
  }

  return {
    workerId,
    start(): void {
      if (running) return;
      running = true;
      stopping = new AbortController();
      for (let i = 0; i < concurrency; i++) loops.push(loop());
      // No head-of-line blocking (issue 13, item 3): however many large or slow files hold the
      // other slots, an ordinary file has a slot of its own and waits behind small files only.
      loops.push(loop(expressMaxSize));
      logger.info('processing worker started', { workerId, concurrency, expressLaneMaxSize: expressMaxSize });
    },
    /** Finishes the files in progress, then stops. Unfinished ones are retried when the lease ends. */
    async stop(): Promise<void> {
      running = false;
      stopping.abort();
      await Promise.all(loops);
    },
  };
}
