import { serve } from '@hono/node-server';
import { createApp } from './app.js';
import { configOrExit, failedToStart, openCore } from './bootstrap.js';
import { createLinkSigner } from './auth/link-signer.js';
import { createAuth } from './auth/tokens.js';
import { createInflightRequests } from './http/inflight.js';
import { PostgresLocker } from './tus/postgres-locker.js';
import { createTusServer } from './tus/tus-server.js';
import { createExpiryJob } from './uploads/expiry-job.js';
import { createFinalUploads } from './uploads/final-upload.js';
import { createOffsetTracker } from './uploads/offset-tracker.js';
import { createUploadLifecycle } from './uploads/upload-lifecycle.js';

/** The composition root: parse config, open everything, serve, and shut down cleanly. */
async function main() {
  const config = configOrExit();
  const { logger, db, storage, events, repository, processing } = await openCore(config);
  const auth = await createAuth(config);
  const offsets = createOffsetTracker({ repository, intervalMs: config.uploads.offsetFlushIntervalMs, logger });
  const lifecycle = createUploadLifecycle({
    db, repository, offsets, jobs: processing.jobs, processing: processing.processing, events, logger,
  });
  const worker = config.processing.worker === 'embedded' ? await processing.createWorker() : undefined;
  // Uploads are locked in PostgreSQL (also the embedded one), so other instances and workers can share it.
  const locker = new PostgresLocker(db.url, logger);
  await locker.start();
  const tus = createTusServer({ config, storage, lifecycle, offsets, logger, locker });
  const inflight = createInflightRequests();
  const finalUploads = createFinalUploads({ config, db, storage, repository, lifecycle, logger });
  const expiry = createExpiryJob({
    repository, storage, locker, offsets, logger,
    intervalMs: config.uploads.expirySweepIntervalSeconds * 1000,
    expiryMs: config.uploads.expirySeconds * 1000,
  });
  let shuttingDown = false;
  const app = createApp({
    config, logger, db, storage, auth, tus, repository, lifecycle, offsets, inflight, finalUploads,
    processing: processing.processing, events, locker, links: await createLinkSigner(config),
    isShuttingDown: () => shuttingDown,
  });

  const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, (info) => {
    logger.info('haul listening', {
      url: `http://${info.address.includes(':') ? `[${info.address}]` : info.address}:${info.port}`,
      storage: storage.kind,
      database: db.kind,
      authMode: config.auth.mode,
    });
  });
  // Uploads are long requests: no overall request timeout, but drop connections that go silent.
  if ('requestTimeout' in server) {
    server.requestTimeout = 0;
    server.headersTimeout = 60_000;
  }
  server.on('error', (err) => {
    logger.error('server error', { err });
    process.exit(1);
  });
  expiry.start();
  worker?.start();
  if (config.auth.mode === 'dev') {
    logger.warn('AUTH_MODE=dev: anyone can obtain a token for any user from POST /api/dev/token');
  }

  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info('shutting down', { signal, inflight: inflight.size });
    server.close();
    if ('closeIdleConnections' in server) server.closeIdleConnections();
    const { aborted } = await inflight.drain(config.shutdownGraceMs);
    if (aborted > 0) logger.warn('aborted uploads still running at the end of the grace period', { aborted });
    await Promise.all([expiry.stop(), worker?.stop()]);
    await offsets.stop();
    await locker.close();
    await events.close();
    await db.close();
    logger.info('shut down');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch(failedToStart);
