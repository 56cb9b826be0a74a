import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type FreshDatabase, freshDatabase } from './helpers/database.js';
import { textFile } from './helpers/files.js';
import { csvFile } from './helpers/fixtures.js';
import { type HaulServer, processingEnv, startHaul, startWorker, type WorkerProcess } from './helpers/haul-server.js';
import { createUpload, patchFile, uploadBuffer } from './helpers/tus.js';
import { expectHistory, fetchUpload, waitForUpload } from './helpers/uploads-api.js';

const MiB = 2 ** 20;

/**
 * Processing is durable: a job lives in the database, not in a process. A worker killed in the
 * middle of a file loses its lease and another worker finishes the file (each such death counts
 * as an attempt); an upload whose server went away before processing it is processed after a
 * restart.
 */
describe('processing survives crashes', () => {
  let database: FreshDatabase;
  let scratch: string;
  const servers: HaulServer[] = [];
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    database = await freshDatabase(inject('databaseUrl'));
    scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-durable-'));
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    await Promise.all(servers.map((s) => s.stop()));
    await database?.drop();
    await fs.rm(scratch, { recursive: true, force: true });
  });

  const start = async (options: Parameters<typeof startHaul>[0]) => {
    const server = await startHaul(options);
    servers.push(server);
    return server;
  };

  /** A server without a worker, and a 256 MiB text file (about a second of processing) to upload to it. */
  let standalone: { server: HaulServer; token: string; file: string; size: number; sha256: string } | undefined;
  const standaloneSetup = async () => {
    if (!standalone) {
      const server = await start({
        env: processingEnv({ WORKER: 'off', DATABASE_URL: database.url, PROCESSING_LEASE_SECONDS: '5' }),
      });
      const size = 256 * MiB;
      const file = await textFile(scratch, 'big.txt', size);
      standalone = { server, token: await server.token('alice'), file: file.path, size, sha256: file.sha256 };
    }
    return standalone;
  };

  /** Uploads the big file, lets a fresh worker (with `env` on top) take it, and SIGKILLs that worker mid-file. */
  async function uploadAndKillWorkerMidFile(env: Record<string, string> = {}) {
    const { server, token, file, size } = await standaloneSetup();
    const { url, id } = await createUpload(server.tusEndpoint, token, {
      length: size, metadata: { filename: 'big.txt', filetype: 'text/plain' },
    });
    expect(await patchFile(url, token, file, { start: 0, end: size })).toMatchObject({ status: 204, offset: size });
    expect(await fetchUpload(server, token, id)).toMatchObject({ status: 'received' }); // no worker yet

    const worker = await startWorker({ ...server.env, ...env });
    workers.push(worker);
    const deadline = Date.now() + 10_000;
    let claimed: Record<string, unknown> | undefined;
    while (!claimed && Date.now() < deadline) {
      [claimed] = await database.sql`
        SELECT j.locked_by, j.locked_until > now() AS leased, j.attempts FROM processing_jobs j JOIN uploads u ON u.id = j.upload_id
        WHERE j.upload_id = ${id} AND j.locked_by IS NOT NULL AND u.status = 'processing'`;
    }
    expect(claimed).toMatchObject({ leased: true, attempts: 1 });
    await worker.kill();
    expect(worker.logs()).not.toContain('"msg":"upload processed"');
    expect(await fetchUpload(server, token, id)).toMatchObject({ status: 'processing', processedAt: null });
    // The dead worker still holds the job until its lease runs out.
    const [orphan] = await database.sql`SELECT locked_by, locked_until FROM processing_jobs WHERE upload_id = ${id}`;
    expect(orphan!.locked_by).toBe(claimed!.locked_by);
    return { server, token, id, leaseEnd: orphan!.locked_until as Date };
  }

  it('a standalone worker SIGKILLed mid-file: another worker finishes the file once the lease has expired', async () => {
    const { server, token, id, leaseEnd } = await uploadAndKillWorkerMidFile();
    // A new worker cannot take the file while the dead one's lease lasts, then does.
    const second = await startWorker(server.env);
    workers.push(second);
    const ready = await waitForUpload(server, token, id, { timeoutMs: 40_000 });
    expect(ready).toMatchObject({
      status: 'ready', reason: null, scanned: true, detectedType: 'text/plain', sha256: standalone!.sha256, size: standalone!.size,
    });
    expect(Date.parse(ready.processedAt!)).toBeGreaterThanOrEqual(leaseEnd.getTime());
    expect(second.logs()).toContain(`"uploadId":"${id}"`);
    expect(second.logs()).not.toMatch(/processing failed/);
    await expectHistory(database.sql, id, 'ready', null);
    expect(await database.sql`SELECT 1 FROM processing_jobs WHERE upload_id = ${id}`).toHaveLength(0);
    await second.stop();
  });

  it('a file whose worker dies counts that attempt: with PROCESSING_MAX_ATTEMPTS=1 it fails instead of being retried for ever', async () => {
    const { server, token, id, leaseEnd } = await uploadAndKillWorkerMidFile({ PROCESSING_MAX_ATTEMPTS: '1' });
    const second = await startWorker({ ...server.env, PROCESSING_MAX_ATTEMPTS: '1' });
    workers.push(second);
    const failed = await waitForUpload(server, token, id, { timeoutMs: 40_000 });
    expect(failed).toMatchObject({ status: 'failed', scanned: null, sha256: null });
    expect(failed.reason).toMatch(/gave up after 1 attempt.*never finished/);
    expect(Date.parse(failed.processedAt!)).toBeGreaterThanOrEqual(leaseEnd.getTime());
    await expectHistory(database.sql, id, 'failed', failed.reason!);
    expect(await database.sql`SELECT 1 FROM processing_jobs WHERE upload_id = ${id}`).toHaveLength(0);
    await second.stop();
  });

  it('an upload received by a server that stops right away is processed after the restart (embedded database)', async () => {
    // The embedded database, worker off: the upload is received and its job recorded, nothing more.
    const first = await start({ env: processingEnv({ WORKER: 'off' }) });
    const token = await first.token('alice');
    const { id } = await uploadBuffer(first.tusEndpoint, token, csvFile(), { filename: 'left-behind.csv', filetype: 'text/csv' });
    expect(await fetchUpload(first, token, id)).toMatchObject({ status: 'received' });
    expect(await first.stop()).toBe(0);

    const again = await start({ dataDir: first.dataDir, env: processingEnv() });
    const upload = await waitForUpload(again, await again.token('alice'), id, { timeoutMs: 15_000 });
    expect(upload).toMatchObject({ status: 'ready', detectedType: 'text/csv', scanned: true });
  });

  it('a server with an embedded worker SIGKILLed right after the final PATCH: the job still runs after a restart', async () => {
    const env = processingEnv({ DATABASE_URL: database.url, PROCESSING_LEASE_SECONDS: '5' });
    const first = await start({ env });
    const token = await first.token('alice');
    const { id } = await uploadBuffer(first.tusEndpoint, token, csvFile(), { filename: 'crash.csv', filetype: 'text/csv' });
    await first.kill();
    const [row] = await database.sql`SELECT status FROM uploads WHERE id = ${id}`;
    // Whatever the crash interrupted — queued, claimed, mid-file or (rarely) done — it ends ready.
    expect(['received', 'processing', 'ready']).toContain(row!.status);

    const again = await start({ dataDir: first.dataDir, env });
    const upload = await waitForUpload(again, await again.token('alice'), id, { timeoutMs: 20_000 });
    expect(upload).toMatchObject({ status: 'ready', detectedType: 'text/csv', scanned: true });
    await expectHistory(database.sql, id, 'ready', null);
  });
});
