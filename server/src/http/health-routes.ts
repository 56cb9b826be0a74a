import { Hono } from 'hono';
import type { Database } from '../db/database.js';
import type { Storage } from '../storage/storage.js';
import type { AppEnv } from './app-env.js';

const PROBE_TIMEOUT_MS = 2000;

async function probe(check: () => Promise<unknown>): Promise<'ok' | string> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
      }),
    ]);
    return 'ok';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
  }
}

/** /healthz: the process answers. /readyz: it can do its job (database and storage reachable). */
export function createHealthRoutes({ db, storage, isShuttingDown }: {
  db: Database;
  storage: Storage;
  isShuttingDown: () => boolean;
}) {
  return new Hono<AppEnv>()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      const [database, store] = await Promise.all([probe(() => db.query('SELECT 1')), probe(() => storage.check())]);
      const checks = { database, storage: store, shuttingDown: isShuttingDown() };
      const ready = database === 'ok' && store === 'ok' && !checks.shuttingDown;
      return c.json({ status: ready ? 'ready' : 'unavailable', checks }, ready ? 200 : 503);
    });
}
