import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { HaulError } from '../errors.js';
import type { AppEnv } from '../http/app-env.js';
import type { HaulMetrics } from './metrics.js';

export const METRICS_PATH = '/metrics';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Whether a request may read the metrics: anyone without METRICS_TOKEN, else only
 * `Authorization: Bearer <METRICS_TOKEN>`. Compared in constant time over SHA-256 digests, so
 * neither the token's characters nor its length leak through timing.
 */
export function metricsAccess(token: string | undefined): (authorization: string | undefined) => boolean {
  if (token === undefined) return () => true;
  const expected = digest(token);
  return (authorization) => {
    const given = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
    return given !== undefined && timingSafeEqual(digest(given), expected);
  };
}

/** The Prometheus text exposition of the registry, for the server's app and the worker's listener. */
export async function renderMetrics(metrics: Pick<HaulMetrics, 'registry'>): Promise<{ body: string; contentType: string }> {
  return { body: await metrics.registry.metrics(), contentType: metrics.registry.contentType };
}

/** GET /metrics on the server's own port. */
export function createMetricsRoutes({ metrics, token }: { metrics: Pick<HaulMetrics, 'registry'>; token: string | undefined }) {
  const allowed = metricsAccess(token);
  return new Hono<AppEnv>().get(METRICS_PATH, async (c) => {
    const authorization = c.req.header('authorization');
    if (!allowed(authorization)) {
      const headers = { 'WWW-Authenticate': 'Bearer realm="metrics"' };
      if (authorization === undefined) throw new HaulError('AUTH_REQUIRED', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>', { headers });
      throw new HaulError('AUTH_INVALID', 'That is not the METRICS_TOKEN', { headers });
    }
    const { body, contentType } = await renderMetrics(metrics);
    return c.body(body, 200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  });
}
