import fs from 'node:fs/promises';
import http from 'node:http';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { storedPath } from './helpers/files.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { type HeaderValues, type RawResponse, request } from './helpers/tus.js';
import { fetchUpload } from './helpers/uploads-api.js';

/**
 * A raw client following draft-ietf-httpbis-resumable-upload at interop version 8 (drafts -09
 * to -11) step by step, the way its text describes each exchange: creation with a 104 interim
 * response, offset retrieval, append, the problem types, cancellation. Every response is checked
 * against the sentence it must satisfy. Same server, same /files/ URL as tus.
 */

const V8 = { 'Upload-Draft-Interop-Version': '8' } as const;
const MAX_UPLOAD_SIZE = 1024 * 1024;

interface Interim {
  status: number;
  headers: Record<string, string>;
}

/** One request over node:http, collecting its 1xx interim responses too. */
function exchange(method: string, url: string, token: string, headers: HeaderValues, body?: Buffer): Promise<RawResponse & { interim: Interim[] }> {
  const target = new URL(url);
  const interim: Interim[] = [];
  const all: Record<string, string | number> = { ...V8, Authorization: `Bearer ${token}` };
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) all[name] = value;
  if (body) all['Content-Length'] = body.length;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method, headers: all, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const header = (name: string) => {
          const value = res.headers[name.toLowerCase()];
          return Array.isArray(value) ? value.join(', ') : value;
        };
        const number = (name: string) => (header(name) === undefined ? undefined : Number(header(name)));
        resolve({ status: res.statusCode ?? 0, body: text, header, json: () => JSON.parse(text), offset: number('upload-offset'), length: number('upload-length'), interim });
      });
    });
    req.on('information', (info) => {
      const fields: Record<string, string> = {};
      for (let i = 0; i < info.rawHeaders.length; i += 2) fields[info.rawHeaders[i]!.toLowerCase()] = info.rawHeaders[i + 1]!;
      interim.push({ status: info.statusCode, headers: fields });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('IETF resumable uploads, interop 8: a raw client step by step', () => {
  let server: HaulServer;
  let token: string;
  let otherToken: string;
  let sql: postgres.Sql;
  // ASCII text, declared as such: the file policy's early content check lets it through, as it would for tus.
  const data = Buffer.from(Array.from({ length: 300_000 }, (_, i) => 97 + ((i * 31 + 7) % 26)));

  beforeAll(async () => {
    const databaseUrl = inject('databaseUrl');
    server = await startHaul({ env: { DATABASE_URL: databaseUrl, MAX_UPLOAD_SIZE: String(MAX_UPLOAD_SIZE) } });
    [token, otherToken] = await Promise.all([server.token('ietf8-alice@example.com'), server.token('ietf8-bob@example.com')]);
    sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), sql?.end()]);
  });

  it('OPTIONS: "the server MUST include the Accept-Patch header field" with application/partial-upload, and Upload-Limit', async () => {
    const res = await request({ method: 'OPTIONS', url: server.tusEndpoint, headers: V8 });
    expect(res.status).toBeLessThan(300);
    expect(res.header('accept-patch')).toContain('application/partial-upload');
    expect(res.header('upload-limit')).toBe(`max-size=${MAX_UPLOAD_SIZE}, min-size=0`);
  });

  it('creates in parts, retrieves the offset, appends and completes: one upload record, received like tus', async () => {
    // 1) Creation with the first part (Upload-Complete: ?0) and the length in Upload-Length.
    const first = data.subarray(0, 100_000);
    const created = await exchange('POST', server.tusEndpoint, token, {
      'Upload-Complete': '?0', 'Upload-Length': data.length, 'Content-Type': 'text/plain',
      'Content-Disposition': `inline; filename="ietf.txt"; filename*=UTF-8''ietf%20%C3%A9t%C3%A9.txt`,
    }, first);
    // "the server SHOULD announce the upload resource by sending an interim response with the
    // 104 … When sent, it MUST include Location header field … and MUST include the Upload-Limit"
    expect(created.interim).toHaveLength(1);
    const [interim] = created.interim;
    expect(interim!.status).toBe(104);
    expect(interim!.headers['upload-draft-interop-version']).toBe('8');
    expect(interim!.headers['upload-limit']).toMatch(/^max-size=1048576, min-size=0, max-age=\d+$/);
    // "…MUST include the Location response header field pointing to the upload resource and MUST
    // include the Upload-Limit header field … Servers are RECOMMENDED to use the 201 (Created)"
    expect(created.status).toBe(201);
    const location = created.header('location')!;
    // "all interim and final response messages for the same request MUST contain an identical Location value"
    expect(interim!.headers.location).toBe(location);
    expect(created.header('upload-limit')).toBeDefined();
    expect(created.header('upload-complete')).toBe('?0');
    expect(created.header('tus-resumable')).toBeUndefined();
    const id = location.split('/').pop()!;

    // 2) Offset retrieval: Upload-Offset, Upload-Complete, Upload-Length, Upload-Limit, no-store.
    let res = await exchange('HEAD', location, token, {});
    expect(res.status).toBe(204);
    expect(res.offset).toBe(first.length);
    expect(res.header('upload-complete')).toBe('?0');
    expect(res.length).toBe(data.length);
    expect(res.header('upload-limit')).toMatch(/max-age=\d+/);
    expect(res.header('cache-control')).toBe('no-store');
    // Another user's upload reads as missing.
    expect((await exchange('HEAD', location, otherToken, {})).status).toBe(404);

    // 3) Append with the wrong offset: 409, the correct offset, the problem type and its members.
    res = await exchange('PATCH', location, token, { 'Upload-Offset': 5, 'Upload-Complete': '?0', 'Content-Type': 'application/partial-upload' }, Buffer.from('xx'));
    expect(res.status).toBe(409);
    expect(res.offset).toBe(first.length);
    expect(res.header('content-type')).toContain('application/problem+json');
    expect(res.json<Record<string, unknown>>()).toMatchObject({
      type: 'https://iana.org/assignments/http-problem-types#mismatching-upload-offset', 'expected-offset': first.length, 'provided-offset': 5,
    });
    // Append without the media type: refused (415), nothing appended.
    res = await exchange('PATCH', location, token, { 'Upload-Offset': first.length, 'Upload-Complete': '?0', 'Content-Type': 'application/offset+octet-stream' }, Buffer.from('xx'));
    expect(res.status).toBe(415);
    // Inconsistent length: Upload-Complete ?1 with a Content-Length that does not end at Upload-Length.
    res = await exchange('PATCH', location, token, { 'Upload-Offset': first.length, 'Upload-Complete': '?1', 'Content-Type': 'application/partial-upload' }, Buffer.from('short'));
    expect(res.status).toBe(400);
    expect(res.json<Record<string, unknown>>().type).toBe('https://iana.org/assignments/http-problem-types#inconsistent-upload-length');
    expect((await exchange('HEAD', location, token, {})).offset).toBe(first.length);

    // 4) An intermediate append (Upload-Complete ?0), then the last (?1).
    const middle = data.subarray(first.length, 200_000);
    res = await exchange('PATCH', location, token, { 'Upload-Offset': first.length, 'Upload-Complete': '?0', 'Content-Type': 'application/partial-upload' }, middle);
    expect(res.status).toBe(204);
    expect(res.header('upload-complete')).toBe('?0');
    expect(res.offset).toBe(200_000);
    res = await exchange('PATCH', location, token, { 'Upload-Offset': 200_000, 'Upload-Complete': '?1', 'Content-Type': 'application/partial-upload' }, data.subarray(200_000));
    // "the response MUST include the Upload-Complete header field with a true value"; the
    // completing response says where the upload went (Haul-Upload), as in tus.
    expect(res.status).toBe(200);
    expect(res.header('upload-complete')).toBe('?1');
    expect(res.header('haul-upload')).toBe(`/api/uploads/${id}`);
    expect(res.header('haul-upload-events')).toBe(`/api/uploads/${id}/events`);

    res = await exchange('HEAD', location, token, {});
    expect(res.header('upload-complete')).toBe('?1');
    expect(res.offset).toBe(data.length);
    // The same record as any upload: received, with the representation's type and filename.
    const upload = await fetchUpload(server, token, id);
    expect(upload).toMatchObject({ status: 'received', size: data.length, filename: 'ietf été.txt' });
    const [row] = await sql<Array<{ filetype: string }>>`SELECT filetype FROM uploads WHERE id = ${id}`;
    expect(row!.filetype).toBe('text/plain');

    // Appending to a completed upload: "MUST treat this as an inconsistent length failure";
    // repeating the completion with an empty append gets the completion again.
    res = await exchange('PATCH', location, token, { 'Upload-Offset': data.length, 'Upload-Complete': '?1', 'Content-Type': 'application/partial-upload' }, Buffer.from('more'));
    expect(res.status).toBe(400);
    expect(res.json<Record<string, unknown>>().type).toBe('https://iana.org/assignments/http-problem-types#inconsistent-upload-length');
    res = await exchange('PATCH', location, token, { 'Upload-Offset': data.length, 'Upload-Complete': '?1', 'Content-Type': 'application/partial-upload' }, Buffer.alloc(0));
    expect(res.status).toBe(200);
    expect(res.header('upload-complete')).toBe('?1');
  });

  it('resumes a creation cut off mid-body from the Location of its 104 (draft Example 1)', async () => {
    const target = new URL(server.tusEndpoint);
    const req = http.request({
      host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent: false,
      headers: { ...V8, Authorization: `Bearer ${token}`, 'Upload-Complete': '?1', 'Content-Length': data.length },
    });
    req.on('error', () => {});
    req.on('response', (res) => res.resume());
    const location = await new Promise<string>((resolve) => {
      req.on('information', (info) => resolve(info.headers.location as string));
      req.write(data.subarray(0, 120_000));
    });
    // "If the connection to the server is interrupted, the client might want to resume the upload."
    req.destroy();
    const offset = await (async () => {
      for (;;) {
        const res = await exchange('HEAD', location, token, {});
        // The server keeps "as much of the request content as possible" once it notices the cut.
        if (res.status === 204 && res.offset! > 0) return res.offset!;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    expect(offset).toBeLessThanOrEqual(120_000);
    const head = await exchange('HEAD', location, token, {});
    expect(head.header('upload-complete')).toBe('?0');
    // The length came from Upload-Complete: ?1 with Content-Length.
    expect(head.length).toBe(data.length);
    const res = await exchange('PATCH', location, token, { 'Upload-Offset': offset, 'Upload-Complete': '?1', 'Content-Type': 'application/partial-upload' }, data.subarray(offset));
    expect(res.status).toBe(200);
    const id = location.split('/').pop()!;
    expect(await fetchUpload(server, token, id)).toMatchObject({ status: 'received', size: data.length });
    // Byte for byte what the client meant to send, the resumed part after the kept one.
    expect((await fs.readFile(storedPath(server.dataDir, 'ietf8-alice@example.com', id))).equals(data)).toBe(true);
  });

  it('takes a plain upload with Upload-Complete: ?1 in one request, its length from Content-Length', async () => {
    const res = await exchange('POST', server.tusEndpoint, token, { 'Upload-Complete': '?1', 'Content-Disposition': 'inline; filename="one.txt"' }, data);
    expect(res.interim.map((i) => i.status)).toEqual([104]);
    expect(res.status).toBe(201);
    expect(res.header('upload-complete')).toBe('?1');
    const id = res.header('location')!.split('/').pop()!;
    expect(res.header('haul-upload')).toBe(`/api/uploads/${id}`);
    expect(await fetchUpload(server, token, id)).toMatchObject({ status: 'received', size: data.length });
  });

  it('creates an empty upload resource first (Upload-Complete: ?0, no content), learns the length only at the end', async () => {
    const created = await exchange('POST', server.tusEndpoint, token, { 'Upload-Complete': '?0' });
    expect(created.status).toBe(201);
    const location = created.header('location')!;
    let res = await exchange('HEAD', location, token, {});
    expect(res.offset).toBe(0);
    expect(res.header('upload-length')).toBeUndefined();
    res = await exchange('PATCH', location, token, { 'Upload-Offset': 0, 'Upload-Complete': '?1', 'Content-Type': 'application/partial-upload' }, data.subarray(0, 1000));
    expect(res.status).toBe(200);
    expect((await exchange('HEAD', location, token, {})).length).toBe(1000);
  });

  it('refuses lengths above max-size (413 with Upload-Limit) and inconsistent indicators at creation', async () => {
    let res = await exchange('POST', server.tusEndpoint, token, { 'Upload-Complete': '?0', 'Upload-Length': MAX_UPLOAD_SIZE + 1 });
    expect(res.status).toBe(413);
    expect(res.header('upload-limit')).toContain(`max-size=${MAX_UPLOAD_SIZE}`);
    expect(res.interim).toEqual([]);
    res = await exchange('POST', server.tusEndpoint, token, { 'Upload-Complete': '?1', 'Upload-Length': 10 }, Buffer.from('eleven byte'));
    expect(res.status).toBe(400);
    expect(res.json<Record<string, unknown>>().type).toBe('https://iana.org/assignments/http-problem-types#inconsistent-upload-length');
    // Without Upload-Complete this is no resumable upload request at all.
    expect((await exchange('POST', server.tusEndpoint, token, {}, Buffer.from('x'))).status).toBe(400);
    // An interop version Haul does not speak is refused, not guessed at (and gets no 104).
    res = await exchange('POST', server.tusEndpoint, token, { 'Upload-Draft-Interop-Version': '9', 'Upload-Complete': '?1' }, Buffer.from('x'));
    expect(res.status).toBe(400);
    expect(res.interim).toEqual([]);
    expect(res.json<{ code: string }>().code).toBe('UNSUPPORTED_INTEROP_VERSION');
  });

  it("goes through tus's creation policy: a scope the caller is not a member of is refused before anything is stored", async () => {
    const scope = Buffer.from('conv:ietf-not-a-member').toString('base64');
    const res = await exchange('POST', server.tusEndpoint, token, { 'Upload-Complete': '?1', 'Upload-Metadata': `filename ${Buffer.from('s.txt').toString('base64')},scope ${scope}` }, Buffer.from('secret'));
    expect(res.status).toBe(403);
    expect(res.json<{ code: string }>().code).toBe('SCOPE_FORBIDDEN');
    expect(res.interim).toEqual([]);
    expect(await sql`SELECT 1 FROM uploads WHERE scope = 'conv:ietf-not-a-member'`).toHaveLength(0);
    // The file policy's early refusals too: an executable's declared type, before a byte is stored.
    const exe = await exchange('POST', server.tusEndpoint, token, {
      'Upload-Complete': '?1', 'Content-Type': 'application/x-msdownload', 'Content-Disposition': 'inline; filename="setup.exe"',
    }, Buffer.from('MZ'));
    expect(exe.json<{ code: string }>().code).toBe('FILE_NOT_ACCEPTED');
    expect(exe.interim).toEqual([]);
  });

  it('cancels with DELETE: the resource is gone afterwards', async () => {
    const created = await exchange('POST', server.tusEndpoint, token, { 'Upload-Complete': '?0', 'Upload-Length': 10 }, Buffer.from('abc'));
    const location = created.header('location')!;
    expect((await exchange('DELETE', location, token, {})).status).toBe(204);
    expect((await exchange('HEAD', location, token, {})).status).toBe(410);
  });

  it('needs the same authentication as tus', async () => {
    const res = await exchange('POST', server.tusEndpoint, 'not-a-token', { 'Upload-Complete': '?1' }, Buffer.from('x'));
    expect(res.status).toBe(401);
    expect(res.interim).toEqual([]);
  });
});
