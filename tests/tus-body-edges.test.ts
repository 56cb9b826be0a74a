import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HaulServer, startHaul, stopAndRemoveData } from './helpers/haul-server.js';
import { sizeOf, storedPath } from './helpers/files.js';
import { createUpload, head, offsetOf, request, TUS, type RawResponse } from './helpers/tus.js';

/**
 * The body path of Haul's tus handlers at its edges, on one instance with the embedded database
 * (so the in-memory locker): a PATCH asked to let go of the upload, answers given before the body
 * was read, and chunked bodies (no Content-Length) against the upload's length.
 */

const KiB = 1024;

/** A raw PATCH: Content-Length `declared` (or chunked when undefined); the body written as given, then left open or ended. */
function openPatch(url: string, token: string, offset: number, { declared, headers = {} }: { declared?: number; headers?: Record<string, string> }) {
  const target = new URL(url);
  const req = http.request({
    host: target.hostname, port: target.port, path: target.pathname, method: 'PATCH', agent: false,
    headers: {
      ...TUS, Authorization: `Bearer ${token}`, 'Upload-Offset': offset, 'Content-Type': 'application/offset+octet-stream',
      ...(declared === undefined ? {} : { 'Content-Length': declared }), ...headers,
    },
  });
  const response = new Promise<RawResponse | { error: Error }>((resolve) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({
        status: res.statusCode ?? 0, body,
        header: (name) => res.headers[name.toLowerCase()] as string | undefined,
        json: () => JSON.parse(body),
        offset: res.headers['upload-offset'] === undefined ? undefined : Number(res.headers['upload-offset']),
        length: res.headers['upload-length'] === undefined ? undefined : Number(res.headers['upload-length']),
      }));
    });
    req.on('error', (error) => resolve({ error }));
  });
  return {
    response,
    write: (chunk: Buffer) => new Promise<void>((resolve) => req.write(chunk, () => resolve())),
    end: () => req.end(),
    destroy: () => req.destroy(),
  };
}

const answered = (outcome: RawResponse | { error: Error }): RawResponse => {
  if ('error' in outcome) throw outcome.error;
  return outcome;
};

describe('tus body edges (embedded database, in-memory locks)', () => {
  const user = 'body-edges';
  let server: HaulServer;
  let token: string;

  beforeAll(async () => {
    server = await startHaul();
    token = await server.token(user);
  });
  afterAll(() => stopAndRemoveData(server));

  const stored = (id: string) => storedPath(server.dataDir, user, id);

  it('a HEAD while a stalled PATCH holds the upload ends that PATCH after its grace; its bytes are kept', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: 1024 * KiB });
    const stalled = openPatch(url, token, 0, { declared: 1024 * KiB });
    await stalled.write(Buffer.alloc(64 * KiB, 7));
    for (let i = 0; i < 100 && (await sizeOf(stored(id))) !== 64 * KiB; i++) await new Promise((r) => setTimeout(r, 20));

    const started = Date.now();
    const res = await head(url, token);
    const waited = Date.now() - started;
    expect(res.status).toBe(200);
    expect(res.header('upload-offset')).toBe(String(64 * KiB));
    // The holder had its grace (3 s) to finish, then its body was ended where it was.
    expect(waited).toBeGreaterThanOrEqual(2500);
    expect(waited).toBeLessThan(10_000);

    const released = answered(await stalled.response);
    expect(released.status).toBe(204);
    expect(released.header('upload-offset')).toBe(String(64 * KiB));
    expect(released.header('connection')).toBe('close');
    expect(await sizeOf(stored(id))).toBe(64 * KiB);
  });

  it('answers a wrong offset with 409 before reading the body, and does not keep the connection', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: 4096 * KiB });
    const early = openPatch(url, token, 5, { declared: 4096 * KiB });
    void early.write(Buffer.alloc(256 * KiB));
    const res = answered(await early.response);
    early.destroy();
    expect(res.status).toBe(409);
    expect(res.json()).toMatchObject({ code: 'OFFSET_MISMATCH' });
    expect(res.header('connection')).toBe('close');
    expect(res.header('tus-resumable')).toBe('1.0.0');
    expect(await offsetOf(url, token)).toBe(0);
    expect(await sizeOf(stored(id))).toBe(0);
  });

  it('takes a chunked body (no Content-Length) up to the upload length, and refuses one past it', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: 100 * KiB });
    const within = openPatch(url, token, 0, {});
    for (let i = 0; i < 4; i++) await within.write(Buffer.alloc(10 * KiB, i));
    within.end();
    const first = answered(await within.response);
    expect(first.status).toBe(204);
    expect(first.header('upload-offset')).toBe(String(40 * KiB));

    const beyond = openPatch(url, token, 40 * KiB, {});
    for (let i = 0; i < 8; i++) await beyond.write(Buffer.alloc(10 * KiB, i));
    beyond.end();
    const refused = answered(await beyond.response);
    expect(refused.status).toBe(413);
    expect(refused.json()).toMatchObject({ code: 'UPLOAD_TOO_LARGE' });
    // What fitted may be stored (tus: keep what was received); never a byte past the length.
    const offset = await offsetOf(url, token);
    expect(offset).toBeGreaterThanOrEqual(40 * KiB);
    expect(offset).toBeLessThanOrEqual(100 * KiB);
    expect(await sizeOf(stored(id))).toBe(offset);
  });

  it('takes a chunked body for a deferred length and the length in the last PATCH', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: 'deferred' });
    const chunked = openPatch(url, token, 0, { headers: { 'Upload-Length': String(30 * KiB) } });
    for (let i = 0; i < 3; i++) await chunked.write(Buffer.alloc(10 * KiB, i));
    chunked.end();
    const res = answered(await chunked.response);
    expect(res.status).toBe(204);
    expect(res.header('upload-offset')).toBe(String(30 * KiB));
    expect(res.header('haul-upload')).toBe(`/api/uploads/${id}`);
    expect((await head(url, token)).header('upload-length')).toBe(String(30 * KiB));
  });

  it('still serves after all that', async () => {
    expect((await request({ method: 'GET', url: `${server.url}/healthz` })).status).toBe(200);
    expect(server.logs()).not.toMatch(/"level":"error"/);
  });
});
