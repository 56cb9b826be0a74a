import { createServer as createHttpServer, type RequestListener, type ServerOptions } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createApp, type HaulApp } from './app.js';
import { createLinkSigner } from './auth/link-signer.js';
import { createAuth } from './auth/tokens.js';
import { createResources, openCore, type Resources } from './bootstrap.js';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import type { ScopeReadPolicy } from './http/access.js';
import { type BeforeCreateHook, createCreationPolicy } from './http/create-policy.js';
import { createAccess } from './http/access.js';
import { createHookClient } from './http/hook-client.js';
import { createInflightRequests } from './http/inflight.js';
import { type ProbeListener, startProbeListener } from './http/probe-listener.js';
import { answerProbes, createReadiness } from './http/readiness.js';
import { createLogger, type Logger } from './logger.js';
import { createMetrics, type HaulMetrics } from './metrics/metrics.js';
import { registerProcessMetrics } from './metrics/register.js';
import { PostgresLocker } from './tus/postgres-locker.js';
import { diskFilesDirectory } from './storage/disk-storage.js';
import { createExpiryJob } from './uploads/expiry-job.js';
import { createFinalUploads } from './uploads/final-upload.js';
import { createQuotas } from './uploads/quota.js';
import { createRetention } from './uploads/retention.js';
import { createErasure } from './uploads/erasure.js';
import { createOffsetTracker } from './uploads/offset-tracker.js';
import type { StatusChangeHook } from './uploads/status-change.js';
import { createUploadLifecycle } from './uploads/upload-lifecycle.js';
import type { WebhookSender } from './webhooks/delivery.js';

/** What an embedding application may supply; everything else comes from `Config`. */
export interface HaulServerOverrides {
  /** Where logs go. Default: JSON lines on stdout at LOG_LEVEL. */
  logger?: Logger;
  /** The time retention and deduplication's scheduled removals measure against (a fake clock in tests). Default: the system clock. */
  clock?: () => Date;
  /**
   * Who is a member of an application scope (the `scope` metadata, e.g. a conversation id), when
   * the token's scopes claim does not already say so. Members read the scope's uploads and create
   * links to them; deleting and moving stay the owner's (and services'). Replaces the HTTP hook's
   * `scope.membership` question (HOOKS_URL). Default: nobody (http/access.ts).
   */
  scopeReadPolicy?: ScopeReadPolicy;
  /**
   * Asked before every upload is created: refuse it (the message reaches the client) or set limits.
   * Replaces the HTTP hook's `upload.create` question (HOOKS_URL). Default: every upload allowed.
   */
  beforeCreate?: BeforeCreateHook;
  /**
   * Delivers webhooks instead of POSTing them to WEBHOOK_URL: the same durable outbox, the same
   * retries (throw to retry). Given one, events are recorded even without WEBHOOK_URL.
   */
  webhookSender?: WebhookSender;
  /**
   * Run inside the transaction of every status change, once per upload changed (see
   * uploads/status-change.ts): whatever must commit with the change, e.g. a webhook outbox row.
   */
  onStatusChange?: readonly StatusChangeHook[];
}

export interface HaulServer {
  /**
   * The Hono app: `app.request()` answers the JSON API without a socket (tests), `app.fetch`
   * fits any fetch-style server. The tus endpoint (`/files`) needs Node's own request and
   * response: serve it with `listen()` or @hono/node-server's `serve`.
   */
  readonly app: HaulApp;
  readonly config: Config;
  readonly logger: Logger;
  /** The database Haul uses (migrated): for health checks, reports, tests. Its tables are Haul's. */
  readonly db: Database;
  /** This server's Prometheus metrics (served at GET /metrics); its own registry, not prom-client's global one. */
  readonly metrics: HaulMetrics;
  /** Starts the background work: the processing worker (WORKER=embedded), the expiry sweep, webhook delivery. */
  start(): void;
  /**
   * `start()`, then serves HTTP on HOST:PORT (PORT=0: any free port) until `close()`; with
   * PROBE_PORT, /healthz and /readyz also on HOST:PROBE_PORT (`probesUrl`), from a thread of their own.
   */
  listen(): Promise<{ url: string; port: number; probesUrl?: string }>;
  /**
   * Graceful shutdown: new requests get 503, requests in flight get SHUTDOWN_GRACE_SECONDS to
   * finish (then are cut off, their bytes kept), background work stops, connections close.
   */
  close(): Promise<void>;
}

type NodeServer = ReturnType<typeof serve>;

/**
 * Haul as a library: everything the server needs, composed from `config` (see config.ts;
 * `loadConfig(env)` builds one). Nothing runs and nothing listens until `start()`/`listen()`;
 * nothing touches the process (signals, exit codes: main.ts). Several instances may live in one
 * process, each with its own DATA_DIR or database.
 */
export async function createHaulServer(config: Config, overrides: HaulServerOverrides = {}): Promise<HaulServer> {
  const logger = overrides.logger ?? createLogger({ level: config.logLevel });
  const resources = createResources(logger);
  try {
    return await compose(config, overrides, logger, resources);
  } catch (error) {
    await resources.closeAll();
    throw error;
  }
}

async function compose(config: Config, overrides: HaulServerOverrides, logger: Logger, resources: Resources): Promise<HaulServer> {
  const metrics = createMetrics();
  const { db, storage, events, repository, processing, contents, webhooks } = await openCore(config, {
    logger, metrics, onStatusChange: overrides.onStatusChange ?? [], resources, webhookSender: overrides.webhookSender, clock: overrides.clock,
  });
  // The application's answers: functions given here, else its HTTP hook (HOOKS_URL), else none.
  const hooks = config.hooks ? createHookClient({ hooks: config.hooks, logger }) : undefined;
  const membership: ScopeReadPolicy | undefined = overrides.scopeReadPolicy ?? (hooks && ((user, scope) => hooks.isMember(user, scope)));
  const beforeCreate: BeforeCreateHook | undefined = overrides.beforeCreate ?? (hooks && (({ user, upload }) => hooks.beforeCreate(user, upload)));
  const access = createAccess({ uploads: repository, membership });
  const quotas = createQuotas({ db, defaultLimit: config.uploads.quotaBytes });
  const authorizeCreation = createCreationPolicy({ access, uploads: repository, quotas, beforeCreate });
  const auth = await createAuth(config);
  const offsets = resources.add('offset tracker', createOffsetTracker({ repository, intervalMs: config.uploads.offsetFlushIntervalMs, logger }), (o) => o.stop());
  const lifecycle = createUploadLifecycle({
    db, repository, quotas, offsets, jobs: processing.jobs, events, logger, metrics,
    // A finished partial may complete a final upload created before it (concatenation-unfinished).
    onPartReceived: (partialId) => finalUploads.partialReceived(partialId),
  });
  registerProcessMetrics(metrics, { config, db, logger });
  // Uploads are locked in PostgreSQL (the embedded cluster too), so other instances and workers can share it.
  const locker = resources.add('tus locker', new PostgresLocker(db.url, logger, { idleTimeoutSeconds: db.pools.idleTimeoutSeconds }), (l) => l.close());
  await locker.start();
  const finalUploads = createFinalUploads({ config, db, storage, repository, quotas, lifecycle, logger });
  const worker = config.processing.worker === 'embedded'
    ? resources.add('processing worker', await processing.createWorker(), (w) => w.stop())
    : undefined;
  const retention = createRetention({ db, repository, config: config.retention, now: overrides.clock ?? (() => new Date()) });
  const erasure = createErasure({ db, storage, contents, locker, offsets, logger });
  const expiry = resources.add('expiry sweep', createExpiryJob({
    repository, retention, erasure, contents, storage, locker, offsets, events, logger,
    intervalMs: config.uploads.expirySweepIntervalSeconds * 1000,
    expiryMs: config.uploads.expirySeconds * 1000,
  }), (e) => e.stop());
  const inflight = createInflightRequests();
  let shuttingDown = false;
  const readiness = resources.add('readiness probe', createReadiness({
    databaseUrl: db.url, pools: db.pools, storage, isShuttingDown: () => shuttingDown,
    requiredScanner: config.processing.scanMode === 'required' ? config.processing.clamd : undefined,
  }), (r) => r.stop());
  const app = createApp({
    config, logger, db, storage, auth, repository, lifecycle, offsets, inflight, finalUploads,
    processing: processing.processing, events, locker, links: await createLinkSigner(config),
    access, authorizeCreation, quotas, metrics, erasure, contents,
    isShuttingDown: () => shuttingDown, readiness,
  });

  let started = false;
  const start = () => {
    if (started || shuttingDown) return;
    started = true;
    expiry.start();
    worker?.start();
    webhooks?.start();
  };

  let http: NodeServer | undefined;
  let probes: ProbeListener | undefined;
  async function listen(): Promise<{ url: string; port: number; probesUrl?: string }> {
    if (http) throw new Error('this Haul server is already listening');
    if (shuttingDown) throw new Error('this Haul server has been closed');
    start();
    // /healthz and /readyz are answered before the app (readiness.ts): never behind upload work.
    const createServer = ((options: ServerOptions, listener: RequestListener) =>
      createHttpServer(options, answerProbes(readiness, listener))) as typeof createHttpServer;
    const server = serve({ fetch: app.fetch, port: config.port, hostname: config.host, createServer });
    http = server;
    server.on('connection', (socket) => {
      metrics.connectionsOpen.inc();
      socket.once('close', () => metrics.connectionsOpen.dec());
    });
    // Uploads are long requests: no overall request timeout, but drop connections that go silent.
    if ('requestTimeout' in server) {
      server.requestTimeout = 0;
      server.headersTimeout = 60_000;
      // A reverse proxy keeps idle connections to this instance and sends later requests on them.
      // Closing one just as the proxy sends a request on it loses that request: HAProxy then closes
      // the client's connection without an answer ("socket hang up"), logging nothing. So an idle
      // connection is kept longer than the proxy keeps it to reuse: the proxy closes it first.
      // (Node's default, 5 s, is shorter than HAProxy's, nginx's or a cloud load balancer's.)
      server.keepAliveTimeout = config.keepAliveTimeoutMs;
    }
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    server.on('error', (err) => logger.error('server error', { err }));
    const address = server.address() as AddressInfo;
    const host = address.address.includes(':') ? `[${address.address}]` : address.address;
    const url = `http://${host}:${address.port}`;
    if (config.probes) {
      probes = await startProbeListener({
        host: config.host, port: config.probes.port, stallMs: config.probes.stallMs, databaseUrl: db.url, pools: db.pools,
        storage: config.s3 ? { s3: config.s3 } : { directory: diskFilesDirectory(config.dataDir) },
        ...(config.processing.scanMode === 'required' ? { requiredScanner: config.processing.clamd } : {}),
      });
      logger.info('probes listening', { url: probes.url, paths: ['/healthz', '/readyz'] });
    }
    logger.info('haul listening', { url, storage: storage.kind, database: db.kind, authMode: config.auth.mode });
    if (config.auth.mode === 'dev') logger.warn('AUTH_MODE=dev: anyone can obtain a token for any user from POST /api/dev/token');
    return { url, port: address.port, ...(probes ? { probesUrl: probes.url } : {}) };
  }

  async function shutdown(): Promise<void> {
    shuttingDown = true;
    probes?.shuttingDown();
    logger.info('shutting down', { inflight: inflight.size });
    const server = http;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    if (server && 'closeIdleConnections' in server) server.closeIdleConnections();
    const { aborted } = await inflight.drain(config.shutdownGraceMs);
    if (aborted > 0) logger.warn('aborted uploads still running at the end of the grace period', { aborted });
    // What is still open now is not an upload (e.g. an SSE stream): it ends with the server.
    if (server && 'closeAllConnections' in server) server.closeAllConnections();
    await closed;
    await probes?.close();
    await resources.closeAll();
    logger.info('shut down');
  }

  let closing: Promise<void> | undefined;
  return {
    app, config, logger, db, metrics,
    start,
    listen,
    close: () => (closing ??= shutdown()),
  };
}
