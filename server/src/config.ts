import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { bool, byteSize, int, optionalByteSize, optionalSeconds, optionalString, secondsByName } from './config-values.js';
import { checkIntegrationEnv, integrationConfig, integrationEnv } from './config-integration.js';

export { parseByteSize } from './config-values.js';

/**
 * Every setting Haul reads, parsed once at start-up (main.ts) and passed down.
 * Nothing else in the server reads `process.env`.
 */

/** From server/dist/config.js: the repository's demo-app/dist (also its place in the Docker image). */
const DEFAULT_DEMO_DIR = fileURLToPath(new URL('../../demo-app/dist', import.meta.url));

const configSchema = z
  .object({
    NODE_ENV: z.string().default('development'),
    PORT: int(3000).pipe(z.number().max(65535)),
    HOST: z.string().min(1).default('127.0.0.1'),
    DATA_DIR: z.string().min(1).default('./data'),
    DATABASE_URL: optionalString.pipe(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
    /** The query pool's connections; the locker, events and readiness add at most 5 (db/pool-settings.ts). */
    DATABASE_POOL_MAX: int(10, 1).pipe(z.number().max(1000)),
    DATABASE_IDLE_TIMEOUT_SECONDS: int(10, 1),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    METRICS_TOKEN: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
    METRICS_PORT: optionalString.pipe(z.coerce.number<string | undefined>().int().min(1).max(65535).optional()),
    /** /healthz and /readyz on HOST:PROBE_PORT too, answered by a thread of their own (http/probe-listener.ts); 0: any free port. */
    PROBE_PORT: optionalString.pipe(z.coerce.number<string | undefined>().int().min(0).max(65535).optional()),
    LIVENESS_STALL_SECONDS: int(10, 1),

    AUTH_MODE: z.enum(['dev', 'jwt']).default('dev'),
    JWT_SECRET: optionalString.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
    JWKS_URL: optionalString.pipe(z.url().optional()),
    JWT_ISSUER: optionalString,
    JWT_AUDIENCE: optionalString,
    DEV_TOKEN_TTL_SECONDS: int(3600, 1),

    MAX_UPLOAD_SIZE: byteSize('10GiB'),
    MAX_CONCURRENT_UPLOADS_PER_USER: int(50, 1),
    /** Bytes each user may store (finished files and unfinished uploads by declared length); unset: no quota. */
    QUOTA_BYTES: optionalByteSize,
    MAX_CONCURRENT_UPLOAD_REQUESTS_PER_USER: int(32, 1),
    BODY_IDLE_TIMEOUT_SECONDS: int(60, 1),
    UPLOAD_EXPIRY_SECONDS: int(24 * 3600, 1),
    EXPIRY_SWEEP_INTERVAL_SECONDS: int(300, 1),
    OFFSET_FLUSH_INTERVAL_MS: int(1000, 10),
    MAX_CONCAT_PARTIALS: int(100, 1).pipe(z.number().max(10_000)),
    KEEP_PARTIALS: bool(false),
    ENCRYPTED_UPLOADS: z.enum(['allow', 'refuse']).default('allow'),
    /**
     * Deduplication by SHA-256 of ready files: within each owner's files (default), across all
     * users (opt-in: one user's upload then shares storage with another's), or off.
     */
    DEDUP: z.enum(['owner', 'global', 'off']).default('owner'),
    SHUTDOWN_GRACE_SECONDS: int(10, 0),
    /** How long an idle keep-alive connection stays open: longer than a reverse proxy keeps one to reuse (haul-server.ts). */
    KEEP_ALIVE_TIMEOUT_SECONDS: int(120, 1),
    /** Retention of finished files (ready): unset keeps them; per type (category or MIME type) and per scope prefix where set. */
    RETENTION_SECONDS: optionalSeconds,
    RETENTION_SECONDS_BY_TYPE: secondsByName,
    RETENTION_SECONDS_BY_SCOPE: secondsByName,
    REJECTED_RETENTION_SECONDS: int(7 * 24 * 3600, 1),
    QUARANTINE_RETENTION_SECONDS: int(30 * 24 * 3600, 1),
    AUDIT_RETENTION_SECONDS: int(365 * 24 * 3600, 1),
    CORS_ORIGINS: z.string().default('*'),
    TRUST_PROXY: bool(false),
    /** The built demo app (demo-app/dist) served at `/`; "" serves none. */
    DEMO_DIR: z.string().default(DEFAULT_DEMO_DIR),

    LINK_SECRET: optionalString.pipe(z.string().min(32, 'must be at least 32 characters').optional()),
    LINK_TTL_SECONDS: int(24 * 3600, 60),
    DOWNLOADS_PER_MINUTE: int(120, 1),
    LINKS_PER_MINUTE: int(30, 1),
    SCAN_MODE: z.enum(['required', 'off']).optional(),
    CLAMD_HOST: optionalString,
    CLAMD_PORT: int(3310, 1).pipe(z.number().max(65535)),
    CLAMD_SOCKET: optionalString,
    CLAMD_TIMEOUT_MS: int(60_000, 1000),
    SCAN_MAX_SIZE: byteSize('2000MiB'),
    INFECTED_FILES: z.enum(['quarantine', 'delete']).default('quarantine'),
    ALLOWED_TYPES: z.string().default('image,pdf,office,zip,video,audio,text'),
    MAX_IMAGE_SIZE: byteSize('25MiB'),
    MAX_FILE_SIZE_DEFAULT: byteSize('10GiB'),
    MAX_IMAGE_PIXELS: int(100_000_000, 1),
    THUMBNAIL_SIZES: z.string().default('160,480,1280'),
    STRIP_LOCATION: bool(true),
    MEDIA_TIME_LIMIT_MS: int(20_000, 1),
    WORKER: z.enum(['embedded', 'off']).default('embedded'),
    WORKER_CONCURRENCY: int(2, 1),
    WORKER_EXPRESS_MAX_SIZE: byteSize('16MiB'),
    PROCESSING_MAX_ATTEMPTS: int(5, 1),
    PROCESSING_LEASE_SECONDS: int(60, 5),

    S3_ENDPOINT: optionalString.pipe(z.url().optional()),
    S3_PUBLIC_ENDPOINT: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    S3_REGION: z.string().min(1).default('us-east-1'),
    S3_BUCKET: optionalString,
    S3_ACCESS_KEY_ID: optionalString,
    S3_SECRET_ACCESS_KEY: optionalString,
    S3_FORCE_PATH_STYLE: optionalString.pipe(bool(false).optional()),
    S3_PREFIX: z
      .string()
      .default('uploads/')
      .refine((value) => value === '' || /^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*\/$/.test(value), {
        message: 'must be empty or path segments ending in "/", e.g. "uploads/"',
      }),
    S3_PART_SIZE: byteSize('8MiB'),
    S3_USE_TAGS: bool(false),
    /** Server-side encryption of every object Haul writes: SSE-S3 (AES256) or SSE-KMS (aws:kms, with S3_SSE_KMS_KEY_ID or the bucket's key). */
    S3_SSE: optionalString.pipe(z.enum(['AES256', 'aws:kms']).optional()),
    S3_SSE_KMS_KEY_ID: optionalString,
    /** How long S3 may leave a request with nothing moving before it fails as an outage (s3-request-handler.ts). */
    S3_STALL_TIMEOUT_MS: int(30_000, 1000),
    ...integrationEnv,
  })
  .superRefine((env, ctx) => {
    checkIntegrationEnv(env, ctx);
    if (env.AUTH_MODE === 'dev' && env.NODE_ENV === 'production') {
      ctx.addIssue({
        code: 'custom',
        path: ['AUTH_MODE'],
        message: 'AUTH_MODE=dev lets anyone sign in as anyone; it refuses to run with NODE_ENV=production',
      });
    }
    if (env.AUTH_MODE === 'jwt' && !env.JWT_SECRET && !env.JWKS_URL) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'AUTH_MODE=jwt needs JWT_SECRET or JWKS_URL' });
    }
    if (env.S3_BUCKET) {
      for (const key of ['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const) {
        if (!env[key] && env.S3_ENDPOINT) {
          ctx.addIssue({ code: 'custom', path: [key], message: 'required with S3_ENDPOINT and S3_BUCKET' });
        }
      }
    }
    if (env.SCAN_MODE === undefined && env.NODE_ENV === 'production' && !env.CLAMD_HOST && !env.CLAMD_SOCKET) {
      ctx.addIssue({ code: 'custom', path: ['CLAMD_HOST'], message: 'production needs CLAMD_HOST or CLAMD_SOCKET (or an explicit SCAN_MODE=off)' });
    }
    if (env.SCAN_MODE === 'required' && !env.CLAMD_HOST && !env.CLAMD_SOCKET) {
      ctx.addIssue({ code: 'custom', path: ['SCAN_MODE'], message: 'SCAN_MODE=required needs CLAMD_HOST or CLAMD_SOCKET' });
    }
    for (const size of env.THUMBNAIL_SIZES.split(',')) {
      if (!/^\s*\d{2,4}\s*$/.test(size)) {
        ctx.addIssue({ code: 'custom', path: ['THUMBNAIL_SIZES'], message: 'comma-separated pixel sizes, e.g. 160,480,1280' });
        break;
      }
    }
    if (env.S3_SSE_KMS_KEY_ID && env.S3_SSE !== 'aws:kms') {
      ctx.addIssue({ code: 'custom', path: ['S3_SSE_KMS_KEY_ID'], message: 'needs S3_SSE=aws:kms' });
    }
    if (env.S3_PART_SIZE < 5 * 2 ** 20) {
      ctx.addIssue({ code: 'custom', path: ['S3_PART_SIZE'], message: 'S3 parts must be at least 5MiB' });
    }
  })
  // The shape the server reads: grouped by concern, in the units the code uses.
  .transform((env) => {
    const integration = integrationConfig(env);
    const origins = env.CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean);
    return {
      env: env.NODE_ENV,
      port: env.PORT,
      host: env.HOST,
      dataDir: path.resolve(env.DATA_DIR),
      databaseUrl: env.DATABASE_URL,
      /** The PostgreSQL connection budget of this process (db/pool-settings.ts). */
      database: { queryPoolMax: env.DATABASE_POOL_MAX, idleTimeoutSeconds: env.DATABASE_IDLE_TIMEOUT_SECONDS },
      logLevel: env.LOG_LEVEL,
      /** GET /metrics requires `Authorization: Bearer <METRICS_TOKEN>` when set. */
      metricsToken: env.METRICS_TOKEN,
      /** The standalone worker serves GET /metrics on HOST:METRICS_PORT (the server: on PORT). */
      metricsPort: env.METRICS_PORT,
      /** The probe listener (PROBE_PORT): its /healthz fails once the main event loop has not turned for `stallMs`. */
      probes: env.PROBE_PORT === undefined ? undefined : { port: env.PROBE_PORT, stallMs: env.LIVENESS_STALL_SECONDS * 1000 },
      auth: {
        mode: env.AUTH_MODE,
        jwtSecret: env.JWT_SECRET,
        jwksUrl: env.JWKS_URL,
        issuer: env.JWT_ISSUER,
        audience: env.JWT_AUDIENCE,
        devTokenTtlSeconds: env.DEV_TOKEN_TTL_SECONDS,
        /** The JWT claim listing the bearer's scopes (JWT_SCOPES_CLAIM). */
        scopesClaim: integration.scopesClaim,
        serviceTokens: integration.serviceTokens,
      },
      hooks: integration.hooks,
      webhooks: integration.webhooks,
      uploads: {
        maxSize: env.MAX_UPLOAD_SIZE,
        maxConcurrentPerUser: env.MAX_CONCURRENT_UPLOADS_PER_USER,
        quotaBytes: env.QUOTA_BYTES,
        /** PATCH and POST-with-body requests one user may have open on this instance at once. */
        maxConcurrentRequestsPerUser: env.MAX_CONCURRENT_UPLOAD_REQUESTS_PER_USER,
        /** A body that sends nothing for this long is ended, its bytes kept (tus/body-idle-timeout.ts). */
        bodyIdleTimeoutMs: env.BODY_IDLE_TIMEOUT_SECONDS * 1000,
        expirySeconds: env.UPLOAD_EXPIRY_SECONDS,
        expirySweepIntervalSeconds: env.EXPIRY_SWEEP_INTERVAL_SECONDS,
        offsetFlushIntervalMs: env.OFFSET_FLUSH_INTERVAL_MS,
        maxConcatPartials: env.MAX_CONCAT_PARTIALS,
        keepPartials: env.KEEP_PARTIALS,
        /** End-to-end encrypted uploads (the `encryption` metadata): stored unscanned, or refused at creation. */
        encryptedUploads: env.ENCRYPTED_UPLOADS,
        /** Which ready files share one stored copy (uploads/stored-contents.ts). */
        dedup: env.DEDUP,
      },
      retention: {
        readySeconds: env.RETENTION_SECONDS,
        byType: env.RETENTION_SECONDS_BY_TYPE,
        byScopePrefix: env.RETENTION_SECONDS_BY_SCOPE,
        rejectedSeconds: env.REJECTED_RETENTION_SECONDS,
        quarantineSeconds: env.QUARANTINE_RETENTION_SECONDS,
        auditSeconds: env.AUDIT_RETENTION_SECONDS,
      },
      processing: {
        /**
         * `required`: every file is scanned by clamd, fail closed. `off`: explicitly unscanned.
         * `auto` (development default when SCAN_MODE is unset): `required` if clamd is configured,
         * else `off` — logged loudly and recorded on every upload.
         */
        scanMode: env.SCAN_MODE ?? (env.NODE_ENV === 'production' ? ('required' as const) : ('auto' as const)),
        clamd: { host: env.CLAMD_HOST, port: env.CLAMD_PORT, socket: env.CLAMD_SOCKET, timeoutMs: env.CLAMD_TIMEOUT_MS },
        scanMaxSize: env.SCAN_MAX_SIZE,
        infectedFiles: env.INFECTED_FILES,
        allowedTypes: env.ALLOWED_TYPES.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean),
        maxImageSize: env.MAX_IMAGE_SIZE,
        maxFileSize: env.MAX_FILE_SIZE_DEFAULT,
        maxImagePixels: env.MAX_IMAGE_PIXELS,
        encryptedUploads: env.ENCRYPTED_UPLOADS,
        thumbnailSizes: env.THUMBNAIL_SIZES.split(',').map((s) => Number(s.trim())),
        /** Originals of JPEG, PNG, WebP and HEIC/HEIF/AVIF are served without GPS (processing/strip-stored-location.ts). */
        stripLocation: env.STRIP_LOCATION,
        /** Wall-clock limit of each external decoder run (ffprobe, ffmpeg, pdfinfo, pdftoppm, heif-thumbnailer). */
        mediaTimeLimitMs: env.MEDIA_TIME_LIMIT_MS,
        worker: env.WORKER,
        concurrency: env.WORKER_CONCURRENCY,
        /** Files up to this size also have a lane of their own (worker.ts): never stuck behind large ones. */
        expressMaxSize: env.WORKER_EXPRESS_MAX_SIZE,
        maxAttempts: env.PROCESSING_MAX_ATTEMPTS,
        leaseMs: env.PROCESSING_LEASE_SECONDS * 1000,
      },
      files: {
        linkSecret: env.LINK_SECRET,
        linkTtlSeconds: env.LINK_TTL_SECONDS,
        downloadsPerMinute: env.DOWNLOADS_PER_MINUTE,
        linksPerMinute: env.LINKS_PER_MINUTE,
      },
      shutdownGraceMs: env.SHUTDOWN_GRACE_SECONDS * 1000,
      /** An idle keep-alive connection is closed after this long (Node's server.keepAliveTimeout; its default is 5 s). */
      keepAliveTimeoutMs: env.KEEP_ALIVE_TIMEOUT_SECONDS * 1000,
      corsOrigins: origins.length === 0 || origins.includes('*') ? ('*' as const) : origins,
      trustProxy: env.TRUST_PROXY,
      /** Absolute path of the built demo app, or undefined for none. */
      demoDir: env.DEMO_DIR.trim() === '' ? undefined : path.resolve(env.DEMO_DIR),
      s3: env.S3_BUCKET
        ? {
            endpoint: env.S3_ENDPOINT,
            /** Where browsers reach the store (S3_PUBLIC_ENDPOINT): presigned URLs are made for it. */
            ...(env.S3_PUBLIC_ENDPOINT ? { publicEndpoint: env.S3_PUBLIC_ENDPOINT } : {}),
            region: env.S3_REGION,
            bucket: env.S3_BUCKET,
            accessKeyId: env.S3_ACCESS_KEY_ID,
            secretAccessKey: env.S3_SECRET_ACCESS_KEY,
            // Custom endpoints (MinIO, Swift, Ceph) rarely have wildcard DNS for virtual-host buckets.
            forcePathStyle: env.S3_FORCE_PATH_STYLE ?? Boolean(env.S3_ENDPOINT),
            prefix: env.S3_PREFIX,
            partSize: env.S3_PART_SIZE,
            useTags: env.S3_USE_TAGS,
            sse: env.S3_SSE ? { algorithm: env.S3_SSE, kmsKeyId: env.S3_SSE_KMS_KEY_ID } : undefined,
            stallMs: env.S3_STALL_TIMEOUT_MS,
          }
        : undefined,
    };
  });

/** The parsed configuration: what the schema's transform produces, so each variable is spelled once. */
export type Config = z.output<typeof configSchema>;
export type ProcessingConfig = Config['processing'];
export type S3Config = NonNullable<Config['s3']>;
export type RetentionConfig = Config['retention'];


export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws one ConfigError naming every bad variable. */
export function loadConfig(source: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`),
    );
  }
  return parsed.data;
}
