import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { userStorageKey } from '../server/src/auth/user.js';
import { freshDatabase, type FreshDatabase } from './helpers/database.js';
import { eicarFile, noisePng } from './helpers/fixtures.js';
import { startHaul } from './helpers/haul-server.js';
import { type LibraryServer, startLibraryServer, stopAll } from './helpers/library-server.js';
import { localS3 } from './helpers/s3.js';
import { createPartial, createUpload, patch, uploadBuffer } from './helpers/tus.js';
import { bearer, waitForUpload } from './helpers/uploads-api.js';
import { waitFor } from './helpers/wait.js';

/**
 * Erasure (DELETE /api/users/me, /api/users/<id> by a service): afterwards nothing of the user
 * remains — no object or file in storage (files, previews, quarantine, unfinished multipart data,
 * resume metadata), no row in any table that names them or their uploads but the record of the
 * erasure itself — while another user's files stay. An erasure killed half-way is finished after
 * a restart by the expiry sweep.
 */

const SERVICE_TOKEN = 'erasure-test-service-token-0123456789abcdef';
const s3 = localS3();
const clamd = { CLAMD_HOST: process.env.TEST_CLAMD_HOST ?? '', CLAMD_PORT: process.env.TEST_CLAMD_PORT ?? '3310' };

afterAll(stopAll);

/** Tables and rows whose text mentions any of `needles` (user ids, upload ids), but the erasure record. */
async function rowsMentioning(server: { db: FreshDatabase }, needles: readonly string[]): Promise<string[]> {
  const tables = await server.db.sql`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT IN ('user_erasures', 'haul_migrations')`;
  const found: string[] = [];
  for (const { tablename } of tables) {
    const rows = await server.db.sql.unsafe(`SELECT t::text AS row FROM ${tablename as string} t`);
    for (const { row } of rows) if (needles.some((n) => (row as string).includes(n))) found.push(`${tablename as string}: ${row as string}`);
  }
  return found;
}

async function diskNames(server: LibraryServer, user: string): Promise<string[]> {
  const key = userStorageKey(user);
  const lists = await Promise.all(['files', 'quarantine'].map((dir) => fs.readdir(path.join(server.dataDir, dir, key), { recursive: true }).catch(() => [] as string[])));
  return lists.flat().map(String);
}

const backends = [
  { name: 'disk', env: (): Record<string, string> => ({}), stored: (server: LibraryServer, user: string) => diskNames(server, user) },
  {
    name: 'S3 (Swift)',
    env: (): Record<string, string> => s3.env(s3Prefix),
    async stored(_server: LibraryServer, user: string) {
      const key = userStorageKey(user);
      return [
        ...(await s3.listKeys(`${s3Prefix}${key}/`)), ...(await s3.listKeys(`${s3Prefix}quarantine/${key}/`)),
        ...(await s3.listMultipartKeys(`${s3Prefix}${key}/`)),
      ];
    },
  },
];
const s3Prefix = `t-erasure-${Date.now().toString(36)}/`;

describe.each(backends)('erasure on $name', (backend) => {
  it('leaves nothing of the user in storage or database, and everything of others', async () => {
    const server = await startLibraryServer({
      ...backend.env(), WORKER: 'embedded', SCAN_MODE: 'required', ...clamd, SERVICE_TOKENS: `backend:${SERVICE_TOKEN}`, QUOTA_BYTES: '100MiB',
    });
    const user = 'erase-me.7f3a';
    const token = await server.token(user);
    const ids: string[] = [];
    // A ready image with previews, an infected file in quarantine, an upload refused from its first bytes.
    const png = await uploadBuffer(server.endpoint, token, await noisePng(300, 200), { filename: 'me.png' });
    const infected = await uploadBuffer(server.endpoint, token, eicarFile(), { filename: 'eicar.txt' });
    ids.push(png.id, infected.id);
    expect((await waitForUpload(server, token, png.id)).thumbnails.length).toBeGreaterThan(0);
    expect((await waitForUpload(server, token, infected.id)).status).toBe('infected');
    // Unfinished: 9 MiB of 20 (on S3 one complete multipart part and a `.part`), a deferred one, a partial.
    const unfinished = await createUpload(server.endpoint, token, { length: 20 * 2 ** 20, metadata: { filename: 'big.txt' } });
    expect((await patch(unfinished.url, token, 0, Buffer.alloc(9 * 2 ** 20, 'a'))).status).toBe(204);
    const deferred = await createUpload(server.endpoint, token, { length: 'deferred', metadata: { filename: 'later.txt' } });
    expect((await patch(deferred.url, token, 0, Buffer.from('some text'))).status).toBe(204);
    const partial = await createPartial(server.endpoint, token, 5);
    ids.push(unfinished.id, deferred.id, partial.id);
    // Audit rows: a download and a shared link's creation.
    expect((await fetch(`${server.url}/api/uploads/${png.id}/content`, { headers: bearer(token) })).status).toBeLessThan(400);
    // Someone else's file stays.
    const otherToken = await server.token('keeps-hers');
    const other = await uploadBuffer(server.endpoint, otherToken, Buffer.from('mine\n'), { filename: 'mine.txt' });
    expect((await waitForUpload(server, otherToken, other.id)).status).toBe('ready');

    expect((await backend.stored(server, user)).length).toBeGreaterThan(4);
    expect((await rowsMentioning(server, [user, ...ids])).length).toBeGreaterThan(0);

    // Only a service erases someone else.
    const notAllowed = await fetch(`${server.url}/api/users/${user}`, { method: 'DELETE', headers: bearer(otherToken) });
    expect(notAllowed.status).toBe(403);
    const erased = await fetch(`${server.url}/api/users/me`, { method: 'DELETE', headers: bearer(token) });
    expect(erased.status).toBe(204);

    expect(await backend.stored(server, user)).toEqual([]);
    expect(await rowsMentioning(server, [user, ...ids])).toEqual([]);
    expect(await server.db.sql`SELECT requested_by, finished_at IS NOT NULL AS done FROM user_erasures`).toEqual([{ requested_by: user, done: true }]);
    expect((await fetch(`${server.url}/api/uploads/${png.id}`, { headers: bearer(token) })).status).toBe(404);
    expect(await server.usage(token)).toMatchObject({ used: 0, files: 0 });
    // The other user's file is untouched.
    expect(await (await fetch(`${server.url}/api/uploads/${other.id}/content`, { headers: bearer(otherToken) })).text()).toBe('mine\n');

    // A service erases a user by id (and calling again is harmless).
    const service = await fetch(`${server.url}/api/users/keeps-hers`, { method: 'DELETE', headers: bearer(SERVICE_TOKEN) });
    expect(service.status).toBe(204);
    expect(await backend.stored(server, 'keeps-hers')).toEqual([]);
    expect((await fetch(`${server.url}/api/users/keeps-hers`, { method: 'DELETE', headers: bearer(SERVICE_TOKEN) })).status).toBe(204);
    // The service's own audit rows of those requests do not name whom they erased.
    expect(await rowsMentioning(server, ['keeps-hers', other.id])).toEqual([]);
  });
});

describe('an interrupted erasure', () => {
  it('is finished after a restart', async () => {
    const db = await freshDatabase(inject('databaseUrl'));
    const env = { DATABASE_URL: db.url, EXPIRY_SWEEP_INTERVAL_SECONDS: '1', JWT_SECRET: 'erasure-interrupted-secret-0123456789abcdef' };
    try {
      const first = await startHaul({ env });
      const user = 'interrupted.erasure';
      const token = await first.token(user);
      const total = 300;
      for (let i = 0; i < total; i += 20) {
        await Promise.all(Array.from({ length: 20 }, (_, j) => createUpload(first.tusEndpoint, token, { length: 10, metadata: { filename: `f${i + j}.txt` }, body: Buffer.from('0123456789') })));
      }
      const left = async () => (await db.sql`SELECT count(*)::int AS n FROM uploads WHERE owner_id = ${user}`)[0]!.n as number;
      expect(await left()).toBe(total);
      const request = fetch(`${first.url}/api/users/me`, { method: 'DELETE', headers: bearer(token) }).catch(() => undefined);
      await waitFor(async () => (await left()) < total - 10, { what: 'the erasure under way', intervalMs: 5 });
      await first.kill();
      await request;
      const remaining = await left();
      expect(remaining, 'killed half-way').toBeGreaterThan(0);
      expect(await db.sql`SELECT finished_at FROM user_erasures`).toEqual([{ finished_at: null }]);

      const second = await startHaul({ env, dataDir: first.dataDir });
      try {
        await waitFor(async () => (await db.sql`SELECT finished_at FROM user_erasures`)[0]!.finished_at !== null, { what: 'the sweep finishing the erasure', timeoutMs: 60_000 });
        expect(await left()).toBe(0);
        expect(await fs.readdir(path.join(first.dataDir, 'files', userStorageKey(user))).catch(() => [])).toEqual([]);
        console.info(`erasure killed with ${remaining} of ${total} uploads left; finished after the restart`);
      } finally {
        await second.stop();
      }
    } finally {
      await db.drop();
    }
  });
});
