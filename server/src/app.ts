import { Hono } from 'hono';
import type { Auth } from './auth/tokens.js';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { databaseUnavailable } from './db/database-errors.js';
import { ERROR_CODES, TUS_PATH } from '@haul/api';
import { HaulError } from './errors.js';
import type { AppEnv } from './http/app-env.js';
import { cors } from './http/cors.js';
import { createDemoRoutes } from './http/demo-routes.js';
import { createDevRoutes } from './http/dev-routes.js';
import { createHealthRoutes } from './http/health-routes.js';
import type { Readiness } from './http/readiness.js';
import { createServerConfigRoutes } from './http/server-config-routes.js';
import { createOpenApiRoutes } from './http/openapi-routes.js';
import type { InflightRequests } from './http/inflight.js';
import { requestLog } from './http/request-log.js';
import type { Access } from './http/access.js';
import type { AuthorizeCreation } from './http/create-policy.js';
import { createAudit } from './http/audit.js';
import { createFilesRoutes } from './http/files-routes.js';
import { serviceAudit } from './http/service-audit.js';
import type { LinkSigner } from './auth/link-signer.js';
import type { Locker } from '@tus/utils';
import { createUploadRoutes } from './http/upload-routes.js';
import { createUserRoutes } from './http/user-routes.js';
import type { ProcessingRepository } from './processing/processing-repository.js';
import type { StatusEvents } from './processing/status-events.js';
import type { Logger } from './logger.js';
import { countRequests } from './metrics/http-metrics.js';
import type { HaulMetrics } from './metrics/metrics.js';
import { createMetricsRoutes } from './metrics/metrics-route.js';
import type { Storage } from './storage/storage.js';
import { createTusRoute } from './tus/tus-route.js';
import type { BodyStage } from './tus/upload-body.js';
import type { FinalUploads } from './uploads/final-upload.js';
import type { OffsetTracker } from './uploads/offset-tracker.js';
import type { UploadLifecycle } from './uploads/upload-lifecycle.js';
import type { Erasure } from './uploads/erasure.js';
import type { Quotas } from './uploads/quota.js';
import type { StoredContents } from './uploads/stored-contents.js';
import type { UploadRepository } from './uploads/upload-repository.js';

export interface AppDeps {
  config: Config;
  logger: Logger;
  db: Database;
  storage: Storage;
  auth: Auth;
  repository: UploadRepository;
  lifecycle: UploadLifecycle;
  offsets: OffsetTracker;
  inflight: InflightRequests;
  finalUploads: FinalUploads;
  processing: ProcessingRepository;
  events: StatusEvents;
  links: LinkSigner;
  /** Upload locks (tus), in PostgreSQL: shared by every instance. */
  locker: Locker;
  /** Per-request stages every upload body passes through (tus/upload-body.ts); none by default. */
  bodyStages?: readonly BodyStage[];
  /** The one access decision (http/access.ts), with the application's idea of scope membership. */
  access: Access;
  /** Scope membership and the pre-create hook when an upload is created (http/create-policy.ts). */
  authorizeCreation: AuthorizeCreation;
  quotas: Quotas;
  /** Erasure of everything of a user (DELETE /api/users/…). */
  erasure: Erasure;
  /** Deduplication: an upload lets go of its shared stored copy before its own storage goes. */
  contents: Pick<StoredContents, 'release'>;
  isShuttingDown: () => boolean;
  /** Background readiness probes (http/readiness.ts), read by /readyz. */
  readiness: Readiness;
  /** Prometheus metrics, served at GET /metrics (metrics/). */
  metrics: HaulMetrics;
}

/** The HTTP surface: one Hono app, errors answered in one place. */
export function createApp(deps: AppDeps) {
  const { config, logger } = deps;
  const { access } = deps;
  const audit = createAudit({ db: deps.db, trustProxy: config.trustProxy });
  const { metrics } = deps;
  const app = new Hono<AppEnv>()
    .use(countRequests(metrics))
    .use(requestLog({ logger }))
    .use(cors({ origins: config.corsOrigins }))
    .use(serviceAudit({ audit }))
    .use(async (c, next) => {
      if (deps.isShuttingDown() && c.req.method !== 'OPTIONS' && !c.req.path.startsWith('/healthz')) {
        throw new HaulError('SHUTTING_DOWN', undefined, { headers: { 'Retry-After': '2', Connection: 'close' } });
      }
      await next();
    })
    .route('/', createHealthRoutes(deps))
    .route('/', createMetricsRoutes({ metrics, token: config.metricsToken }))
    .route('/', createServerConfigRoutes({ config, capabilities: deps.storage.capabilities }))
    .route('/', createOpenApiRoutes())
    .route('/', createDevRoutes({ issuer: deps.auth.devIssuer }))
    .route('/', createTusRoute({ ...deps, verifier: deps.auth.verifier }))
    .route('/', createUploadRoutes({ ...deps, verifier: deps.auth.verifier, access }))
    .route('/', createFilesRoutes({ ...deps, verifier: deps.auth.verifier, uploads: deps.repository, access, audit }))
    .route('/', createUserRoutes({ verifier: deps.auth.verifier, quotas: deps.quotas, erasure: deps.erasure }))
    .route('/', createDemoRoutes({ config }));

  app.notFound((c) => {
    metrics.errors.inc({ code: 'NOT_FOUND' });
    return c.json(new HaulError('NOT_FOUND').toJSON(), 404);
  });

  app.onError((error, c) => {
    // PostgreSQL out of reach or out of connections: 503 with Retry-After (db/database-errors.ts).
    const haul =
      error instanceof HaulError ? error : databaseUnavailable(error) ?? new HaulError('INTERNAL', ERROR_CODES.INTERNAL.message, { cause: error });
    metrics.errors.inc({ code: haul.code });
    if (haul.status >= 500) c.get('logger')?.error('request failed', { err: error });
    const headers: Record<string, string> = { ...haul.headers };
    // tus clients expect Tus-Resumable on every response of the tus endpoint, errors included.
    if (c.req.path === TUS_PATH || c.req.path.startsWith(`${TUS_PATH}/`)) headers['Tus-Resumable'] = '1.0.0';
    return c.json(haul.toJSON(), haul.status as 400, headers);
  });
  return app;
}

export type HaulApp = ReturnType<typeof createApp>;
