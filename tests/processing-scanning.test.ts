import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { NOT_SCANNED } from '../server/src/processing/process-upload.js';
import { type FreshDatabase, freshDatabase } from './helpers/database.js';
import { asciiText, csvFile, eicarFile } from './helpers/fixtures.js';
import { sha256 } from './helpers/files.js';
import { startFlakyProxy } from './helpers/flaky-proxy.js';
import { type HaulServer, type ProcessingHaul, startHaul, startProcessingHaul } from './helpers/haul-server.js';
import { ownClamd, type OwnClamd } from './helpers/own-clamd.js';
import { uploadBuffer } from './helpers/tus.js';
import { expectHistory, waitForUpload } from './helpers/uploads-api.js';
import { waitFor } from './helpers/wait.js';

/**
 * clamd outages. These tests stop, kill and start clamd, so they use a clamd of their own
 * (own-clamd.ts: scripts/local-clamd.sh with its own HAUL_LOCAL_DIR and port): the shared one on
 * TEST_CLAMD_PORT, which other test files rely on, is never touched.
 */
describe('when clamd is down', () => {
  let own: OwnClamd;
  let port: number;
  const clamd = (command: 'start' | 'stop') => own[command]();
  const hauls: ProcessingHaul[] = [];
  const serverWith = async (env: Record<string, string>) => {
    const haul = await startProcessingHaul({ CLAMD_PORT: String(port), ...env });
    hauls.push(haul);
    return { server: haul.server, sql: haul.database.sql, token: await haul.server.token('alice') };
  };

  const killClamd = () => own.kill();

  beforeAll(async () => {
    own = await ownClamd();
    port = own.port;
  });
  afterAll(async () => {
    // Whatever happened: servers stopped, databases dropped, no clamd of ours left running.
    await Promise.all(hauls.map((h) => h.close()));
    await own?.dispose();
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
      // An outage is no attempt (issue 13): the claim's attempt is given back.
      expect(upload.reason).toMatch(/^waiting for clamd \(clamd is unreachable at .+ECONNREFUSED.*\); no attempt used, retrying$/);
      const [job] = await sql`SELECT attempts, last_error, run_at > now() AS later FROM processing_jobs WHERE upload_id = ${id}`;
      expect(job).toMatchObject({ later: true, attempts: 0 });
      expect(job!.last_error).toMatch(/ECONNREFUSED/);
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

  it('clamd stopped for 2 minutes while files finish, then started: all ready or infected, none failed (PROCESSING_MAX_ATTEMPTS=1)', async () => {
    // The report: a 90 s outage left 4 of 4 uploads `failed`. With one attempt allowed,
    // any attempt spent on the outage would fail the file.
    const { server, sql, token } = await serverWith({ PROCESSING_MAX_ATTEMPTS: '1' });
    await clamd('stop');
    const files = [
      { data: csvFile(), filename: 'a.csv', filetype: 'text/csv', expected: 'ready' },
      { data: csvFile(), filename: 'b.csv', filetype: 'text/csv', expected: 'ready' },
      { data: csvFile(), filename: 'c.csv', filetype: 'text/csv', expected: 'ready' },
      { data: eicarFile(), filename: 'eicar.txt', filetype: 'text/plain', expected: 'infected' },
    ];
    const ids: string[] = [];
    try {
      for (const f of files) ids.push((await uploadBuffer(server.tusEndpoint, token, f.data, { filename: f.filename, filetype: f.filetype })).id);
      await new Promise((r) => setTimeout(r, 120_000));
      for (const id of ids) {
        expect((await waitForUpload(server, token, id, { timeoutMs: 1, done: () => true })).status).toBe('processing');
      }
      const jobs = await sql`SELECT attempts FROM processing_jobs WHERE upload_id = ANY(${ids})`;
      expect(jobs.map((j) => j.attempts)).toEqual([0, 0, 0, 0]);
    } finally {
      await clamd('start');
    }
    // Waits are capped (outage.ts: 15 s), so every file is looked at again soon after clamd is back.
    for (const [i, id] of ids.entries()) {
      const upload = await waitForUpload(server, token, id, { timeoutMs: 40_000 });
      expect(upload.status).toBe(files[i]!.expected);
    }
    // The waits are visible in the log, with how long the service has been away.
    expect(server.logs()).toMatch(/"msg":"a service processing needs is unavailable; the file waits without spending an attempt".*"service":"clamd","unavailableForMs":\d{5,}/);
  }, 200_000);

  it('clamd killed mid-scan and restarted: the file is scanned again and becomes ready', async () => {
    // A throttled link to clamd, so the scan is certainly under way when clamd is killed.
    const proxy = await startFlakyProxy({ target: `http://127.0.0.1:${port}`, bytesPerSecond: 2 * 2 ** 20 });
    try {
      const { server, sql, token } = await serverWith({ CLAMD_PORT: String(proxy.port), PROCESSING_MAX_ATTEMPTS: '3' });
      const text = asciiText(8 * 2 ** 20);
      const sentBefore = proxy.stats.bytesUp;
      const { id } = await uploadBuffer(server.tusEndpoint, token, text, { filename: 'long.txt', filetype: 'text/plain' });
      await waitFor(() => proxy.stats.bytesUp - sentBefore > 2 ** 20 || undefined, { timeoutMs: 20_000, what: 'the scan to be under way' });
      await killClamd();
      proxy.set({ bytesPerSecond: null });
      await new Promise((r) => setTimeout(r, 2_000));
      await clamd('start');
      const upload = await waitForUpload(server, token, id, { timeoutMs: 40_000 });
      expect(upload).toMatchObject({ status: 'ready', scanned: true, detectedType: 'text/plain' });
      expect(upload.sha256).toBe(sha256(text));
      await expectHistory(sql, id, 'ready', null);
    } finally {
      await clamd('start');
      await proxy.close();
    }
  }, 90_000);
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
