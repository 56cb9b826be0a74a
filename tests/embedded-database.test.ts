import fsp from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { readPostmasterPid, runningEmbeddedDatabaseUrl } from '../server/src/db/embedded-postgres-files.js';
import { advisoryKey } from '../server/src/tus/postgres-locker.js';
import { type HaulServer, processingEnv, startHaul, startWorker, type WorkerProcess } from './helpers/haul-server.js';
import { createUpload, offsetOf, patch, request, uploadBuffer } from './helpers/tus.js';
import { waitForUpload } from './helpers/uploads-api.js';
import { waitFor } from './helpers/wait.js';

/**
 * Without DATABASE_URL, Haul runs its own PostgreSQL under DATA_DIR/postgres: one server per
 * DATA_DIR, the cluster lives and dies with it (also on SIGKILL), and it is a real PostgreSQL that
 * other processes share (a worker, advisory locks, LISTEN/NOTIFY).
 */
describe('embedded database (PostgreSQL under DATA_DIR/postgres)', () => {
  const started: HaulServer[] = [];
  const workers: WorkerProcess[] = [];
  const dataDirs: string[] = [];

  afterAll(async () => {
    for (const w of workers) await w.kill();
    for (const s of started) await s.kill();
    for (const dir of dataDirs) await fsp.rm(dir, { recursive: true, force: true });
  });

  const start = async (options: Parameters<typeof startHaul>[0] = {}) => {
    const server = await startHaul(options);
    started.push(server);
    if (!dataDirs.includes(server.dataDir)) dataDirs.push(server.dataDir);
    return server;
  };
  const postmasterOf = async (server: HaulServer) => (await readPostmasterPid(path.join(server.dataDir, 'postgres', 'data')))!.pid;
  const isAlive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('refuses a second server on the same DATA_DIR; a SIGKILLed server takes its PostgreSQL along', async () => {
    const first = await start();
    const token = await first.token('lock-owner');
    const { url } = await createUpload(first.tusEndpoint, token, { length: 10, body: Buffer.from('0123456789') });
    const firstPostmaster = await postmasterOf(first);

    const failure = await startHaul({ dataDir: first.dataDir }).then(
      (s) => {
        started.push(s);
        return 'started';
      },
      (error: Error) => error.message,
    );
    expect(failure).toMatch(/exited with 1 before listening/);
    expect(failure).toMatch(new RegExp(`embedded database at \\S+ is in use by process ${first.process.pid}`));
    expect(failure).toMatch(/another DATA_DIR|DATABASE_URL/);

    // The first server did not notice.
    expect((await request({ method: 'GET', url: `${first.url}/readyz` })).status).toBe(200);
    expect(await offsetOf(url, token)).toBe(10);

    // SIGKILL leaves no orphan: the watchdog stops PostgreSQL when the server's pipe closes.
    await first.kill();
    await waitFor(async () => !isAlive(firstPostmaster), { timeoutMs: 15_000, what: 'the first server\'s PostgreSQL to exit' });

    const second = await start({ dataDir: first.dataDir });
    const again = `${second.tusEndpoint}${url.split('/').pop()}`;
    expect(await offsetOf(again, token)).toBe(10);
    const secondPostmaster = await postmasterOf(second);
    expect(await second.stop()).toBe(0);
    // A graceful stop shuts PostgreSQL down cleanly (it removes its postmaster.pid on the way out).
    expect(isAlive(secondPostmaster)).toBe(false);
    expect(await readPostmasterPid(path.join(second.dataDir, 'postgres', 'data'))).toBeUndefined();
  });

  it('a separate worker process processes uploads from the embedded database', async () => {
    const server = await start({ env: processingEnv({ WORKER: 'off' }) });
    const token = await server.token('alice');
    const worker = await startWorker(server.env);
    workers.push(worker);
    const { id } = await uploadBuffer(server.tusEndpoint, token, Buffer.from('name,size\nembedded,1\n'), { filename: 'w.csv', filetype: 'text/csv' });
    const upload = await waitForUpload(server, token, id, { timeoutMs: 30_000 });
    expect(upload).toMatchObject({ status: 'ready', detectedType: 'text/csv' });
    expect(worker.logs()).toContain(`"uploadId":"${id}"`);
    expect(await worker.stop()).toBe(0);
  });

  it('uploads are locked with advisory locks that other connections see, released on request through NOTIFY', async () => {
    const server = await start();
    const token = await server.token('locks');
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: 4 });
    const sql = postgres(await runningEmbeddedDatabaseUrl(server.dataDir), { max: 2, onnotice: () => {} });
    try {
      const [row] = await sql<{ storage_key: string }[]>`SELECT storage_key FROM uploads WHERE id = ${id}`;
      const key = advisoryKey(row!.storage_key).toString();
      const holder = await sql.reserve();
      await holder`SELECT pg_advisory_lock(${key}::bigint)`;
      let asked = false;
      await sql.listen('haul_tus_lock_release', (payload) => {
        if (payload === row!.storage_key) asked = true;
      });
      const patching = patch(url, token, 0, Buffer.from('data'));
      // The server cannot take the lock another session holds, and asks its holder to let go.
      await waitFor(async () => asked, { timeoutMs: 10_000, what: 'a release request' });
      await holder`SELECT pg_advisory_unlock(${key}::bigint)`;
      holder.release();
      expect((await patching).status).toBe(204);
    } finally {
      await sql.end();
    }
    expect(await offsetOf(url, token)).toBe(4);
  });

  it('refuses to start beside the PGlite data of an earlier Haul, saying what to do', async () => {
    const dataDir = await fsp.mkdtemp(path.join(path.dirname(started[0]!.dataDir), 'haul-pglite-'));
    dataDirs.push(dataDir);
    await fsp.mkdir(path.join(dataDir, 'pglite'));
    const failure = await startHaul({ dataDir }).then(
      (s) => {
        started.push(s);
        return 'started';
      },
      (error: Error) => error.message,
    );
    expect(failure).toMatch(/pglite holds the metadata of an earlier Haul.*Move \S+ away/s);
  });
});
