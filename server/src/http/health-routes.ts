import { Hono } from 'hono';
import type { ProcessingConfig } from '../config.js';
import type { Database } from '../db/database.js';
import { clamdCommand } from '../processing/clamd-command.js';
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

/** clamd answers PING with PONG (on a connection of its own, never behind a scan). */
async function pingClamd(clamd: ProcessingConfig['clamd']): Promise<void> {
  const answer = await clamdCommand(clamd, 'PING', PROBE_TIMEOUT_MS);
  if (answer !== 'PONG') throw new Error(`clamd answered PING with ${JSON.stringify(answer.slice(0, 80))}`);
}

/**
 * /healthz: the process answers. /readyz: it can do its job — database and storage reachable,
 * and, with SCAN_MODE=required, clamd too (without it no file can become ready).
 */
export function createHealthRoutes({ db, storage, isShuttingDown, requiredScanner }: {
  db: Database;
  storage: Storage;
  isShuttingDown: () => boolean;
  /** clamd's address when every file must be scanned (SCAN_MODE=required); else not checked. */
  requiredScanner?: ProcessingConfig['clamd'];
}) {
  return new Hono<AppEnv>()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      const [database, store, clamd] = await Promise.all([
        probe(() => db.query('SELECT 1')),
        probe(() => storage.check()),
        requiredScanner ? probe(() => pingClamd(requiredScanner)) : undefined,
      ]);
      const checks = { database, storage: store, ...(clamd ? { clamd } : {}), shuttingDown: isShuttingDown() };
      const ready = database === 'ok' && store === 'ok' && (clamd ?? 'ok') === 'ok' && !checks.shuttingDown;
      return c.json({ status: ready ? 'ready' : 'unavailable', checks }, ready ? 200 : 503);
    });
}
