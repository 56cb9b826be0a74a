import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { type UsageJson, usageSchema } from '@haul/api';
import { loadConfig } from '../../server/src/config.js';
import { createHaulServer, type HaulServer, type HaulServerOverrides } from '../../server/src/haul-server.js';
import { silentLogger } from '../../server/src/logger.js';
import { type FreshDatabase, freshDatabase } from './database.js';

/**
 * Haul as a library in the test process (createHaulServer, listening on a free port) with a
 * database of its own on the run's PostgreSQL server: for tests that give it functions (hooks)
 * or look at its database and data directory directly. `stopAll()` closes every one started.
 */
export interface LibraryServer {
  haul: HaulServer;
  url: string;
  /** With PROBE_PORT: where the probe thread answers /healthz and /readyz. */
  probesUrl?: string;
  endpoint: string;
  dataDir: string;
  db: FreshDatabase;
  token(user: string, body?: Record<string, unknown>): Promise<string>;
  usage(token: string): Promise<UsageJson>;
}

const running: LibraryServer[] = [];

export async function startLibraryServer(env: Record<string, string> = {}, overrides: HaulServerOverrides = {}): Promise<LibraryServer> {
  const db = await freshDatabase(inject('databaseUrl'));
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-library-'));
  const haul = await createHaulServer(
    loadConfig({ DATA_DIR: dataDir, DATABASE_URL: db.url, PORT: '0', WORKER: 'off', SCAN_MODE: 'off', DEMO_DIR: '', ...env }),
    { logger: silentLogger, ...overrides },
  );
  const { url, probesUrl } = await haul.listen();
  const server: LibraryServer = {
    haul, url, ...(probesUrl ? { probesUrl } : {}), endpoint: `${url}/files/`, dataDir, db,
    async token(user, body = {}) {
      const response = await fetch(`${url}/api/dev/token`, { method: 'POST', body: JSON.stringify({ user, ...body }) });
      return ((await response.json()) as { token: string }).token;
    },
    async usage(token) {
      return usageSchema.strict().parse(await (await fetch(`${url}/api/usage`, { headers: { Authorization: `Bearer ${token}` } })).json());
    },
  };
  running.push(server);
  return server;
}

export async function stopAll(): Promise<void> {
  for (const { haul, db, dataDir } of running.splice(0)) {
    await haul.close();
    await db.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
