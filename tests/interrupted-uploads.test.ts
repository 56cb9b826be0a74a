import fsp from 'node:fs/promises';
import postgres from 'postgres';
import { runningEmbeddedDatabaseUrl } from '../server/src/db/embedded-postgres-files.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomFile, readRange, removeRandomFile, sha256File, sizeOf, type SourceFile, storedPath } from './helpers/files.js';
import { freePort, type HaulServer, startHaul, stopAndRemoveData } from './helpers/haul-server.js';
import { createUpload, head, offsetOf, patch, uploadRest } from './helpers/tus.js';
import { partialPatch } from './helpers/tus-interrupted.js';
import { sleep } from './helpers/wait.js';

/**
 * Uploads that do not go to plan: connections dropped mid-PATCH, a server killed mid-upload, a
 * server shut down while a PATCH is running. Each time the client asks HEAD where to go on,
 * resumes from there, and the stored file must be byte for byte the source.
 */

const MiB = 2 ** 20;

let source: SourceFile;
beforeAll(async () => {
  source = await randomFile(16 * MiB + 333);
});
afterAll(() => removeRandomFile(source));

describe('connection dropped mid-PATCH', () => {
  const user = 'flaky-network';
  let server: HaulServer;
  let token: string;

  beforeAll(async () => {
    server = await startHaul();
    token = await server.token(user);
  });
  afterAll(() => stopAndRemoveData(server));

  it('keeps what arrived before each drop; resuming from HEAD yields the identical file', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: source.size });
    const stored = storedPath(server.dataDir, user, id);
    let offset = 0;
    // Bytes sent before the connection drops, including none at all (headers only).
    for (const send of [700_000, 0, 2 * MiB + 3, 1, 3 * MiB + 512 * 1024]) {
      const request = await partialPatch(url, token, source.path, { offset, send, declared: source.size - offset });
      await sleep(250); // let the server take in what was sent
      const outcome = await request.abort();
      expect(outcome.status, 'the aborted PATCH got no answer').toBeUndefined();

      const now = await offsetOf(url, token);
      expect(now, `after dropping ${send} bytes in`).toBe(offset + send);
      expect(await sizeOf(stored)).toBe(now);
      offset = now;
    }
    expect(offset).toBeGreaterThan(6 * MiB);
    // A PATCH that claims a stale offset is refused and changes nothing.
    const stale = await patch(url, token, offset - 1, await readRange(source.path, offset - 1, offset + 10));
    expect(stale.status).toBe(409);
    expect(await offsetOf(url, token)).toBe(offset);

    await uploadRest(url, token, source, { from: offset });
    expect(await offsetOf(url, token)).toBe(source.size);
    expect(await sha256File(stored)).toBe(source.sha256);
  });
});

const backends = [
  { name: 'embedded', databaseUrl: undefined as string | undefined },
  { name: 'PostgreSQL', databaseUrl: inject('databaseUrl') },
];

describe.each(backends)('server stopped mid-upload ($name)', ({ name, databaseUrl }) => {
  const servers: HaulServer[] = [];
  let dataDir: string | undefined;

  afterAll(async () => {
    for (const s of servers) await s.kill();
    if (dataDir) await fsp.rm(dataDir, { recursive: true, force: true });
  });

  /** Starts (or restarts) "the" server: same port, DATA_DIR and database each time. */
  const start = async (port: number, env: Record<string, string> = {}) => {
    const server = await startHaul({ port, dataDir, env: { DATABASE_URL: databaseUrl, ...env } });
    dataDir = server.dataDir;
    servers.push(server);
    return server;
  };

  const rowStatus = async (id: string) => {
    const sql = postgres(databaseUrl ?? (await runningEmbeddedDatabaseUrl(dataDir!)), { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ status: string; size: string }[]>`SELECT status, size FROM uploads WHERE id = ${id}`;
      return row && Number(row.size) === source.size ? row.status : `unexpected row ${JSON.stringify(row)}`;
    } finally {
      await sql.end();
    }
  };

  it('SIGKILL mid-PATCH: after a restart the upload resumes from HEAD to identical bytes', async () => {
    const port = await freePort();
    const user = `crash-${name}`;
    const first = await start(port);
    const token = await first.token(user);
    const { url, id } = await createUpload(first.tusEndpoint, token, { length: source.size });
    await uploadRest(url, token, { path: source.path, size: 3 * MiB }, { from: 0, chunkSize: 3 * MiB });

    const running = await partialPatch(url, token, source.path, { offset: 3 * MiB, send: 5 * MiB, declared: source.size - 3 * MiB });
    await sleep(300);
    await first.kill();
    const outcome = await running.done;
    expect(outcome.status).toBeUndefined();

    const second = await start(port);
    // Same URL, and the token issued before the crash is still good (dev secret lives in DATA_DIR).
    const res = await head(url, token);
    expect(res.status).toBe(200);
    const offset = res.offset!;
    expect(offset).toBeGreaterThanOrEqual(3 * MiB);
    expect(offset).toBeLessThanOrEqual(8 * MiB);
    expect(await sizeOf(storedPath(second.dataDir, user, id))).toBe(offset);

    await uploadRest(url, token, source, { from: offset });
    expect(await offsetOf(url, token)).toBe(source.size);
    expect(await sha256File(storedPath(second.dataDir, user, id))).toBe(source.sha256);
    expect(await rowStatus(id)).toBe('received');
    await second.stop();
  });

  it('SIGTERM mid-PATCH: the server stores what it got, exits 0, and HEAD after restart matches the disk', async () => {
    const port = await freePort();
    const user = `shutdown-${name}`;
    const first = await start(port, { SHUTDOWN_GRACE_SECONDS: '1' });
    const token = await first.token(user);
    const { url, id } = await createUpload(first.tusEndpoint, token, { length: source.size });
    const stored = storedPath(first.dataDir, user, id);

    const sent = 4 * MiB + 17;
    const running = await partialPatch(url, token, source.path, { offset: 0, send: sent, declared: source.size });
    await sleep(300);
    const stopping = Date.now();
    const code = await first.stop();
    const took = Date.now() - stopping;
    expect(code).toBe(0);
    // It waited for the running upload for the grace period, then cut it off; not much longer.
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(15_000);
    expect(first.logs()).toContain('aborted uploads still running at the end of the grace period');
    expect((await running.done).status).not.toBe(204);

    const second = await start(port);
    const offset = await offsetOf(url, token);
    expect(offset, 'everything the client sent before the shutdown was kept').toBe(sent);
    expect(await sizeOf(stored)).toBe(offset);

    await uploadRest(url, token, source, { from: offset });
    expect(await sha256File(stored)).toBe(source.sha256);
    expect(await rowStatus(id)).toBe('received');
    expect(await second.stop()).toBe(0);
  });
});
