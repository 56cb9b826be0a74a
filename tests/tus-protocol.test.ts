import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import postgres from 'postgres';
import * as tus from 'tus-js-client';
import { runningEmbeddedDatabaseUrl } from '../server/src/db/embedded-postgres-files.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomFile, readRange, sha256, sha256File, sizeOf, type SourceFile, storedPath } from './helpers/files.js';
import { type HaulServer, startHaul, stopAndRemoveData } from './helpers/haul-server.js';
import {
  createUpload, decodeMetadata, encodeMetadata, head, offsetOf, patch, request, terminate, TUS, uploadIdOf, uploadRest,
} from './helpers/tus.js';
import { runUpload } from './helpers/tus-js.js';
import { waitFor } from './helpers/wait.js';

/**
 * The core of tus 1.0 as Haul speaks it, over raw HTTP and with tus-js-client, against the real
 * server process with each metadata backend: the embedded PostgreSQL (the default) and a PostgreSQL server.
 * One file (over 300 lines) on purpose: its last test checks the uploads table against every
 * upload the tests before it made, on each backend.
 */

const MiB = 2 ** 20;

interface ExpectedRow {
  id: string;
  status: 'received' | 'terminated' | 'uploading';
  size: number | null;
  filename: string | null;
}

interface UploadRow {
  id: string;
  owner_id: string;
  status: string;
  size: number | null;
  filename: string | null;
  filetype: string | null;
  metadata: Record<string, unknown>;
  metadata_type: string;
}

const backends = [
  { name: 'the embedded database', databaseUrl: undefined as string | undefined },
  { name: 'PostgreSQL', databaseUrl: inject('databaseUrl') },
];

describe.each(backends)('tus protocol with $name', ({ databaseUrl }) => {
  const user = `proto-${databaseUrl ? 'pg' : 'embedded'}@example.com`;
  let server: HaulServer;
  let token: string;
  let small: SourceFile; // 1 MiB + 7
  let medium: SourceFile; // 10 MiB + 12345
  let sourceDir: string;
  /** What the database must say about each upload once the tests ran (checked last). */
  const expected: ExpectedRow[] = [];

  beforeAll(async () => {
    server = await startHaul({ env: { DATABASE_URL: databaseUrl } });
    token = await server.token(user);
    small = await randomFile(MiB + 7);
    sourceDir = path.dirname(small.path);
    medium = await randomFile(10 * MiB + 12345, sourceDir);
  });

  afterAll(async () => {
    await stopAndRemoveData(server);
    await fsp.rm(sourceDir, { recursive: true, force: true });
  });

  const stored = (id: string) => storedPath(server.dataDir, user, id);

  it('creates an upload: 201, Location on /files/<24-char id>, HEAD offset 0', async () => {
    const { response, url, id } = await createUpload(server.tusEndpoint, token, { length: small.size });
    expect(response.status).toBe(201);
    expect(response.header('tus-resumable')).toBe('1.0.0');
    expect(new URL(url).pathname).toBe(`/files/${id}`);
    expect(id).toMatch(/^[A-Za-z0-9_-]{24}$/);
    // expiration extension: known at creation, so it MUST be in the response (RFC 7231 date).
    const expires = Date.parse(response.header('upload-expires') ?? '');
    expect(expires).toBeGreaterThan(Date.now());

    const res = await head(url, token);
    expect(res.status).toBe(200);
    expect(res.header('upload-offset')).toBe('0');
    expect(res.header('upload-length')).toBe(String(small.size));
    expect(res.header('cache-control')).toBe('no-store');
    expect(res.header('tus-resumable')).toBe('1.0.0');
    expect(await sizeOf(stored(id))).toBe(0);
    expected.push({ id, status: 'uploading', size: small.size, filename: null });
  });

  it('takes a file in chunks; every PATCH advances the offset, the stored bytes are the source', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, {
      length: medium.size,
      metadata: { filename: 'medium.bin', filetype: 'application/octet-stream' },
    });
    const offsets: number[] = [];
    for (let at = 0; at < medium.size; ) {
      const chunk = await readRange(medium.path, at, Math.min(medium.size, at + 3 * MiB));
      const res = await patch(url, token, at, chunk);
      expect(res.status).toBe(204);
      expect(res.header('tus-resumable')).toBe('1.0.0');
      at = Number(res.header('upload-offset'));
      offsets.push(at);
      expect(await offsetOf(url, token)).toBe(at);
    }
    expect(offsets).toEqual([3 * MiB, 6 * MiB, 9 * MiB, medium.size]);
    const done = await head(url, token);
    expect(done.header('upload-offset')).toBe(String(medium.size));
    expect(done.header('upload-length')).toBe(String(medium.size));
    expect(await sha256File(stored(id))).toBe(medium.sha256);
    expected.push({ id, status: 'received', size: medium.size, filename: 'medium.bin' });

    // One access-log line per request, tus requests included (they are answered on the Node response).
    const patchLines = () =>
      server.logs().split('\n').filter((line) => line.includes('"msg":"request"') && line.includes('"method":"PATCH"') && line.includes(`/files/${id}`));
    await waitFor(() => patchLines().length >= 4, { timeoutMs: 5000, what: 'a log line for each PATCH', intervalMs: 100 });
    expect(patchLines().every((line) => line.includes('"status":204'))).toBe(true);
  });

  it('creation-with-upload: the POST body is stored, whole or in part', async () => {
    const whole = await readRange(small.path, 0, small.size);
    const complete = await createUpload(server.tusEndpoint, token, { length: small.size, body: whole });
    expect(complete.response.header('upload-offset')).toBe(String(small.size));
    expect(await sha256File(stored(complete.id))).toBe(small.sha256);
    expected.push({ id: complete.id, status: 'received', size: small.size, filename: null });

    const first = await readRange(small.path, 0, 300_000);
    const partial = await createUpload(server.tusEndpoint, token, { length: small.size, body: first });
    expect(partial.response.header('upload-offset')).toBe('300000');
    expect(await offsetOf(partial.url, token)).toBe(300_000);
    await uploadRest(partial.url, token, small, { from: 300_000 });
    expect(await sha256File(stored(partial.id))).toBe(small.sha256);
    expected.push({ id: partial.id, status: 'received', size: small.size, filename: null });
  });

  it('deferred length: Upload-Defer-Length: 1, then Upload-Length on a later PATCH', async () => {
    const { response, url, id } = await createUpload(server.tusEndpoint, token, { length: 'deferred' });
    expect(response.status).toBe(201);
    const before = await head(url, token);
    expect(before.header('upload-defer-length')).toBe('1');
    expect(before.header('upload-length')).toBeUndefined();

    const first = await readRange(medium.path, 0, 4 * MiB);
    const res1 = await patch(url, token, 0, first);
    expect(res1.status).toBe(204);
    expect((await head(url, token)).header('upload-defer-length')).toBe('1');

    const rest = await readRange(medium.path, 4 * MiB, medium.size);
    const res2 = await patch(url, token, 4 * MiB, rest, { 'Upload-Length': String(medium.size) });
    expect(res2.status).toBe(204);
    expect(res2.header('upload-offset')).toBe(String(medium.size));
    const after = await head(url, token);
    expect(after.header('upload-length')).toBe(String(medium.size));
    expect(after.header('upload-defer-length')).toBeUndefined();
    expect(await sha256File(stored(id))).toBe(medium.sha256);
    expected.push({ id, status: 'received', size: medium.size, filename: null });
  });

  it('termination: DELETE answers 204, then the upload is gone (HEAD/PATCH 404 or 410, bytes removed)', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, {
      length: small.size,
      body: await readRange(small.path, 0, 500_000),
    });
    expect(await sizeOf(stored(id))).toBe(500_000);
    const res = await terminate(url, token);
    expect(res.status).toBe(204);
    expect(res.header('tus-resumable')).toBe('1.0.0');
    expect([404, 410]).toContain((await head(url, token)).status);
    const again = await patch(url, token, 500_000, Buffer.alloc(10));
    expect([404, 410]).toContain(again.status);
    expect([404, 410]).toContain((await terminate(url, token)).status);
    expect(await sizeOf(stored(id))).toBeUndefined();
    expect(await sizeOf(`${stored(id)}.json`)).toBeUndefined();
    expected.push({ id, status: 'terminated', size: small.size, filename: null });
  });

  it('metadata round trip: HEAD returns Upload-Metadata as sent, binary values and non-ASCII names included', async () => {
    const binary = Buffer.from([0xff, 0x00, 0xfe, 0x80, 0xc3, 0x28, 0x00, 0x01]);
    const filename = 'Résumé – 日本語 🎉.txt';
    const pairs = { filename, filetype: 'text/plain', blob: binary, flag: null, note: 'hello, world' };
    const header = encodeMetadata(pairs);
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: small.size, metadata: pairs });

    const res = await head(url, token);
    expect(res.header('upload-metadata')).toBe(header);
    const decoded = decodeMetadata(res.header('upload-metadata'));
    expect(decoded.get('blob')).toEqual(binary);
    expect(decoded.get('filename')?.toString('utf8')).toBe(filename);
    expect(decoded.get('flag')).toBeNull();

    // Still the same after bytes arrived and after completion.
    await uploadRest(url, token, small, { from: 0, chunkSize: 512 * 1024 });
    expect((await head(url, token)).header('upload-metadata')).toBe(header);
    expect(await sha256File(stored(id))).toBe(small.sha256);
    expected.push({ id, status: 'received', size: small.size, filename });
  });

  it('X-HTTP-Method-Override: POST acts as HEAD, PATCH and DELETE', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: small.size });
    const override = (method: string, headers: Record<string, string | number> = {}, body?: Buffer) =>
      request({ method: 'POST', url, token, headers: { ...TUS, 'X-HTTP-Method-Override': method, ...headers }, body });

    const asHead = await override('HEAD');
    expect(asHead.status).toBe(200);
    expect(asHead.header('upload-offset')).toBe('0');
    expect(asHead.header('upload-length')).toBe(String(small.size));

    const chunk = await readRange(small.path, 0, 200_000);
    const asPatch = await override('PATCH', { 'Upload-Offset': 0, 'Content-Type': 'application/offset+octet-stream' }, chunk);
    expect(asPatch.status).toBe(204);
    expect(asPatch.header('upload-offset')).toBe('200000');
    expect(await offsetOf(url, token)).toBe(200_000);
    expect(await sizeOf(stored(id))).toBe(200_000);

    const asDelete = await override('DELETE');
    expect(asDelete.status).toBe(204);
    expect([404, 410]).toContain((await head(url, token)).status);
    expect(await sizeOf(stored(id))).toBeUndefined();
    expected.push({ id, status: 'terminated', size: small.size, filename: null });
  });

  const tusUpload = (input: Buffer | Readable, options: Partial<tus.UploadOptions>) =>
    runUpload(
      new tus.Upload(input, { endpoint: server.tusEndpoint, headers: { Authorization: `Bearer ${token}` }, retryDelays: [100, 500], ...options }),
      30_000,
    );

  it('tus-js-client uploads a Buffer in chunks', async () => {
    const buffer = await readRange(medium.path, 0, 3 * MiB + 99);
    const progress: number[] = [];
    const url = await tusUpload(buffer, {
      chunkSize: MiB,
      metadata: { filename: 'from-buffer.bin', filetype: 'application/octet-stream' },
      onChunkComplete: (_size, accepted) => progress.push(accepted),
    });
    const id = uploadIdOf(url);
    expect(progress).toEqual([MiB, 2 * MiB, 3 * MiB, 3 * MiB + 99]);
    expect(await sha256File(stored(id))).toBe(sha256(buffer));
    expected.push({ id, status: 'received', size: buffer.length, filename: 'from-buffer.bin' });
  });

  it('tus-js-client uploads an fs.ReadStream in chunks (length known up front)', async () => {
    const url = await tusUpload(fs.createReadStream(medium.path), {
      chunkSize: 4 * MiB,
      uploadSize: medium.size,
      metadata: { filename: 'from-stream.bin' },
    });
    const id = uploadIdOf(url);
    expect(await offsetOf(url, token)).toBe(medium.size);
    expect(await sha256File(stored(id))).toBe(medium.sha256);
    expected.push({ id, status: 'received', size: medium.size, filename: 'from-stream.bin' });
  });

  it('tus-js-client uploads a stream of unknown length (deferred length)', async () => {
    // A plain Readable: tus-js-client treats an fs.ReadStream as a file of known size, and with
    // uploadLengthDeferred it then declares a full chunk's Content-Length for the short last chunk.
    const url = await tusUpload(fs.createReadStream(small.path).pipe(new PassThrough()), {
      chunkSize: 256 * 1024,
      uploadLengthDeferred: true,
      metadata: { filename: 'deferred.bin' },
    });
    const id = uploadIdOf(url);
    expect((await head(url, token)).header('upload-length')).toBe(String(small.size));
    expect(await sha256File(stored(id))).toBe(small.sha256);
    expected.push({ id, status: 'received', size: small.size, filename: 'deferred.bin' });
  });

  // Last: reads the database directly, while the server runs (the embedded one through the URL a worker uses).
  it('the uploads table records owner, status, size and filename of every upload', async () => {
    expect(expected.length).toBeGreaterThanOrEqual(10);
    const ids = expected.map((e) => e.id);
    const sql = postgres(databaseUrl ?? (await runningEmbeddedDatabaseUrl(server.dataDir)), { max: 1, onnotice: () => {} });
    let rows: UploadRow[];
    try {
      rows = await sql<UploadRow[]>`SELECT id, owner_id, status, size, filename, filetype, metadata, jsonb_typeof(metadata) AS metadata_type FROM uploads WHERE id IN ${sql(ids)}`;
    } finally {
      await sql.end();
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const want of expected) {
      const row = byId.get(want.id);
      expect(row, want.id).toBeDefined();
      expect({
        id: row!.id,
        status: row!.status,
        size: row!.size === null ? null : Number(row!.size),
        filename: row!.filename,
      }).toEqual(want);
      expect(row!.owner_id).toBe(user);
      expect(row!.metadata_type, 'metadata is a JSON object, not a string').toBe('object');
    }
    // Binary metadata is kept losslessly in the database as well.
    const withBlob = rows.find((r) => r.metadata && typeof r.metadata === 'object' && 'blob' in r.metadata);
    expect(withBlob?.metadata).toMatchObject({
      blob: { base64: Buffer.from([0xff, 0x00, 0xfe, 0x80, 0xc3, 0x28, 0x00, 0x01]).toString('base64') },
      flag: null,
      note: 'hello, world',
    });
    expect(withBlob?.filetype).toBe('text/plain');
  });
});
