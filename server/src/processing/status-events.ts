import { EventEmitter } from 'node:events';
import postgres from 'postgres';
import { APPLICATION_NAMES, type PoolSettings, poolOptions } from '../db/pool-settings.js';
import type { Logger } from '../logger.js';

const CHANNEL = 'haul_upload_status';

/**
 * "This upload's status changed": lets SSE requests wake up instead of polling the database.
 * With PostgreSQL it travels through NOTIFY/LISTEN, so a worker running as its own process (or
 * another instance) reaches every server; the embedded cluster speaks the same protocol.
 */
export interface StatusEvents {
  publish(uploadId: string): Promise<void>;
  subscribe(uploadId: string, listener: () => void): () => void;
  close(): Promise<void>;
}

export async function createStatusEvents({ databaseUrl, pools, logger }: { databaseUrl: string | undefined; pools: PoolSettings; logger: Logger }): Promise<StatusEvents> {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const subscribe = (uploadId: string, listener: () => void) => {
    emitter.on(uploadId, listener);
    return () => void emitter.off(uploadId, listener);
  };
  if (!databaseUrl) {
    return { publish: async (id) => void emitter.emit(id), subscribe, close: async () => {} };
  }
  // Two connections: LISTEN's own (postgres.js opens it apart from the pool, and keeps it), and
  // one for NOTIFY, closed when idle — a NOTIFY is one short statement.
  const sql = postgres(databaseUrl, poolOptions(APPLICATION_NAMES.events, { max: 1, idleTimeoutSeconds: pools.idleTimeoutSeconds }));
  await sql.listen(CHANNEL, (id) => emitter.emit(id));
  return {
    async publish(id) {
      try {
        await sql`SELECT pg_notify(${CHANNEL}, ${id})`;
      } catch (err) {
        // Listeners also re-check on a timer; a lost notification only delays them.
        logger.warn('could not publish a status change', { err, uploadId: id });
      }
    },
    subscribe,
    close: () => sql.end({ timeout: 5 }),
  };
}
