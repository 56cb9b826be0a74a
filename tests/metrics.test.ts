import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type FreshDatabase, freshDatabase } from './helpers/database.js';
import { eicarFile, noisePng } from './helpers/fixtures.js';
import { freePort, type HaulServer, processingEnv, startHaul, startWorker, type WorkerProcess } from './helpers/haul-server.js';
import { eventually, type HostApp, hostEnv, startHostApp } from './helpers/host-app.js';
import { scrape, value } from './helpers/prometheus.js';
import { localS3 } from './helpers/s3.js';
import { createUpload, terminate, uploadBuffer } from './helpers/tus.js';
import { bearer, uploadReady, waitForUpload } from './helpers/uploads-api.js';

/**
 * GET /metrics on real servers: the token is enforced, and the values move with what happens —
 * requests, bytes, uploads created/finished/terminated, errors, processing stages and outcomes,
 * clamd, S3 requests, webhooks — on the server and on a standalone worker's own listener.
 */

const TOKEN = 'metrics-test-token-0123456789';
const servers: Array<HaulServer | WorkerProcess> = [];
let database: FreshDatabase;
let s3Database: FreshDatabase | undefined;
let host: HostApp;

beforeAll(async () => {
  database = await freshDatabase(inject('databaseUrl'));
  host = await startHostApp();
  host.webhookStatus = 204;
});
afterAll(async () => {
  for (const server of servers) await server.kill();
  await database?.drop();
  await s3Database?.drop();
  await host?.close();
});

async function start(env: Record<string, string | undefined>) {
  const server = await startHaul({ env: { METRICS_TOKEN: TOKEN, ...env } });
  servers.push(server);
  return server;
}

describe('GET /metrics on a server (disk, embedded worker scanning with clamd, webhooks)', () => {
  let server: HaulServer;
  let alice: string;
  beforeAll(async () => {
    server = await start({ ...processingEnv(), DATABASE_URL: database.url, ...hostEnv(host, { hooks: false }) });
    alice = await server.token('alice');
  });

  it('answers only with Authorization: Bearer <METRICS_TOKEN>', async () => {
    const none = await fetch(`${server.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await none.json()) as object).toMatchObject({ code: 'AUTH_REQUIRED' });
    const wrong = await fetch(`${server.url}/metrics`, { headers: bearer(`${TOKEN}x`) });
    expect(wrong.status).toBe(401);
    expect((await wrong.json()) as object).toMatchObject({ code: 'AUTH_INVALID' });
    // A user's token is not the metrics token.
    expect((await fetch(`${server.url}/metrics`, { headers: bearer(alice) })).status).toBe(401);
    const ok = await fetch(`${server.url}/metrics`, { headers: bearer(TOKEN) });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await ok.text();
    expect(value(text, 'haul_errors_total', { code: 'AUTH_INVALID' })).toBeGreaterThanOrEqual(2);
    expect(value(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('moves with an upload: requests, bytes, created, finished, processing stages and outcome, webhooks', async () => {
    const before = await scrape(server.url, TOKEN);
    const png = await noisePng(300, 200);
    const ready = await uploadReady(server, alice, png, { filename: 'photo.png' });
    const after = await eventually('the ready webhook delivered', async () => {
      const text = await scrape(server.url, TOKEN);
      return (value(text, 'haul_webhook_deliveries_total', { type: 'upload.ready' }) ?? 0) >= 1 && text;
    });
    const moved = (name: string, labels: Record<string, string> = {}) => (value(after, name, labels) ?? 0) - (value(before, name, labels) ?? 0);

    expect(moved('haul_bytes_received_total')).toBe(png.length);
    expect(moved('haul_uploads_created_total')).toBe(1);
    expect(moved('haul_uploads_finished_total')).toBe(1);
    expect(moved('haul_requests_total', { method: 'POST', status: '201' })).toBe(1);
    expect(moved('haul_requests_total', { method: 'PATCH', status: '204' })).toBe(1);
    expect(moved('haul_processing_outcomes_total', { status: 'ready' })).toBe(1);
    for (const stage of ['hash', 'type', 'scan', 'previews']) {
      expect(moved('haul_processing_stage_duration_seconds_count', { stage }), stage).toBe(1);
      expect(moved('haul_processing_stage_duration_seconds_sum', { stage }), stage).toBeGreaterThan(0);
    }
    expect(moved('haul_webhook_deliveries_total')).toBeGreaterThanOrEqual(3); // created, received, ready
    expect(value(after, 'haul_webhook_backlog')).toBe(0);
    expect(value(after, 'haul_processing_queue_depth')).toBe(0);
    expect(value(after, 'haul_processing_oldest_job_age_seconds')).toBe(0);
    expect(value(after, 'haul_connections_open')).toBeGreaterThanOrEqual(1);
    expect(value(after, 'haul_clamd_up')).toBe(1);
    expect(ready.status).toBe('ready');
  });

  it('counts infected files, terminations and error codes', async () => {
    const before = await scrape(server.url, TOKEN);
    const infected = await uploadBuffer(server.tusEndpoint, alice, eicarFile(), { filename: 'eicar.txt' });
    expect((await waitForUpload(server, alice, infected.id)).status).toBe('infected');
    const abandoned = await createUpload(server.tusEndpoint, alice, { length: 1000 });
    expect((await terminate(abandoned.url, alice)).status).toBe(204);
    expect((await terminate(abandoned.url, alice)).status).toBe(410);
    const after = await scrape(server.url, TOKEN);
    const moved = (name: string, labels: Record<string, string> = {}) => (value(after, name, labels) ?? 0) - (value(before, name, labels) ?? 0);
    expect(moved('haul_processing_outcomes_total', { status: 'infected' })).toBe(1);
    expect(moved('haul_uploads_terminated_total')).toBe(1);
    expect(moved('haul_errors_total', { code: 'UPLOAD_GONE' })).toBe(1);
    expect(moved('haul_requests_total', { method: 'DELETE', status: '410' })).toBe(1);
  });

  it('/readyz checks clamd when scanning is required', async () => {
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ready', checks: { database: 'ok', storage: 'ok', clamd: 'ok' } });
  });
});

describe('clamd unreachable with SCAN_MODE=required', () => {
  it('/readyz answers 503 naming clamd, and haul_clamd_up is 0', async () => {
    const closed = await freePort(); // nothing listens there
    const server = await start({ ...processingEnv({ CLAMD_PORT: String(closed) }), DATABASE_URL: database.url });
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    const body = (await res.json()) as { checks: Record<string, unknown> };
    expect(body.checks.database).toBe('ok');
    expect(body.checks.clamd).toMatch(/ECONNREFUSED/);
    expect(value(await scrape(server.url, TOKEN), 'haul_clamd_up')).toBe(0);
  });
});

describe('S3 and a standalone worker (METRICS_PORT)', () => {
  it('times S3 requests by operation; the worker serves its processing metrics on its own port', async () => {
    const s3 = localS3();
    // Its own database: the servers above (disk storage, embedded workers) would otherwise claim this upload's job.
    s3Database = await freshDatabase(inject('databaseUrl'));
    const env = { ...processingEnv({ WORKER: 'off' }), DATABASE_URL: s3Database.url, ...s3.env() };
    const server = await start(env);
    const metricsPort = await freePort();
    const worker = await startWorker({ ...server.env, ...env, METRICS_PORT: String(metricsPort) });
    servers.push(worker);
    const workerUrl = `http://127.0.0.1:${metricsPort}`;
    expect((await fetch(`${workerUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${workerUrl}/other`, { headers: bearer(TOKEN) })).status).toBe(404);

    const alice = await server.token('alice');
    await uploadReady(server, alice, await noisePng(200, 100), { filename: 'photo.png' });

    const served = await scrape(server.url, TOKEN);
    expect(value(served, 'haul_s3_request_duration_seconds_count', { operation: 'PutObject', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(value(served, 'haul_uploads_finished_total')).toBe(1);
    expect(value(served, 'haul_processing_outcomes_total')).toBeUndefined(); // no worker in the server
    const worked = await scrape(workerUrl, TOKEN);
    expect(value(worked, 'haul_processing_outcomes_total', { status: 'ready' })).toBe(1);
    expect(value(worked, 'haul_processing_stage_duration_seconds_count', { stage: 'previews' })).toBe(1);
    expect(value(worked, 'haul_s3_request_duration_seconds_count', { operation: 'GetObject', outcome: 'ok' })).toBeGreaterThanOrEqual(1);
    expect(value(worked, 'haul_clamd_up')).toBe(1);
  });
});
