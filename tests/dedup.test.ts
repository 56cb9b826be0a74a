import { afterEach, describe, expect, it } from 'vitest';
import { userStorageKey } from '../server/src/auth/user.js';
import { asciiText } from './helpers/fixtures.js';
import { clearS3Prefix, dedupBackends, download, sha256 } from './helpers/dedup.js';
import { type LibraryServer, startLibraryServer, stopAll } from './helpers/library-server.js';
import { uploadBuffer } from './helpers/tus.js';
import { bearer, waitForUpload } from './helpers/uploads-api.js';
import { waitFor } from './helpers/wait.js';

/**
 * Deduplication (DEDUP, README "Deduplication") on disk and on S3 (Swift), end to end: real
 * PostgreSQL, the embedded processing worker, uploads over tus, the files API. The same file
 * uploaded 20 times at once by one user is stored once and reads back 20 times identical under
 * 20 names; deleting 19 — the one holding the copy among them — keeps the last; deleting the last
 * removes the bytes. Users stay apart in `owner` mode and share in `global` mode, where erasing
 * the first uploader keeps the other's file and leaves nothing under the erased user's prefix.
 * Retention expiring the file that holds a shared copy keeps the other's. Crashes between steps:
 * tests/dedup-crash.test.ts.
 */

const processing = { WORKER: 'embedded', SCAN_MODE: 'off', DOWNLOADS_PER_MINUTE: '1000' };
const prefixes: string[] = [];
/** Ports 3400–3419 (this file's share of the range given to deduplication's tests). */
let nextPort = 3400;
const start = async (env: Record<string, string>, overrides?: Parameters<typeof startLibraryServer>[1]) => {
  const server = await startLibraryServer({ PORT: String(nextPort++), ...env }, overrides);
  if (server.haul.config.s3) prefixes.push(server.haul.config.s3.prefix);
  return server;
};

/** Servers stop as soon as they are done with: PostgreSQL's connections are shared by every test run on the machine. */
const stopServers = async () => {
  await stopAll();
  for (const prefix of prefixes.splice(0)) await clearS3Prefix(prefix);
};
afterEach(stopServers);

const remove = (server: LibraryServer, token: string, id: string) =>
  fetch(`${server.url}/api/uploads/${id}`, { method: 'DELETE', headers: bearer(token) });

describe.each(dedupBackends)('deduplication on $name', (backend) => {
  it('20 concurrent uploads of one file by one user: one stored copy, 20 identical downloads; deleting 19 keeps the last, deleting it removes the bytes', async () => {
    const server = await start({ ...backend.env(), ...processing, WORKER_CONCURRENCY: '8' });
    const token = await server.token('dora');
    const bytes = asciiText(2 * 2 ** 20);
    const size = bytes.length;
    const started = performance.now();
    const uploads = await Promise.all(Array.from({ length: 20 }, (_, i) => uploadBuffer(server.endpoint, token, bytes, { filename: `copy-${i}.txt` })));
    const ids = uploads.map((u) => u.id);
    const settled = await Promise.all(ids.map((id) => waitForUpload(server, token, id, { timeoutMs: 120_000 })));
    expect(settled.map((u) => u.status)).toEqual(ids.map(() => 'ready'));
    const settledRemovals = async () => (await server.db.sql`SELECT count(*)::int AS n FROM storage_removals`)[0]!.n === 0;
    await waitFor(async () => (await backend.files(server)).length === 1 && (await settledRemovals()), { what: 'one stored copy', timeoutMs: 30_000 });
    const seconds = (performance.now() - started) / 1000;
    const stored = await backend.files(server);
    expect(stored.map((f) => f.size)).toEqual([size]);
    console.log(`dedup figure (${backend.name}): 20 concurrent uploads of ${size} bytes → ${stored.length} stored file(s), ${stored[0]!.size} bytes stored of ${20 * size} uploaded; all ready and deduplicated in ${seconds.toFixed(2)} s`);

    const contents = await server.db.sql`SELECT id, storage_key, size::int AS size FROM stored_contents`;
    expect(contents).toHaveLength(1);
    const references = await server.db.sql`SELECT id, storage_key FROM uploads WHERE content_id = ${contents[0]!.id as number}`;
    expect(references.map((r) => r.id as string).sort()).toEqual([...ids].sort());

    // Every one reads back identical, under its own name; Range works on the shared copy.
    const downloads = await Promise.all(ids.map((id) => download(server, token, id)));
    for (const [i, got] of downloads.entries()) {
      expect(got.status).toBe(200);
      expect(sha256(got.body)).toBe(sha256(bytes));
      expect(got.disposition).toContain(`copy-${i}.txt`);
    }
    const ranged = await download(server, token, ids[7]!, 'bytes=1000-1999');
    expect(ranged.status).toBe(206);
    expect(ranged.body.equals(bytes.subarray(1000, 2000))).toBe(true);
    expect(await server.usage(token)).toMatchObject({ used: 20 * size, files: 20, savedBytes: 19 * size });

    // Delete 19 at once, among them the upload whose key holds the copy; keep another.
    const holder = references.find((r) => r.storage_key === contents[0]!.storage_key)!.id as string;
    const kept = ids.find((id) => id !== holder)!;
    const deletions = await Promise.all(ids.filter((id) => id !== kept).map((id) => remove(server, token, id)));
    expect(deletions.map((r) => r.status)).toEqual(ids.slice(1).map(() => 204));
    const left = await backend.files(server);
    expect(left).toHaveLength(1);
    expect(left[0]!.key).toMatch(/^content\//); // moved off the deleted holder's key, which went whole
    expect((await backend.names(server)).filter((name) => name.includes(holder))).toEqual([]);
    const last = await download(server, token, kept);
    expect(last.status).toBe(200);
    expect(last.body.equals(bytes)).toBe(true);
    expect(await server.usage(token)).toMatchObject({ used: size, files: 1, savedBytes: 0 });
    expect(await server.db.sql`SELECT count(*)::int AS n FROM uploads WHERE content_id IS NOT NULL`).toEqual([{ n: 1 }]);

    // The last reference: the bytes go.
    expect((await remove(server, token, kept)).status).toBe(204);
    expect(await backend.files(server)).toEqual([]);
    expect(await server.db.sql`SELECT count(*)::int AS n FROM stored_contents`).toEqual([{ n: 0 }]);
    expect(await server.db.sql`SELECT count(*)::int AS n FROM storage_removals`).toEqual([{ n: 0 }]);
  });

  it('owner mode keeps users apart; global mode shares across them, and erasing the first uploader keeps the other\'s file', async () => {
    const bytes = asciiText(300_000);
    const uploadAs = async (server: LibraryServer, user: string) => {
      const token = await server.token(user);
      const { id } = await uploadBuffer(server.endpoint, token, bytes, { filename: `${user}.txt` });
      expect((await waitForUpload(server, token, id)).status).toBe('ready');
      return { token, id };
    };

    const perOwner = await start({ ...backend.env(), ...processing });
    const ann = await uploadAs(perOwner, 'ann');
    await uploadAs(perOwner, 'ben');
    await uploadAs(perOwner, 'ann'); // her own duplicate is shared
    await waitFor(async () => (await backend.files(perOwner)).length === 2, { what: 'one copy per user', timeoutMs: 30_000 });
    expect(await perOwner.usage(ann.token)).toMatchObject({ files: 2, savedBytes: bytes.length });
    // Rejected files never take part: the same unrecognisable bytes twice are two rejections and two removals.
    const junk = Buffer.from([0, 1, 2, 3, 255, 254, 0, 9]);
    for (let i = 0; i < 2; i++) {
      const { id } = await uploadBuffer(perOwner.endpoint, ann.token, junk, { filename: 'junk.dat' });
      expect((await waitForUpload(perOwner, ann.token, id)).status).toBe('rejected');
    }
    expect(await perOwner.db.sql`SELECT count(*)::int AS n FROM stored_contents`).toEqual([{ n: 2 }]);
    await stopServers();

    const shared = await start({ ...backend.env(), ...processing, DEDUP: 'global' });
    const first = await uploadAs(shared, 'cleo');
    const second = await uploadAs(shared, 'dev');
    await waitFor(async () => (await backend.files(shared)).length === 1, { what: 'one copy across users', timeoutMs: 30_000 });
    // A match with someone else's file saves the user nothing in their figures: nothing to learn there.
    expect(await shared.usage(second.token)).toMatchObject({ used: bytes.length, savedBytes: 0 });
    expect(await shared.usage(first.token)).toMatchObject({ used: bytes.length, savedBytes: 0 });

    // Cleo's key holds the copy; her erasure moves it and leaves nothing of hers.
    expect((await backend.files(shared))[0]!.key).toContain(userStorageKey('cleo'));
    expect((await fetch(`${shared.url}/api/users/me`, { method: 'DELETE', headers: bearer(first.token) })).status).toBe(204);
    expect((await backend.names(shared)).filter((name) => name.includes(userStorageKey('cleo')) || name.includes(first.id))).toEqual([]);
    expect(await shared.db.sql`SELECT count(*)::int AS n FROM uploads WHERE owner_id = 'cleo'`).toEqual([{ n: 0 }]);
    const kept = await download(shared, second.token, second.id);
    expect(kept.status).toBe(200);
    expect(kept.body.equals(bytes)).toBe(true);
    expect((await backend.files(shared)).map((f) => f.key)).toEqual([expect.stringMatching(/^content\//)]);
    expect((await remove(shared, second.token, second.id)).status).toBe(204);
    expect(await backend.files(shared)).toEqual([]);
  });

  it('retention expiring the upload that holds a shared copy keeps the other reference\'s bytes', async () => {
    let offsetMs = 0;
    const server = await start(
      { ...backend.env(), ...processing, RETENTION_SECONDS_BY_SCOPE: 'tmp:=60', EXPIRY_SWEEP_INTERVAL_SECONDS: '1' },
      { clock: () => new Date(Date.now() + offsetMs) },
    );
    const token = await server.token('rita', { scopes: ['tmp:1'] });
    const bytes = asciiText(200_000);
    // The short-lived one first: its key holds the copy.
    const temporary = await uploadBuffer(server.endpoint, token, bytes, { filename: 'temp.txt', scope: 'tmp:1' });
    expect((await waitForUpload(server, token, temporary.id)).status).toBe('ready');
    const lasting = await uploadBuffer(server.endpoint, token, bytes, { filename: 'lasting.txt' });
    expect((await waitForUpload(server, token, lasting.id)).status).toBe('ready');
    await waitFor(async () => (await backend.files(server)).length === 1, { what: 'one stored copy', timeoutMs: 30_000 });

    offsetMs = 61_000;
    await waitForUpload(server, token, temporary.id, { done: (u) => u.status === 'expired', timeoutMs: 30_000 });
    await waitFor(async () => (await backend.names(server)).every((name) => !name.includes(temporary.id)), { what: 'the expired upload\'s storage removed', timeoutMs: 30_000 });
    expect((await backend.files(server)).map((f) => f.key)).toEqual([expect.stringMatching(/^content\//)]);
    const kept = await download(server, token, lasting.id);
    expect(kept.body.equals(bytes)).toBe(true);
    expect((await waitForUpload(server, token, lasting.id, { done: () => true })).status).toBe('ready');
  });
});
