import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NOT_SCANNED } from '../server/src/processing/process-upload.js';
import { type FreshDatabase, freshDatabase } from './helpers/database.js';
import { csvFile, eicarFile } from './helpers/fixtures.js';
import { freePort, type HaulServer, processingEnv, REPO_ROOT, startHaul } from './helpers/haul-server.js';
import { uploadBuffer } from './helpers/tus.js';
import { expectHistory, waitForUpload } from './helpers/uploads-api.js';

const run = promisify(execFile);

/**
 * clamd outages. These tests stop and start clamd, so they use a clamd of their own
 * (scripts/local-clamd.sh with its own HAUL_LOCAL_DIR and port): the shared one on
 * TEST_CLAMD_PORT, which other test files rely on, is never touched.
 */
describe('when clamd is down', () => {
  let stateDir: string;
  let port: number;
  const clamd = async (command: 'start' | 'stop') => {
    await run('bash', [path.join(REPO_ROOT, 'scripts/local-clamd.sh'), command], {
      env: { ...process.env, HAUL_LOCAL_DIR: stateDir, CLAMD_PORT: String(port) },
    });
  };
  const databases: FreshDatabase[] = [];
  const servers: HaulServer[] = [];
  const serverWith = async (env: Record<string, string>) => {
    const database = await freshDatabase(inject('databaseUrl'));
    databases.push(database);
    const server = await startHaul({ env: processingEnv({ CLAMD_PORT: String(port), DATABASE_URL: database.url, ...env }) });
    servers.push(server);
    return { server, sql: database.sql, token: await server.token('alice') };
  };

  beforeAll(async () => {
    stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-clamd-'));
    port = await freePort();
    await clamd('start');
  });
  afterAll(async () => {
    // Whatever happened: no clamd of ours left running, servers stopped, databases dropped.
    await clamd('stop').catch(() => {});
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(databases.map((d) => d.drop()));
    await fs.rm(stateDir, { recursive: true, force: true });
  });

  it('an upload waits in `processing`, saying it will retry, and becomes ready once clamd is back', async () => {
    const { server, sql, token } = await serverWith({ PROCESSING_MAX_ATTEMPTS: '10' });
    await clamd('stop');
    const stoppedAt = Date.now();
    let id = '';
    try {
      ({ id } = await uploadBuffer(server.tusEndpoint, token, csvFile(), { filename: 'during-outage.csv', filetype: 'text/csv' }));
      const upload = await waitForUpload(server, token, id, { timeoutMs: 10_000, done: (u) => u.status !== 'received' && u.reason !== null });
      // Fail closed: never ready (nor failed) without a scan, and the reason says what happens next.
      expect(upload).toMatchObject({ status: 'processing', scanned: null, detectedType: null, processedAt: null });
      expect(upload.reason).toMatch(/^attempt \d+ of 10 failed: .+; retrying$/);
      const [job] = await sql`SELECT attempts, last_error, run_at > now() AS later FROM processing_jobs WHERE upload_id = ${id}`;
      expect(job).toMatchObject({ later: true });
      expect(job!.attempts).toBeGreaterThanOrEqual(1);
      expect(job!.last_error).toBeTruthy();
      // A short outage (~3 s), then clamd comes back.
      await new Promise((r) => setTimeout(r, Math.max(0, 3_000 - (Date.now() - stoppedAt))));
      expect((await waitForUpload(server, token, id, { timeoutMs: 1, done: () => true })).status).toBe('processing');
    } finally {
      await clamd('start');
    }
    const ready = await waitForUpload(server, token, id, { timeoutMs: 30_000 });
    expect(ready).toMatchObject({ status: 'ready', reason: null, scanned: true, detectedType: 'text/csv' });
    // Retries are one `processing` period in the history, not one per attempt.
    await expectHistory(sql, id, 'ready', null);
    expect(await sql`SELECT 1 FROM processing_jobs WHERE upload_id = ${id}`).toHaveLength(0);
  });

  it('with PROCESSING_MAX_ATTEMPTS=1 the upload fails, with the reason', async () => {
    const { server, sql, token } = await serverWith({ PROCESSING_MAX_ATTEMPTS: '1' });
    await clamd('stop');
    try {
      const { id } = await uploadBuffer(server.tusEndpoint, token, csvFile(), { filename: 'no-luck.csv', filetype: 'text/csv' });
      const upload = await waitForUpload(server, token, id, { timeoutMs: 15_000 });
      expect(upload).toMatchObject({ status: 'failed', scanned: null, sha256: null, thumbnails: [] });
      expect(upload.reason).toMatch(/clamd|ECONNREFUSED/);
      expect(upload.processedAt).not.toBeNull();
      await expectHistory(sql, id, 'failed', upload.reason!);
      expect(await sql`SELECT 1 FROM processing_jobs WHERE upload_id = ${id}`).toHaveLength(0);
    } finally {
      await clamd('start');
    }
  });
});

describe('SCAN_MODE=off', () => {
  let server: HaulServer;
  let token: string;
  let database: FreshDatabase;

  beforeAll(async () => {
    database = await freshDatabase(inject('databaseUrl'));
    // No clamd configured at all: off must not need one.
    server = await startHaul({ env: { WORKER: 'embedded', SCAN_MODE: 'off', DATABASE_URL: database.url } });
    token = await server.token('alice');
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  it('says so at start-up', () => {
    expect(server.logs()).toMatch(/SCAN_MODE=off: uploads are NOT scanned/);
  });

  it.each([
    { name: 'a CSV', data: csvFile(), filename: 'plain.csv', filetype: 'text/csv' },
    // Not scanned means not scanned: even the test signature goes through, marked as unscanned.
    { name: 'the EICAR test file', data: eicarFile(), filename: 'eicar.txt', filetype: 'text/plain' },
  ])('$name → ready with scanned=false and a reason saying it was not scanned', async ({ data, filename, filetype }) => {
    const { id } = await uploadBuffer(server.tusEndpoint, token, data, { filename, filetype });
    const upload = await waitForUpload(server, token, id);
    expect(upload).toMatchObject({ status: 'ready', scanned: false, reason: NOT_SCANNED });
    expect(upload.reason).toMatch(/not scanned/);
    expect(upload.sha256).toMatch(/^[0-9a-f]{64}$/);
    await expectHistory(database.sql, id, 'ready', NOT_SCANNED);
  });
});
