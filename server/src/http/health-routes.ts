import { Hono } from 'hono';
import type { AppEnv } from './app-env.js';
import type { Readiness } from './readiness.js';

/**
 * /healthz: the process answers. /readyz: it can do its job — database and storage reachable, and,
 * with SCAN_MODE=required, clamd too — probed on connections of their own (readiness.ts). The HTTP
 * server answers both before the app sees them; these routes serve in-process requests
 * (`app.request`) and document them.
 */
export function createHealthRoutes({ readiness }: { readiness: Pick<Readiness, 'current'> }) {
  return new Hono<AppEnv>()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      const { ready, checks } = await readiness.current();
      return c.json({ status: ready ? 'ready' : 'unavailable', checks }, ready ? 200 : 503);
    });
}
