import fsp from 'node:fs/promises';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { sizeOf, storedPath } from './helpers/files.js';
import {
  createUpload, decodeMetadata, encodeMetadata, head, patch, request, TUS,
} from './helpers/tus.js';

/**
 * tus 1.0 rules Haul's own handlers (server/src/tus) enforce that the older suites did not pin
 * down, one raw request per rule: Location behind a proxy, completion announced by the request
 * that completes, Upload-Expires, the received-upload HEAD, the finish recorded by HEAD when it
 * was lost, expiry before the sweep, capabilities declared once. Body edge cases (locks,
 * chunked bodies, early answers) are in tus-body-edges.test.ts.
 */

const listOf = (value: string | undefined) => (value ?? '').split(',').map((v) => v.trim()).filter(Boolean);

describe('tus conformance', () => {
  const databaseUrl = inject('databaseUrl');
  const user = 'conformance@example.com';
  let server: HaulServer;
  let proxied: HaulServer;
  let token: string;
  let sql: postgres.Sql;

  beforeAll(async () => {
    [server, proxied] = await Promise.all([
      startHaul({ env: { DATABASE_URL: databaseUrl } }),
      startHaul({ env: { DATABASE_URL: databaseUrl, TRUST_PROXY: 'true', UPLOAD_EXPIRY_SECONDS: '1' } }),
    ]);
    token = await server.token(user);
    sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), proxied?.stop(), sql?.end()]);
    await Promise.all([server, proxied].map((s) => s && fsp.rm(s.dataDir, { recursive: true, force: true })));
  });

  const row = async (id: string) =>
    (await sql<{ status: string; size: string | null }[]>`SELECT status, size FROM uploads WHERE id = ${id}`)[0];

  it('OPTIONS and /api/config read the same capability: concatenation, declared by the storage', async () => {
    const options = await request({ method: 'OPTIONS', url: server.tusEndpoint });
    expect(options.status).toBe(204);
    // "The Tus-Extension response header MUST be a comma-separated list of the extensions supported by the Server."
    expect(listOf(options.header('tus-extension'))).toEqual([
      'creation', 'creation-with-upload', 'creation-defer-length', 'termination', 'expiration', 'checksum', 'checksum-trailer', 'concatenation',
      'concatenation-unfinished',
    ]);
    expect(options.header('tus-version')).toBe('1.0.0');
    expect(options.header('access-control-max-age')).toBe('86400');
    const config = (await (await fetch(`${server.url}/api/config`)).json()) as { concatenation: boolean };
    expect(config.concatenation).toBe(true);
  });

  it('Location: the Host header, or with TRUST_PROXY the Forwarded / X-Forwarded-* headers', async () => {
    const forwarded = { 'X-Forwarded-Host': 'uploads.example', 'X-Forwarded-Proto': 'https' };
    // Without TRUST_PROXY the forwarding headers are the client's claim and are ignored.
    const direct = await createUpload(server.tusEndpoint, token, { length: 10, headers: forwarded });
    expect(direct.response.header('location')).toBe(`${server.url}/files/${direct.id}`);

    const proxiedToken = await proxied.token(user);
    const viaXForwarded = await createUpload(proxied.tusEndpoint, proxiedToken, { length: 10, headers: forwarded });
    expect(viaXForwarded.response.header('location')).toBe(`https://uploads.example/files/${viaXForwarded.id}`);
    const viaForwarded = await createUpload(proxied.tusEndpoint, proxiedToken, {
      length: 10, headers: { Forwarded: 'for=192.0.2.1;host="cdn.example:8443";proto=https' },
    });
    expect(viaForwarded.response.header('location')).toBe(`https://cdn.example:8443/files/${viaForwarded.id}`);
  });

  it('the PATCH that writes the last byte says the upload is received; earlier ones say when it expires', async () => {
    const created = await createUpload(server.tusEndpoint, token, { length: 300 });
    const expires = created.response.header('upload-expires');
    expect(Date.parse(expires ?? '')).toBeGreaterThan(Date.now());
    expect(created.response.header('haul-upload')).toBeUndefined();

    const first = await patch(created.url, token, 0, Buffer.alloc(100, 1));
    expect(first.status).toBe(204);
    expect(first.header('upload-expires')).toBe(expires);
    expect(first.header('haul-upload')).toBeUndefined();
    const unfinished = await head(created.url, token);
    expect(unfinished.header('upload-expires')).toBe(expires);

    const last = await patch(created.url, token, 100, Buffer.alloc(200, 2));
    expect(last.status).toBe(204);
    expect(last.header('haul-upload')).toBe(`/api/uploads/${created.id}`);
    expect(last.header('haul-upload-events')).toBe(`/api/uploads/${created.id}/events`);
    expect(last.header('upload-expires')).toBeUndefined();
    // Recorded before the answer, not after it.
    expect(await row(created.id)).toMatchObject({ status: 'received' });
    const finished = await head(created.url, token);
    expect(finished.header('upload-expires')).toBeUndefined();
    expect(finished.header('cache-control')).toBe('no-store');
  });

  it('an upload complete on creation (empty, or whole with creation-with-upload) is received by that POST', async () => {
    const empty = await createUpload(server.tusEndpoint, token, { length: 0 });
    expect(empty.response.header('haul-upload')).toBe(`/api/uploads/${empty.id}`);
    expect(empty.response.header('upload-expires')).toBeUndefined();
    expect(await row(empty.id)).toMatchObject({ status: 'received' });

    const whole = await createUpload(server.tusEndpoint, token, { length: 5, body: Buffer.from('hello') });
    expect(whole.response.header('upload-offset')).toBe('5');
    expect(whole.response.header('haul-upload')).toBe(`/api/uploads/${whole.id}`);
    expect(await row(whole.id)).toMatchObject({ status: 'received' });

    const part = await createUpload(server.tusEndpoint, token, { length: 10, body: Buffer.from('hello') });
    expect(part.response.header('upload-offset')).toBe('5');
    expect(part.response.header('haul-upload')).toBeUndefined();
    expect(part.response.header('upload-expires')).toBeDefined();
  });

  it('HEAD of a received upload whose bytes left storage still says complete, with the metadata as sent', async () => {
    const sent = { filename: 'gone.bin', blob: Buffer.from([0xff, 0x00, 0xfe]) };
    const metadata = encodeMetadata(sent);
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: 4, metadata: sent, body: Buffer.from('abcd') });
    const file = storedPath(server.dataDir, user, id);
    // What quarantine or a later removal does to the stored file.
    await fsp.rm(file);
    await fsp.rm(`${file}.json`);
    const res = await head(url, token);
    expect(res.status).toBe(200);
    expect(res.header('upload-offset')).toBe('4');
    expect(res.header('upload-length')).toBe('4');
    expect(decodeMetadata(res.header('upload-metadata'))).toEqual(decodeMetadata(metadata));
  });

  it('HEAD records a finish that was lost (all bytes stored, the row still uploading)', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: 3 });
    expect((await patch(url, token, 0, Buffer.from('xyz'))).status).toBe(204);
    // As if the process died between storing the last byte and recording it.
    await sql`UPDATE uploads SET status = 'uploading', finished_at = NULL, expires_at = now() + interval '1 hour' WHERE id = ${id}`;
    const res = await head(url, token);
    expect(res.status).toBe(200);
    expect(res.header('upload-offset')).toBe('3');
    expect(await row(id)).toMatchObject({ status: 'received', size: '3' });
  });

  it('a deferred length is recorded when it is declared, and checked against the offset', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: 'deferred' });
    expect((await patch(url, token, 0, Buffer.alloc(50))).status).toBe(204);
    const below = await patch(url, token, 50, Buffer.alloc(0), { 'Upload-Length': '49' });
    expect(below.status).toBe(400);
    expect(below.json().code).toBe('INVALID_UPLOAD_LENGTH');
    const declared = await patch(url, token, 50, Buffer.alloc(10), { 'Upload-Length': '100' });
    expect(declared.status).toBe(204);
    expect(await row(id)).toMatchObject({ status: 'uploading', size: '100' });
    // "Once set the length MUST NOT be changed."
    const again = await patch(url, token, 60, Buffer.alloc(0), { 'Upload-Length': '101' });
    expect(again.status).toBe(400);
    expect(again.json().code).toBe('UPLOAD_LENGTH_ALREADY_SET');
    // The same length is no change: a chunk refused by its checksum is resent with it (tus-checksum.test.ts).
    expect(await patch(url, token, 60, Buffer.alloc(0), { 'Upload-Length': '100' })).toMatchObject({ status: 204, offset: 60 });
  });

  it('an upload past its expiry is gone (410) before the sweep removes it', async () => {
    const proxiedToken = await proxied.token(user);
    const { url, id } = await createUpload(proxied.tusEndpoint, proxiedToken, { length: 100 });
    expect((await patch(url, proxiedToken, 0, Buffer.alloc(10))).status).toBe(204);
    await new Promise((r) => setTimeout(r, 1500));
    const late = await patch(url, proxiedToken, 10, Buffer.alloc(10));
    expect(late.status).toBe(410);
    expect(late.json().code).toBe('UPLOAD_GONE');
    expect((await head(url, proxiedToken)).status).toBe(410);
    // The sweep (hourly in tests) has not run: the row is unfinished and the bytes are untouched.
    expect(await row(id)).toMatchObject({ status: 'uploading' });
    expect(await sizeOf(storedPath(proxied.dataDir, user, id))).toBe(10);
  });

  it('answers methods tus does not define on an upload URL with 405 and Allow', async () => {
    const { url } = await createUpload(server.tusEndpoint, token, { length: 10 });
    const put = await request({ method: 'PUT', url, token, headers: TUS, body: 'x' });
    expect(put.status).toBe(405);
    expect(put.header('allow')).toBe('HEAD, PATCH, DELETE, OPTIONS');
    expect(put.header('tus-resumable')).toBe('1.0.0');
    expect((await head(url, token)).header('upload-offset')).toBe('0');
  });
});
