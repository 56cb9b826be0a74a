import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { DEFAULT_MIGRATIONS_DIR } from './db/migrate.js';
import { createHaulServer, type HaulServer } from './haul-server.js';
import { silentLogger } from './logger.js';

const dirs: string[] = [];
const open: HaulServer[] = [];
afterAll(async () => {
  await Promise.all(open.map((haul) => haul.close()));
  await Promise.all(dirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

async function serverIn(dataDir: string): Promise<HaulServer> {
  const haul = await createHaulServer(loadConfig({ DATA_DIR: dataDir, PORT: '0', WORKER: 'off', SCAN_MODE: 'off', DEMO_DIR: '' }), { logger: silentLogger });
  open.push(haul);
  return haul;
}

const tempDir = async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-library-'));
  dirs.push(dir);
  return dir;
};

describe('createHaulServer', () => {
  it('runs twice in one process, each on its own DATA_DIR; closes cleanly; refuses to share a DATA_DIR', async () => {
    const [first, second] = await Promise.all([tempDir(), tempDir()]);
    const [a, b] = await Promise.all([serverIn(first!), serverIn(second!)]);
    const [atA, atB] = await Promise.all([a.listen(), b.listen()]);
    expect(atA.port).not.toBe(atB.port);
    for (const { url } of [atA, atB]) expect(await (await fetch(`${url}/healthz`)).json()).toEqual({ status: 'ok' });
    await expect(a.listen()).rejects.toThrow(/already listening/);

    // Another instance on a DATA_DIR in use would silently diverge from it (its database and files).
    await expect(serverIn(first!)).rejects.toThrow(/already in use by another Haul server in this process/);

    const token = (await (await fetch(`${atA.url}/api/dev/token`, { method: 'POST', body: '{"user":"alice"}' })).json()) as { token: string };
    await a.close();
    await a.close(); // idempotent
    await expect(fetch(`${atA.url}/healthz`)).rejects.toThrow();
    expect((await fetch(`${atB.url}/healthz`)).status).toBe(200);

    // The DATA_DIR is free again, and what it holds (database, dev-token key) is still there.
    const again = await serverIn(first!);
    const listed = await again.app.request('/api/uploads', { headers: { Authorization: `Bearer ${token.token}` } });
    expect(listed.status).toBe(200);
    // Every migration in migrations/ applied once (counted, so each new migration does not edit this test).
    const migrations = (await fs.readdir(DEFAULT_MIGRATIONS_DIR)).filter((name) => name.endsWith('.sql')).length;
    expect(await again.db.query(`SELECT count(*)::int AS n FROM haul_migrations`)).toEqual([{ n: migrations }]);
  }, 120_000);
});
