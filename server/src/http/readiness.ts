import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import postgres from 'postgres';
import type { ProcessingConfig } from '../config.js';
import { APPLICATION_NAMES, type PoolSettings, poolOptions } from '../db/pool-settings.js';
import { clamdCommand } from '../processing/clamd-command.js';
import type { Storage } from '../storage/storage.js';

/**
 * Liveness under load (issue 13, item 7): /healthz and /readyz never queue behind database work or
 * request bodies.
 * - Both are answered by `answerProbes` in the HTTP server's request listener, before the app's
 *   middleware (metrics, request logging, CORS, audit, routing). /healthz waits for nothing.
 * - /readyz probes the database over a connection of its own (never behind the pool's upload
 *   work), storage and — with SCAN_MODE=required — clamd, each bounded by PROBE_TIMEOUT_MS, on each
 *   request (requests arriving together share one probe), so an outage shows at once.
 * The app keeps its own /healthz and /readyz routes (health-routes.ts), answered the same way, for
 * in-process use (`app.request`) and the OpenAPI document.
 */

const PROBE_TIMEOUT_MS = 2000;
/** A probe that started this recently is as good as a new one. */
const JOIN_WINDOW_MS = 50;

/** Each check: 'ok' or why not. `clamd` only with SCAN_MODE=required (no file can become ready without it). */
type Probed = { database: string; storage: string; clamd?: string };

export interface ReadinessReport {
  ready: boolean;
  checks: Probed & { shuttingDown: boolean };
}

/** clamd answers PING with PONG (on a connection of its own, never behind a scan). */
async function pingClamd(clamd: ProcessingConfig['clamd']): Promise<void> {
  const answer = await clamdCommand(clamd, 'PING', PROBE_TIMEOUT_MS);
  if (answer !== 'PONG') throw new Error(`clamd answered PING with ${JSON.stringify(answer.slice(0, 80))}`);
}

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

export function createReadiness({ databaseUrl, pools, storage, isShuttingDown, requiredScanner }: {
  databaseUrl: string;
  pools: PoolSettings;
  storage: Pick<Storage, 'check'>;
  isShuttingDown: () => boolean;
  /** clamd's address when every file must be scanned (SCAN_MODE=required); else not checked. */
  requiredScanner?: ProcessingConfig['clamd'];
}) {
  // One connection of its own, closed when /readyz is not asked for a while.
  const sql = postgres(databaseUrl, poolOptions(APPLICATION_NAMES.readiness, { max: 1, idleTimeoutSeconds: pools.idleTimeoutSeconds, connectTimeoutSeconds: 2 }));
  let running: { startedAt: number; result: Promise<Probed> } | undefined;
  const probeAll = async (): Promise<Probed> => {
    const [database, store, clamd] = await Promise.all([
      probe(() => sql`SELECT 1`),
      probe(() => storage.check()),
      requiredScanner ? probe(() => pingClamd(requiredScanner)) : undefined,
    ]);
    return { database, storage: store, ...(clamd ? { clamd } : {}) };
  };
  const report = (probed: Probed): ReadinessReport => {
    const checks = { ...probed, shuttingDown: isShuttingDown() };
    return { ready: checks.database === 'ok' && checks.storage === 'ok' && (checks.clamd ?? 'ok') === 'ok' && !checks.shuttingDown, checks };
  };
  return {
    /**
     * The result of a probe that started no earlier than now: requests arriving while one runs
     * share it, so an outage shows at once and a burst of probes costs one.
     */
    async current(): Promise<ReadinessReport> {
      const arrivedAt = performance.now();
      if (!running || running.startedAt < arrivedAt - JOIN_WINDOW_MS) {
        const result = probeAll();
        const own = { startedAt: performance.now(), result };
        running = own;
        void result.finally(() => {
          if (running === own) running = undefined;
        });
      }
      return report(await running.result);
    },
    async stop(): Promise<void> {
      await running?.result;
      await sql.end({ timeout: 1 });
    },
  };
}

export type Readiness = ReturnType<typeof createReadiness>;

/** A JSON answer that no cache keeps (the probes' answers, here and on the probe thread). */
export const sendJson = (res: ServerResponse, status: number, body: unknown) => {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json), 'Cache-Control': 'no-store' });
  res.end(json);
};

/** The HTTP server's request listener: /healthz and /readyz answered before `app`, anything else by `app`. */
export function answerProbes(readiness: Pick<Readiness, 'current'>, app: RequestListener): RequestListener<typeof IncomingMessage, typeof ServerResponse> {
  return (req, res) => {
    if (req.method === 'GET' || req.method === 'HEAD') {
      const path = req.url?.split('?')[0];
      if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (path === '/readyz') {
        void readiness.current().then(
          ({ ready, checks }) => sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'unavailable', checks }),
          (error: unknown) => sendJson(res, 503, { status: 'unavailable', error: error instanceof Error ? error.message : String(error) }),
        );
        return;
      }
    }
    app(req, res);
  };
}
