import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../server/src/logger.js';
import { createStorage, type Storage } from '../server/src/storage/storage.js';
import { createStoredContents } from '../server/src/uploads/stored-contents.js';
import { asciiText } from './helpers/fixtures.js';
import { clearS3Prefix, dedupBackends, sha256 } from './helpers/dedup.js';
import { type LibraryServer, startLibraryServer, stopAll } from './helpers/library-server.js';
import { uploadBuffer } from './helpers/tus.js';

/**
 * Deduplication survives a crash between any two of its steps, on disk and on S3 (Swift), with
 * the real PostgreSQL and storage: no stored file is lost and none is left unaccounted for. The
 * steps are the server's own (uploads/stored-contents.ts) run by the test on three uploads of one
 * file, and a crash is the process stopping at that point: the step after it never runs (the
 * storage call that would follow a commit throws, as the process would have died there). The
 * restarted process — a new instance over the same database and storage — re-runs what its
 * callers re-run (a processing job, a deletion's retry, the expiry sweep's removals).
 */

const servers: LibraryServer[] = [];
/** Ports 3420–3429 (this file's share of the range given to deduplication's tests). */
let nextPort = 0;

// One server at a time: PostgreSQL's connections are shared by every test run on the machine.
afterEach(async () => {
  const prefixes = servers.flatMap((s) => (s.haul.config.s3 ? [s.haul.config.s3.prefix] : []));
  await stopAll();
  servers.splice(0);
  for (const prefix of prefixes) await clearS3Prefix(prefix);
});

describe.each(dedupBackends)('a crash between deduplication steps on $name', (backend) => {
  it('leaves no orphan and loses no file: after the outcome commits, during a move, before the last copy is removed', async () => {
    // No worker: the uploads stay `received`, and the test runs the pipeline's deduplication steps itself.
    const server = await startLibraryServer({ PORT: String(3420 + nextPort++), ...backend.env() });
    servers.push(server);
    const storage = await createStorage(server.haul.config);
    let offsetMs = 0;
    const now = () => new Date(Date.now() + offsetMs);
    /** A process: the server's deduplication over the same database, with `storage` (or one that dies at some call). */
    const processOver = (s: Storage = storage) => createStoredContents({ db: server.haul.db, storage: s, mode: 'owner', logger: silentLogger, now });
    /** Storage of a process that dies right after copying, or right before removing a file. */
    const diesAfterCopy: Storage = { ...storage, copy: async (from, to) => {
      await storage.copy(from, to);
      throw new Error('the process died after copy');
    } };
    const diesBeforeRemoval: Storage = { ...storage, removeFile: () => Promise.reject(new Error('the process died before removeFile')) };
    const read = async (key: string) => {
      const chunks: Buffer[] = [];
      for await (const chunk of await storage.read(key)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    };
    const exists = (key: string) => read(key).then(() => true, () => false);
    const contentKey = async () => (await server.db.sql`SELECT storage_key FROM stored_contents`).map((r) => r.storage_key as string);
    const pending = async () => (await server.db.sql`SELECT storage_key FROM storage_removals ORDER BY storage_key`).map((r) => r.storage_key as string);
    const storedFiles = async () => (await backend.files(server)).map((f) => f.key).sort();

    const token = await server.token('cora');
    const bytes = asciiText(300_000);
    const ids = (await Promise.all([0, 1, 2].map((i) => uploadBuffer(server.endpoint, token, bytes, { filename: `c${i}.txt` })))).map((u) => u.id);
    const keys = await Promise.all(ids.map(async (id) => (await server.db.sql`SELECT storage_key FROM uploads WHERE id = ${id}`)[0]!.storage_key as string));
    const [first, second, third] = ids as [string, string, string];
    const [firstKey, secondKey, thirdKey] = keys as [string, string, string];
    const adopt = (id: string, key: string) =>
      server.haul.db.transaction((tx) => processOver().adopt(tx, { id, ownerId: 'cora', storageKey: key, sha256: sha256(bytes), size: bytes.length }));

    // 1. The outcome commits (the first holds the copy, the second references it), then the process
    //    dies before removing the second's now redundant bytes.
    expect(await adopt(first, firstKey)).toBeUndefined();
    expect(await adopt(second, secondKey)).toBe(secondKey);
    expect(await exists(secondKey)).toBe(true);
    expect(await pending()).toEqual([secondKey]); // written down with the outcome: not an orphan
    // Running a step twice changes nothing.
    expect(await adopt(first, firstKey)).toBeUndefined();
    expect(await adopt(second, secondKey)).toBe(secondKey);
    expect(await server.db.sql`SELECT count(*)::int AS n FROM stored_contents`).toEqual([{ n: 1 }]);
    // The restarted process's sweep finishes it; the copy others use is never touched.
    expect(await processOver().runRemovals()).toBe(1);
    expect(await exists(secondKey)).toBe(false);
    expect(sha256(await read(firstKey))).toBe(sha256(bytes));
    expect(await adopt(third, thirdKey)).toBe(thirdKey);
    expect(await processOver().runRemovals()).toBe(1);
    expect(await storedFiles()).toEqual([firstKey.slice(server.haul.config.s3?.prefix.length ?? 0)]);

    // 2. The holder goes while the others use its copy: the move dies after its copy, before adopting it.
    await expect(processOver(diesAfterCopy).release(first)).rejects.toThrow('the process died after copy');
    expect(await contentKey()).toEqual([firstKey]); // still the first's copy: nothing lost
    const [abandoned] = await pending();
    expect(abandoned).toMatch(/content\//);
    expect(await exists(abandoned!)).toBe(true); // the copy made, written down before it was
    // The retried release (the deletion's retry or the sweep's purge) moves it again, then the caller removes the upload's storage.
    await processOver().release(first);
    await processOver().release(first); // twice: nothing more happens
    const [moved] = await contentKey();
    expect(moved).toMatch(/content\//);
    expect(moved).not.toBe(abandoned);
    expect(await server.db.sql`SELECT id FROM uploads WHERE content_id IS NOT NULL ORDER BY id`).toEqual([second, third].sort().map((id) => ({ id })));
    await storage.remove(firstKey);
    expect(sha256(await read(moved!))).toBe(sha256(bytes));
    // The abandoned copy is removed once due (an hour after it was made), not before.
    expect(await processOver().runRemovals()).toBe(0);
    expect(await exists(abandoned!)).toBe(true);
    offsetMs = 3601_000;
    expect(await processOver().runRemovals()).toBe(1);
    expect(await exists(abandoned!)).toBe(false);
    expect(await storedFiles()).toEqual([moved!.slice(server.haul.config.s3?.prefix.length ?? 0)]);

    // 3. One reference goes (nothing is removed), then the last: the process dies before removing the copy.
    await processOver(diesBeforeRemoval).release(second);
    expect(await exists(moved!)).toBe(true);
    await processOver(diesBeforeRemoval).release(third); // the removal fails after the commit: logged, retried by the sweep
    expect(await contentKey()).toEqual([]);
    expect(await pending()).toEqual([moved]);
    expect(await exists(moved!)).toBe(true);
    expect(await processOver().runRemovals()).toBe(0); // a failed removal is due again a minute later
    offsetMs += 61_000;
    expect(await processOver().runRemovals()).toBe(1);
    expect(await storedFiles()).toEqual([]);
    expect(await pending()).toEqual([]);
  });
});
