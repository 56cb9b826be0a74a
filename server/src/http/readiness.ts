import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import postgres from 'postgres';
import type { ProcessingConfig } from '../config.js';
import { clamdCommand } from '../processing/clamd-command.js';
import type { Storage } from '../storage/storage.js';

/**
 * Liveness under load (issue 13, item 7): /healthz and /readyz answer in well under 100 ms however
 * many uploads run, because neither waits for anything when asked.
 * - Readiness is probed in the background, every PROBE_INTERVAL_MS: the database over a connection
 *   of its own (so the probe never queues behind the pool's upload work) and storage, each bounded
 *   by PROBE_TIMEOUT_MS. A request reads the last result.
 * - Both paths are answered by `answerProbes` in the HTTP server's request listener, before the
 *   app's middleware (request logging, CORS, audit, routing) and before any body is looked at.
 * The app keeps its own /healthz and /readyz routes (health-routes.ts), reading the same results,
 * for in-process use (`app.request`) and the OpenAPI document.
 */

const PROBE_TIMEOUT_MS = 2000;
const PROBE_INTERVAL_MS = 1000;

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

export function createReadiness({ databaseUrl, storage, isShuttingDown, requiredScanner }: {
  databaseUrl: string;
  storage: Pick<Storage, 'check'>;
  isShuttingDown: () => boolean;
  /** clamd's address when every file must be scanned (SCAN_MODE=required); else not checked. */
  requiredScanner?: ProcessingConfig['clamd'];
}) {
  const sql = postgres(databaseUrl, { max: 1, idle_timeout: 0, connect_timeout: 2, onnotice: () => {}, connection: { application_name: 'haul-readiness' } });
  let last: Probed | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const refresh = async () => {
    const [database, store, clamd] = await Promise.all([
      probe(() => sql`SELECT 1`),
      probe(() => storage.check()),
      requiredScanner ? probe(() => pingClamd(requiredScanner)) : undefined,
    ]);
    last = { database, storage: store, ...(clamd ? { clamd } : {}) };
  };
  const first = refresh();
  const loop = () => {
    if (stopped) return;
    timer = setTimeout(() => void refresh().finally(loop), PROBE_INTERVAL_MS);
    timer.unref();
  };
  void first.then(loop);

  const report = (probed: Probed): ReadinessReport => {
    const checks = { ...probed, shuttingDown: isShuttingDown() };
    return { ready: checks.database === 'ok' && checks.storage === 'ok' && (checks.clamd ?? 'ok') === 'ok' && !checks.shuttingDown, checks };
  };
  return {
    /** The last probe's result; before the first probe has finished, undefined. */
    peek: (): ReadinessReport | undefined => (last ? report(last) : undefined),
    /** The last probe's result, waiting for the first probe if need be. */
    async current(): Promise<ReadinessReport> {
      await first;
      return report(last!);
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await first;
      await sql.end({ timeout: 1 });
    },
  };
}

export type Readiness = ReturnType<typeof createReadiness>;

const send = (res: ServerResponse, status: number, body: unknown) => {
  const json = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json), 'Cache-Control': 'no-store' });
  res.end(json);
};

/** The HTTP server's request listener: /healthz and /readyz answered at once, anything else by `app`. */
export function answerProbes(readiness: Pick<Readiness, 'peek'>, app: RequestListener): RequestListener<typeof IncomingMessage, typeof ServerResponse> {
  return (req, res) => {
    if (req.method === 'GET' || req.method === 'HEAD') {
      const path = req.url?.split('?')[0];
      if (path === '/healthz') return send(res, 200, { status: 'ok' });
      const report = path === '/readyz' ? readiness.peek() : undefined;
      if (report) return send(res, report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'unavailable', checks: report.checks });
    }
    app(req, res);
  };
}
