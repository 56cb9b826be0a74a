import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { createS3Client } from '../storage/s3-client.js';
import { createReadiness, sendJson as send } from './readiness.js';
import { HEARTBEAT, type ProbeThreadData } from './probe-listener.js';

/**
 * The probe thread (started by probe-listener.ts when PROBE_PORT is set): /healthz and /readyz on
 * a listener and an event loop of their own, so a probe waits for neither the upload work on the
 * main loop nor the main listener's accept queue (libuv accepts one connection per loop turn:
 * behind a burst of a few hundred new upload connections a probe on PORT waits seconds).
 *
 * What they say is about the main thread all the same:
 * - /healthz: 200 while the main loop has turned within LIVENESS_STALL_SECONDS (its heartbeat,
 *   written every HEARTBEAT.intervalMs into shared memory), else 503 `stalled` — a process whose
 *   loop is stuck is not alive, however quickly this thread answers.
 * - /readyz: the same checks as on PORT (database over a connection of this thread's own,
 *   storage, clamd when required), plus the main loop's heartbeat and its shutting-down flag.
 */

const data = workerData as ProbeThreadData;
const beat = new BigInt64Array(data.heartbeat);

/** Milliseconds the main loop is late by (0 while its heartbeat arrives on time). */
function mainLoopStallMs(): number {
  const age = Date.now() - Number(Atomics.load(beat, HEARTBEAT.lastTurn));
  return Math.max(0, age - HEARTBEAT.intervalMs);
}

function storageCheck(storage: ProbeThreadData['storage']): () => Promise<void> {
  if ('directory' in storage) return () => fsp.access(storage.directory, fs.constants.W_OK);
  const client = createS3Client(storage.s3);
  return async () => {
    await client.headBucket({ Bucket: storage.s3.bucket });
  };
}

const readiness = createReadiness({
  databaseUrl: data.databaseUrl,
  pools: data.pools,
  storage: { check: storageCheck(data.storage) },
  isShuttingDown: () => Atomics.load(beat, HEARTBEAT.shuttingDown) === 1n,
  ...(data.requiredScanner ? { requiredScanner: data.requiredScanner } : {}),
});

const server = http.createServer((req, res) => {
  const path = (req.url ?? '').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'only GET and HEAD' });
  const stallMs = mainLoopStallMs();
  const stalled = stallMs > data.stallMs;
  if (path === '/healthz') return send(res, stalled ? 503 : 200, { status: stalled ? 'stalled' : 'ok', eventLoopStallMs: stallMs });
  if (path === '/readyz') {
    readiness.current().then(
      ({ ready, checks }) => {
        const eventLoop = stalled ? `stalled for ${stallMs} ms` : 'ok';
        const all = ready && !stalled;
        send(res, all ? 200 : 503, { status: all ? 'ready' : 'unavailable', checks: { ...checks, eventLoop } });
      },
      (error: unknown) => send(res, 503, { status: 'unavailable', error: error instanceof Error ? error.message : String(error) }),
    );
    return;
  }
  send(res, 404, { error: 'only /healthz and /readyz are served here' });
});
// A kubelet opens a connection per probe; nothing should linger between them.
server.keepAliveTimeout = 1000;

server.once('error', (error) => parentPort!.postMessage({ type: 'failed', message: error.message }));
server.listen(data.port, data.host, () => {
  const address = server.address() as AddressInfo;
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  parentPort!.postMessage({ type: 'listening', url: `http://${host}:${address.port}` });
});

parentPort!.on('message', (message: { type: 'close' }) => {
  if (message.type !== 'close') return;
  server.closeAllConnections();
  server.close(() => {
    void readiness.stop().finally(() => parentPort!.close());
  });
});
