import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ProcessingConfig, S3Config } from '../config.js';
import type { PoolSettings } from '../db/pool-settings.js';

/**
 * PROBE_PORT: /healthz and /readyz answered by a thread of their own (probe-thread.ts) on a
 * listener of their own. Under upload load the main loop turns every few tens of milliseconds
 * and libuv accepts one connection per turn, so a probe on PORT waits for the turns and for every
 * connection queued before it (200 uploads starting together: seconds). The probe thread waits
 * for neither, and still reports on the main loop: it reads a heartbeat the main thread writes
 * into shared memory every HEARTBEAT.intervalMs.
 */

/** Layout of the shared heartbeat (a BigInt64Array). */
export const HEARTBEAT = {
  /** Date.now() of the main loop's last turn seen by its heartbeat timer. */
  lastTurn: 0,
  /** 1 once the server is shutting down (then /readyz answers 503, as on PORT). */
  shuttingDown: 1,
  intervalMs: 100,
} as const;

/** What the probe thread is started with (structured-cloned; the heartbeat is shared). */
export interface ProbeThreadData {
  host: string;
  port: number;
  heartbeat: SharedArrayBuffer;
  /** /healthz answers 503 once the main loop has been stuck this long. */
  stallMs: number;
  databaseUrl: string;
  pools: PoolSettings;
  storage: { directory: string } | { s3: S3Config };
  requiredScanner?: ProcessingConfig['clamd'];
}

export interface ProbeListener {
  url: string;
  /** /readyz answers 503 from now on. */
  shuttingDown(): void;
  close(): Promise<void>;
}

/**
 * The thread runs the built module: run from the TypeScript sources (vitest), the module next to
 * this one is a .ts file a worker cannot load, so the build's copy is used (tests run after it).
 */
function threadModule(): URL {
  const beside = new URL('./probe-thread.js', import.meta.url);
  if (fs.existsSync(fileURLToPath(beside))) return beside;
  return new URL('../../dist/http/probe-thread.js', import.meta.url);
}

export async function startProbeListener(options: Omit<ProbeThreadData, 'heartbeat'>): Promise<ProbeListener> {
  const heartbeat = new SharedArrayBuffer(2 * BigInt64Array.BYTES_PER_ELEMENT);
  const beat = new BigInt64Array(heartbeat);
  const turn = () => Atomics.store(beat, HEARTBEAT.lastTurn, BigInt(Date.now()));
  turn();
  const timer = setInterval(turn, HEARTBEAT.intervalMs);
  timer.unref();

  const worker = new Worker(threadModule(), { workerData: { ...options, heartbeat } satisfies ProbeThreadData, name: 'haul-probes' });
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      worker.on('message', (message: { type: 'listening'; url: string } | { type: 'failed'; message: string }) => {
        if (message.type === 'listening') resolve(message.url);
        else reject(new Error(`PROBE_PORT ${options.port}: ${message.message}`));
      });
      worker.once('error', reject);
      void exited.then(() => reject(new Error('the probe thread exited before it listened')));
    });
  } catch (error) {
    clearInterval(timer);
    await worker.terminate();
    throw error;
  }
  return {
    url,
    shuttingDown: () => Atomics.store(beat, HEARTBEAT.shuttingDown, 1n),
    async close() {
      clearInterval(timer);
      worker.postMessage({ type: 'close' });
      const forced = setTimeout(() => void worker.terminate(), 3000);
      await exited;
      clearTimeout(forced);
    },
  };
}
