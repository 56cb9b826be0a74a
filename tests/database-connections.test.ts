import postgres from 'postgres';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { APPLICATION_NAMES, CONNECTIONS_BESIDE_QUERIES } from '../server/src/db/pool-settings.js';
import { type FreshDatabase, freshDatabase } from './helpers/database.js';
import { randomFile, sha256File, storedPath } from './helpers/files.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { createUpload, offsetOf, patchFile, request } from './helpers/tus.js';
import { partialPatch } from './helpers/tus-interrupted.js';
import { sleep, waitFor } from './helpers/wait.js';

/**
 * The PostgreSQL connection budget of one instance (README "Several instances"): pool sizes
 * honoured under concurrent uploads, idle connections given back, and a database that refuses
 * connections answered with a retryable 503, never a 500. Counted in pg_stat_activity by each
 * pool's application_name (server/src/db/pool-settings.ts).
 */

const KiB = 1024;
const MiB = 2 ** 20;
const LISTENING = { [APPLICATION_NAMES.lockRequests]: 1, [APPLICATION_NAMES.events]: 1 };

/** Connections to `database` by application_name (Haul's pools only). */
async function connectionsTo(admin: postgres.Sql, database: string): Promise<Record<string, number>> {
  const rows = await admin<{ application_name: string; n: number }[]>`
    SELECT application_name, count(*)::int AS n FROM pg_stat_activity
    WHERE datname = ${database} AND application_name LIKE 'haul-%' GROUP BY application_name`;
  return Object.fromEntries(rows.map((r) => [r.application_name, r.n]));
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

describe('connection budget of one instance', () => {
  let database: FreshDatabase;
  let haul: HaulServer;
  let token: string;
  const POOL_MAX = 3;
  const name = () => new URL(database.url).pathname.slice(1);

  beforeAll(async () => {
    database = await freshDatabase(inject('databaseUrl'));
    haul = await startHaul({ port: 3450, env: { DATABASE_URL: database.url, DATABASE_POOL_MAX: String(POOL_MAX), DATABASE_IDLE_TIMEOUT_SECONDS: '2' } });
    token = await haul.token('alice');
  });
  afterAll(async () => {
    await haul?.stop();
    await database?.drop();
  });

  it('holds every upload lock on one connection and never more than DATABASE_POOL_MAX for queries, under 24 concurrent uploads', async () => {
    const files = await Promise.all(Array.from({ length: 24 }, () => randomFile(MiB)));
    const uploads = await Promise.all(files.map((file) => createUpload(haul.tusEndpoint, token, { length: file.size })));
    const peak: Record<string, number> = {};
    let peakTotal = 0;
    let peakLocks = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const counts = await connectionsTo(database.sql, name());
        for (const [app, n] of Object.entries(counts)) peak[app] = Math.max(peak[app] ?? 0, n);
        peakTotal = Math.max(peakTotal, total(counts));
        const [locks] = await database.sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE l.locktype = 'advisory' AND l.granted AND a.datname = ${name()} AND a.application_name = ${APPLICATION_NAMES.locks}`;
        peakLocks = Math.max(peakLocks, locks!.n);
        await sleep(25);
      }
    })();
    // Every PATCH sends its 1 MiB in 256 KiB pieces 250 ms apart: each holds its upload's lock for about a second.
    const patches = await Promise.all(uploads.map((upload, i) =>
      partialPatch(upload.url, token, files[i]!.path, { offset: 0, send: MiB, declared: MiB, pauseMs: 250 })));
    const outcomes = await Promise.all(patches.map((p) => p.done));
    sampling = false;
    await sampler;

    expect(outcomes.map((o) => o.status)).toEqual(files.map(() => 204));
    for (const [i, upload] of uploads.entries()) expect(await sha256File(storedPath(haul.dataDir, 'alice', upload.id))).toBe(files[i]!.sha256);
    // The uploads overlapped: many locks at once, all on the one lock session.
    expect(peakLocks).toBeGreaterThanOrEqual(12);
    expect(peak[APPLICATION_NAMES.locks]).toBe(1);
    expect(peak[APPLICATION_NAMES.queries]).toBeLessThanOrEqual(POOL_MAX);
    expect(peak[APPLICATION_NAMES.lockRequests]).toBe(1);
    expect(peak[APPLICATION_NAMES.events] ?? 0).toBeLessThanOrEqual(2);
    expect(peakTotal).toBeLessThanOrEqual(POOL_MAX + CONNECTIONS_BESIDE_QUERIES);
  });

  it('gives idle connections back after DATABASE_IDLE_TIMEOUT_SECONDS (2 s here), keeping only its two LISTEN connections', async () => {
    const file = await randomFile(256 * KiB);
    const { url } = await createUpload(haul.tusEndpoint, token, { length: file.size });
    expect((await patchFile(url, token, file.path, { start: 0, end: file.size })).status).toBe(204);
    expect((await request({ method: 'GET', url: `${haul.url}/readyz` })).status).toBe(200);
    const busy = await connectionsTo(database.sql, name());
    expect(busy[APPLICATION_NAMES.queries]).toBeGreaterThanOrEqual(1);
    expect(busy[APPLICATION_NAMES.readiness]).toBe(1);
    expect(busy[APPLICATION_NAMES.locks]).toBe(1);
    const idle = await waitFor(async () => {
      const counts = await connectionsTo(database.sql, name());
      return total(counts) === 2 && counts;
    }, { what: 'the idle connections to close', timeoutMs: 10_000, intervalMs: 100 });
    expect(idle).toEqual(LISTENING);
  });
});

describe('a database that refuses connections', () => {
  // max_connections is shared by everyone using this PostgreSQL server: the test exhausts a
  // role's CONNECTION LIMIT instead, which PostgreSQL refuses with the same SQLSTATE (53300
  // too_many_connections) as "sorry, too many clients already". Superusers are exempt, so the
  // server runs as a role of its own, owner of a database of its own.
  const suffix = randomBytes(3).toString('hex');
  const role = `haul_pgpool_${suffix}`;
  const dbName = `${new URL(inject('databaseUrl')).pathname.slice(1)}_refusing_${suffix}`;
  const adminUrl = inject('databaseUrl');
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const roleUrl = (() => {
    const url = new URL(adminUrl);
    url.username = role;
    url.password = role;
    url.pathname = `/${dbName}`;
    return url.toString();
  })();
  const hogs: postgres.Sql[] = [];
  let haul: HaulServer;
  let token: string;

  beforeAll(async () => {
    await admin.unsafe(`CREATE ROLE ${role} LOGIN PASSWORD '${role}' CONNECTION LIMIT 8`);
    await admin.unsafe(`CREATE DATABASE ${dbName} OWNER ${role}`);
    haul = await startHaul({ port: 3451, env: { DATABASE_URL: roleUrl, DATABASE_POOL_MAX: '2', DATABASE_IDLE_TIMEOUT_SECONDS: '1' } });
    token = await haul.token('bob');
  });
  afterAll(async () => {
    await Promise.all(hogs.map((h) => h.end({ timeout: 1 })));
    await haul?.stop();
    await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.unsafe(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  it('answers 503 DATABASE_UNAVAILABLE with Retry-After while PostgreSQL says "too many connections", and the upload resumes afterwards with every byte', async () => {
    const file = await randomFile(3 * MiB);
    const { url, id } = await createUpload(haul.tusEndpoint, token, { length: file.size });
    expect((await patchFile(url, token, file.path, { start: 0, end: MiB })).status).toBe(204);
    // Haul gives its idle connections back, then everything the role may still open is taken.
    await waitFor(async () => total(await connectionsTo(admin, dbName)) === 2, { what: 'Haul to keep only its LISTEN connections', timeoutMs: 10_000, intervalMs: 100 });
    let refusal: unknown;
    while (hogs.length < 10) {
      const hog = postgres(roleUrl, { max: 1, onnotice: () => {}, connection: { application_name: 'test-hog' } });
      try {
        await hog`SELECT 1`;
        hogs.push(hog);
      } catch (error) {
        refusal = error;
        await hog.end({ timeout: 1 });
        break;
      }
    }
    expect(refusal).toMatchObject({ code: '53300' });

    // A small body: all of it is sent before the early answer (no EPIPE to hide the status).
    const refusedPatch = await patchFile(url, token, file.path, { start: MiB, end: MiB + 64 * KiB });
    const refusedHead = await request({ method: 'HEAD', url, token, headers: { 'Tus-Resumable': '1.0.0' } });
    const refusedList = await request({ method: 'GET', url: `${haul.url}/api/uploads`, token });
    for (const response of [refusedPatch, refusedHead, refusedList]) {
      expect(response.status).toBe(503);
      expect(response.header('retry-after')).toBe('2');
    }
    expect(refusedPatch.json()).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    expect(refusedList.json()).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    expect(refusedPatch.header('tus-resumable')).toBe('1.0.0');

    await Promise.all(hogs.splice(0).map((h) => h.end({ timeout: 1 })));
    // What the client does on 503: HEAD, then PATCH from the offset the server has.
    const offset = await offsetOf(url, token);
    expect(offset).toBe(MiB);
    expect((await patchFile(url, token, file.path, { start: offset, end: file.size })).status).toBe(204);
    expect(await sha256File(storedPath(haul.dataDir, 'bob', id))).toBe(file.sha256);
  });
});
