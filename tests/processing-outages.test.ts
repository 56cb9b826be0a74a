import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type FreshDatabase, freshDatabase } from './helpers/database.js';
import { asciiText, eicarFile } from './helpers/fixtures.js';
import { type FlakyProxy, rawResponse, startFlakyProxy } from './helpers/flaky-proxy.js';
import { type HaulServer, processingEnv, startHaul } from './helpers/haul-server.js';
import { scrape, value } from './helpers/prometheus.js';
import { localS3 } from './helpers/s3.js';
import { uploadBuffer } from './helpers/tus.js';
import { expectHistory, waitForUpload } from './helpers/uploads-api.js';
import { sleep, waitFor } from './helpers/wait.js';

/**
 * Storage and database outages while files are processed (issue 13, item 4: outages cost time,
 * never files). Haul reaches S3 (the shared Swift), PostgreSQL and clamd through proxies of this
 * file on 127.0.0.1 (flaky-proxy.ts), which refuse connections, cut the open ones, or answer 503
 * for S3, for half a minute while files are in the middle of processing; the shared services
 * themselves are never touched. PROCESSING_MAX_ATTEMPTS=1: a single attempt spent on the outage
 * would fail the file. The link to clamd is throttled so that each file takes two seconds:
 * the outage finds files mid-read, mid-scan, about to be recorded and waiting to be claimed.
 */

const PORTS = { s3: 3501, database: 3502, clamd: 3503, haul: 3510 };
const OUTAGE_MS = 30_000;
const MiB = 2 ** 20;
const METRICS_TOKEN = 'processing-outages-metrics-token';
const s3 = localS3();
const prefix = `t-proc-outage-${Date.now().toString(36)}/`;

describe('storage and database outages during processing', () => {
  let database: FreshDatabase;
  let sql: postgres.Sql;
  const proxies: Partial<Record<'s3' | 'database' | 'clamd', FlakyProxy>> = {};
  let server: HaulServer;
  let token: string;
  /** S3 answers every new connection with 503 while this is set. */
  let s3Answers503 = false;

  beforeAll(async () => {
    database = await freshDatabase(inject('databaseUrl'));
    sql = database.sql;
    const upstream = s3.env(prefix);
    const postgresUrl = new URL(database.url);
    proxies.database = await startFlakyProxy({ target: `http://${postgresUrl.host}`, port: PORTS.database });
    proxies.s3 = await startFlakyProxy({
      target: upstream.S3_ENDPOINT,
      port: PORTS.s3,
      inject: () => (s3Answers503 ? rawResponse(503, 'Service Unavailable', { 'Content-Type': 'application/xml' }, '<Error><Code>ServiceUnavailable</Code></Error>') : undefined),
    });
    proxies.clamd = await startFlakyProxy({ target: `http://127.0.0.1:${process.env.TEST_CLAMD_PORT ?? '3310'}`, port: PORTS.clamd, bytesPerSecond: MiB / 2 });
    postgresUrl.port = String(PORTS.database);
    server = await startHaul({
      port: PORTS.haul,
      env: processingEnv({
        ...upstream,
        S3_ENDPOINT: proxies.s3.url,
        DATABASE_URL: postgresUrl.toString(),
        CLAMD_PORT: String(PORTS.clamd),
        PROCESSING_MAX_ATTEMPTS: '1',
        // Shorter than the outage: leases of the files in hand run out while the database is away.
        PROCESSING_LEASE_SECONDS: '10',
        // Storage that sends nothing for half of this (10 s) is an outage (storage-stalls.ts).
        CLAMD_TIMEOUT_MS: '20000',
        METRICS_TOKEN,
      }),
    });
    token = await server.token('outage');
  });
  afterAll(async () => {
    await server?.stop();
    await Promise.all(Object.values(proxies).map((proxy) => proxy.close()));
    await database?.drop();
    const keys = await s3.listKeys(prefix).catch(() => []);
    if (keys.length > 0) await s3.client.deleteObjects({ Bucket: s3.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } });
  });

  /** Four text files of 1 MiB (2 s each through the throttled scanner) and the EICAR test file. */
  async function uploadFiles(tag: string) {
    const files = [
      ...[1, 2, 3, 4].map((n) => ({ data: asciiText(MiB), filename: `${tag}-${n}.txt`, expected: 'ready' })),
      { data: eicarFile(), filename: `${tag}-eicar.txt`, expected: 'infected' },
    ];
    const scannedBefore = proxies.clamd!.stats.bytesUp;
    // All at once, so that they reach processing together: some in the worker's slots, some queued.
    const ids = await Promise.all(files.map(async (f) => (await uploadBuffer(server.tusEndpoint, token, f.data, { filename: f.filename, filetype: 'text/plain' })).id));
    // The outage must find files in the middle of processing: wait until a scan is under way.
    await waitFor(() => proxies.clamd!.stats.bytesUp - scannedBefore > MiB / 4 || undefined, { timeoutMs: 20_000, what: 'a scan to be under way' });
    return files.map((f, i) => ({ ...f, id: ids[i]! }));
  }

  /** Straight to PostgreSQL, not through the proxy: what the outage has done to the files so far. */
  async function duringOutage(ids: string[]) {
    const uploads = await sql`SELECT status, status_reason FROM uploads WHERE id = ANY(${ids})`;
    expect(uploads.filter((u) => u.status === 'failed')).toEqual([]);
    // Only a job in a worker's hand carries the attempt its claim counted; a waiting one has none.
    const jobs = await sql`SELECT attempts, locked_by FROM processing_jobs WHERE upload_id = ANY(${ids})`;
    for (const job of jobs) expect(job.attempts).toBe(job.locked_by === null ? 0 : 1);
    return jobs.length;
  }

  /** Every file reaches its true verdict, in one `processing` period, with no job left. */
  async function expectAllDone(files: Array<{ id: string; expected: string }>, recoveredAt: number) {
    for (const f of files) {
      const upload = await waitForUpload(server, token, f.id, { timeoutMs: 45_000 });
      expect(upload.status, `${upload.status}: ${upload.reason}`).toBe(f.expected);
      await expectHistory(sql, f.id, f.expected);
    }
    const finishedAfterMs = Date.now() - recoveredAt;
    expect(await sql`SELECT upload_id FROM processing_jobs WHERE upload_id = ANY(${files.map((f) => f.id)})`).toHaveLength(0);
    return finishedAfterMs;
  }

  it('S3 refusing connections, then answering 503, for 30 s: every file ends ready or infected, no attempt spent', async () => {
    const files = await uploadFiles('s3');
    const ids = files.map((f) => f.id);
    const wentAt = Date.now();
    await proxies.s3!.refuse(); // reads in progress are cut; new connections are refused
    await sleep(OUTAGE_MS / 2);
    s3Answers503 = true; // the store is there again, but answers 503 to everything
    await proxies.s3!.accept();
    await sleep(wentAt + OUTAGE_MS - Date.now());
    const waiting = await duringOutage(ids);
    expect(waiting).toBeGreaterThan(0);
    s3Answers503 = false;
    proxies.s3!.cutAll(); // kept-alive connections that were answered 503 start again
    const recoveredAt = Date.now();
    const finishedAfterMs = await expectAllDone(files, recoveredAt);
    console.info(`S3 outage of ${recoveredAt - wentAt} ms: ${waiting} of ${files.length} files waiting; all done ${finishedAfterMs} ms after recovery`);
    expect(server.logs()).toMatch(/"msg":"a service processing needs is unavailable; the file waits without spending an attempt".*"service":"storage","unavailableForMs":\d{5,}/);
    const metrics = await scrape(server.url, METRICS_TOKEN);
    expect(value(metrics, 'haul_processing_service_waits_total', { service: 'storage' })).toBeGreaterThan(0);
    expect(value(metrics, 'haul_processing_outcomes_total', { status: 'failed' }) ?? 0).toBe(0);
  }, 90_000);

  it('S3 hung for 30 s (connections open, nothing moves): the reads are given up as an outage, every file ends ready or infected', async () => {
    const files = await uploadFiles('hung');
    const ids = files.map((f) => f.id);
    const wentAt = Date.now();
    proxies.s3!.freeze(); // reads stop mid-file, and new requests get no answer
    await sleep(OUTAGE_MS);
    const waiting = await duringOutage(ids);
    expect(waiting).toBeGreaterThan(0);
    proxies.s3!.thaw();
    const recoveredAt = Date.now();
    // Never `rejected` because clamd, fed nothing meanwhile, timed out: expectAllDone checks the verdicts.
    const finishedAfterMs = await expectAllDone(files, recoveredAt);
    console.info(`S3 hung for ${recoveredAt - wentAt} ms: ${waiting} of ${files.length} files waiting; all done ${finishedAfterMs} ms after recovery`);
    expect(server.logs()).toMatch(/"service":"storage","unavailableForMs":\d+,"retryInMs":\d+,"reason":"storage sent nothing for 10000 ms \((in the middle of the file|no answer to the read)\)"/);
  }, 90_000);

  it('PostgreSQL refusing connections for 30 s (the open ones cut): every file ends ready or infected, no attempt spent', async () => {
    const files = await uploadFiles('db');
    const ids = files.map((f) => f.id);
    const wentAt = Date.now();
    await proxies.database!.refuse(); // pooled connections are cut mid-whatever: claim, heartbeat, record
    await sleep(OUTAGE_MS);
    const waiting = await duringOutage(ids);
    expect(waiting).toBeGreaterThan(0);
    await proxies.database!.accept();
    const recoveredAt = Date.now();
    const finishedAfterMs = await expectAllDone(files, recoveredAt);
    console.info(`database outage of ${recoveredAt - wentAt} ms: ${waiting} of ${files.length} files waiting; all done ${finishedAfterMs} ms after recovery`);
    // The files in hand when it went waited with their outcome (or their wait) until it was back.
    expect(server.logs()).toMatch(/"msg":"the database is unreachable: what became of the job is recorded once it is back".*"unavailableForMs":\d{5,}/);
    // An idle worker whose claims fail backs off (1, 2, 4 … 15 s) instead of polling every 500 ms.
    const logged = server.logs().length;
    await proxies.database!.refuse();
    await sleep(4_000);
    await proxies.database!.accept();
    const claims = server.logs().slice(logged).match(/"msg":"the database is unreachable: no processing job can be claimed; trying again".*/g) ?? [];
    expect(claims.length).toBeGreaterThan(0);
    expect(claims.length).toBeLessThanOrEqual(3 * 3); // three loops, at most three tries each in 4 s
    // Each loop logs how long *it* has found the database away; a loop that was busy until just before the end
    // logs a short time of its own, so the longest one says whether the back-off held (≥ 1 s of failed claims).
    const longest = Math.max(...claims.map((line) => Number(/"unavailableForMs":(\d+)/.exec(line)?.[1] ?? 0)));
    expect(longest).toBeGreaterThanOrEqual(1_000);
    const metrics = await scrape(server.url, METRICS_TOKEN);
    expect(value(metrics, 'haul_processing_outcomes_total', { status: 'failed' }) ?? 0).toBe(0);
  }, 90_000);
});
