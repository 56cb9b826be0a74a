import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomFile, readRange, removeRandomFile, sha256File, sizeOf, type SourceFile, storedPath } from './helpers/files.js';
import { type HaulServer, startHaul, stopAndRemoveData } from './helpers/haul-server.js';
import { createUpload, offsetOf, patch, request, terminate, TUS, uploadRest } from './helpers/tus.js';
import { partialPatch } from './helpers/tus-interrupted.js';
import { sleep } from './helpers/wait.js';

/**
 * Hostile and broken requests: each gets a clear 4xx (JSON { code, message }), changes nothing,
 * and the server keeps serving — checked at the end with /healthz and a complete upload.
 * One file (over 300 lines) on purpose: every request goes to the one server, whose survival of
 * all of them the last test checks.
 */

const MiB = 2 ** 20;
const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64');

describe('bad input', () => {
  const user = 'fuzzer';
  let server: HaulServer;
  let token: string;
  let file: SourceFile;

  beforeAll(async () => {
    server = await startHaul({ env: { MAX_UPLOAD_SIZE: '1MiB', MAX_CONCURRENT_UPLOADS_PER_USER: '2' } });
    token = await server.token(user);
    file = await randomFile(MiB);
  });
  afterAll(async () => {
    await stopAndRemoveData(server);
    await removeRandomFile(file);
  });

  /** Lists what this user has on disk: refused requests must not leave anything behind. */
  const userFiles = async () => fsp.readdir(path.dirname(storedPath(server.dataDir, user, 'x'))).catch(() => [] as string[]);

  const post = (headers: Record<string, string | number | undefined>, who = token) =>
    request({ method: 'POST', url: server.tusEndpoint, token: who, headers: { ...TUS, 'Upload-Length': 100, ...headers } });

  it.each([
    ['bad base64', `filename ab$c`, 'INVALID_METADATA'],
    ['base64 of the wrong length', `filename YWJjZA`, 'INVALID_METADATA'],
    ['duplicate keys', `a ${b64('1')},a ${b64('2')}`, 'INVALID_METADATA'],
    ['an empty key', ` ${b64('1')}`, 'INVALID_METADATA'],
    ['a key with a space inside the pair', `a ${b64('1')} ${b64('2')}`, 'INVALID_METADATA'],
    ['a space after the comma', `a ${b64('1')}, b ${b64('2')}`, 'INVALID_METADATA'],
    ['a non-UTF-8 filename', `filename ${b64(Buffer.from([0xc3, 0x28]))}`, 'INVALID_METADATA'],
    ['a bad MIME type', `filetype ${b64('not a type')}`, 'INVALID_METADATA'],
    ['a value over 1 KiB', `note ${b64('x'.repeat(1025))}`, 'INVALID_METADATA'],
    ['too many keys', Array.from({ length: 33 }, (_, i) => `k${i}`).join(','), 'INVALID_METADATA'],
    ['a header over 8 KiB', Array.from({ length: 12 }, (_, i) => `k${i} ${b64('x'.repeat(700))}`).join(','), 'INVALID_METADATA'],
    ['a filename with "/"', `filename ${b64('../../etc/passwd')}`, 'INVALID_FILENAME'],
    ['a filename with "\\"', `filename ${b64('C:\\Windows\\evil.exe')}`, 'INVALID_FILENAME'],
    ['a filename with a newline', `filename ${b64('a\nb.txt')}`, 'INVALID_FILENAME'],
    ['a filename with NUL', `filename ${b64('a\u0000.txt')}`, 'INVALID_FILENAME'],
    ['a filename with DEL', `filename ${b64('a\u007f.txt')}`, 'INVALID_FILENAME'],
    ['a filename with a bidi override', `filename ${b64('invoice\u202Efdp.exe')}`, 'INVALID_FILENAME'],
    ['a filename with a zero-width space', `filename ${b64('a\u200b.txt')}`, 'INVALID_FILENAME'],
    ['a filename over 255 bytes', `filename ${b64(`${'é'.repeat(128)}.txt`)}`, 'INVALID_FILENAME'],
    ['an Uppy name with "/"', `name ${b64('a/b.txt')}`, 'INVALID_FILENAME'],
    ['the filename ".."', `filename ${b64('..')}`, 'INVALID_FILENAME'],
  ])('refuses Upload-Metadata with %s (400)', async (_, metadata, code) => {
    const res = await post({ 'Upload-Metadata': metadata });
    expect(res.status).toBe(400);
    expect(res.json().code).toBe(code);
    expect(res.header('tus-resumable')).toBe('1.0.0');
    expect(await userFiles()).toEqual([]);
  });

  it('accepts a filename of exactly 255 bytes and non-ASCII names', async () => {
    for (const name of [`${'é'.repeat(125)}.txt1`, 'Ünïcödé 文件 🎉.pdf']) {
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
      const { url } = await createUpload(server.tusEndpoint, token, { length: 10, metadata: { filename: name } });
      expect((await terminate(url, token)).status).toBe(204);
    }
  });

  it('survives a header block beyond what Node accepts (431 or a closed connection)', async () => {
    const metadata = `note ${b64('x'.repeat(48 * 1024))}`;
    const outcome = await post({ 'Upload-Metadata': metadata }).then((r) => r.status, (e: Error) => e.message);
    expect([431, 400, 'socket hang up', 'read ECONNRESET']).toContain(outcome);
    expect((await request({ method: 'GET', url: `${server.url}/healthz` })).status).toBe(200);
  });

  it.each([['-1'], ['abc'], ['1e3'], [''], ['1.5'], ['0x10'], ['007'], ['99999999999999999999']])(
    'refuses Upload-Length "%s" (400, JSON)',
    async (length) => {
      const res = await post({ 'Upload-Length': length });
      expect(res.status).toBe(400);
      expect(res.json().code).toBe('INVALID_UPLOAD_LENGTH');
    },
  );

  it('refuses both or neither of Upload-Length and Upload-Defer-Length, and a defer value other than 1', async () => {
    for (const headers of [
      { 'Upload-Length': 10, 'Upload-Defer-Length': '1' },
      { 'Upload-Length': undefined },
      { 'Upload-Length': undefined, 'Upload-Defer-Length': '0' },
      { 'Upload-Length': undefined, 'Upload-Defer-Length': 'yes' },
    ]) {
      const res = await post(headers);
      expect(res.status, JSON.stringify(headers)).toBe(400);
      expect(res.json().code, JSON.stringify(headers)).toBe('INVALID_UPLOAD_LENGTH');
    }
    expect(await userFiles()).toEqual([]);
  });

  it('answers other malformed tus headers with 400 and JSON too', async () => {
    const proto = await post({ 'X-Forwarded-Proto': 'ftp' });
    expect(proto.status).toBe(400);
    expect(proto.json().code).toBe('INVALID_HEADER');
    const version = await post({ 'Tus-Version': '0.2.2' });
    expect(version.status).toBe(400);
    expect(version.json().code).toBe('INVALID_HEADER');
    expect(await userFiles()).toEqual([]);
  });

  it('refuses an Upload-Length above MAX_UPLOAD_SIZE with 413 (and takes exactly the maximum)', async () => {
    const res = await post({ 'Upload-Length': MiB + 1 });
    expect(res.status).toBe(413);
    expect(res.json().code).toBe('UPLOAD_TOO_LARGE');
    expect(await userFiles()).toEqual([]);

    const { url, id } = await createUpload(server.tusEndpoint, token, { length: MiB });
    await uploadRest(url, token, file, { from: 0, chunkSize: 512 * 1024 });
    expect(await sha256File(storedPath(server.dataDir, user, id))).toBe(file.sha256);
  });

  it('refuses a deferred upload that grows beyond MAX_UPLOAD_SIZE', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: 'deferred' });
    const declared = await patch(url, token, 0, Buffer.alloc(10), { 'Upload-Length': String(MiB + 1) });
    expect(declared.status).toBe(413);
    const over = await patch(url, token, 0, Buffer.alloc(MiB + 1));
    expect(over.status).toBe(413);
    expect(await offsetOf(url, token)).toBeLessThanOrEqual(MiB);
    expect(await sizeOf(storedPath(server.dataDir, user, id))).toBeLessThanOrEqual(MiB);
    await terminate(url, token);
  });

  it('PATCH problems: wrong offset 409, missing/wrong Content-Type, missing offset, body beyond Upload-Length', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: 1000 });
    const stored = storedPath(server.dataDir, user, id);
    const body = Buffer.alloc(100, 1);

    const wrongOffset = await patch(url, token, 5, body);
    expect(wrongOffset.status).toBe(409);
    expect(wrongOffset.json().code).toBe('OFFSET_MISMATCH');

    const noType = await patch(url, token, 0, body, { 'Content-Type': undefined });
    expect([400, 403, 415]).toContain(noType.status);
    expect(noType.json().code).toBe('INVALID_CONTENT_TYPE');

    const wrongType = await patch(url, token, 0, body, { 'Content-Type': 'text/plain' });
    expect([400, 403, 415]).toContain(wrongType.status);
    expect(wrongType.json().code).toBe('INVALID_CONTENT_TYPE');

    const noOffset = await request({
      method: 'PATCH', url, token, body, headers: { ...TUS, 'Content-Type': 'application/offset+octet-stream' },
    });
    expect(noOffset.status).toBe(403);
    expect(noOffset.json().code).toBe('MISSING_OFFSET');

    const badOffset = await patch(url, token, 0, body, { 'Upload-Offset': '-1' });
    expect(badOffset.status).toBe(400);
    expect(badOffset.json().code).toBe('INVALID_HEADER');

    const tooLong = await patch(url, token, 0, Buffer.alloc(1001, 2));
    expect(tooLong.status).toBe(413);
    expect(tooLong.json().code).toBe('UPLOAD_TOO_LARGE');

    const lengthAgain = await patch(url, token, 0, body, { 'Upload-Length': '2000' });
    expect(lengthAgain.status).toBe(400);

    // None of that wrote a byte.
    expect(await offsetOf(url, token)).toBe(0);
    expect(await sizeOf(stored)).toBe(0);

    // Finish it, then a PATCH beyond the end is refused and the file stays as it was.
    const whole = Buffer.alloc(1000, 3);
    expect((await patch(url, token, 0, whole)).status).toBe(204);
    const beyond = await patch(url, token, 1000, Buffer.alloc(10));
    expect(beyond.status).toBe(413);
    expect(await sizeOf(stored)).toBe(1000);
  });

  it('answers upload URLs that are not upload ids with 404', async () => {
    const paths = [
      '/files/..%2F..%2Fetc%2Fpasswd',
      '/files/../../etc/passwd',
      '/files/..%2f',
      '/files/abc%2Fdef',
      '/files/%2E%2E%2F%2E%2E%2Fdata',
      `/files/${'a'.repeat(23)}`,
      `/files/${'a'.repeat(25)}`,
      `/files/${'a'.repeat(4000)}`,
      `/files/${'A'.repeat(24)}`, // well-formed, does not exist
      `/files/${'A'.repeat(20)}%00AB`,
      '/files/a/b',
      `/files/${userKeyPath()}`,
    ];
    for (const p of paths) {
      for (const method of ['HEAD', 'PATCH', 'DELETE']) {
        const res = await request({
          method, url: server.url, path: p, token, body: method === 'PATCH' ? Buffer.alloc(1) : undefined,
          headers: { ...TUS, 'Upload-Offset': method === 'PATCH' ? 0 : undefined, 'Content-Type': method === 'PATCH' ? 'application/offset+octet-stream' : undefined },
        });
        expect(res.status, `${method} ${p.slice(0, 60)}`).toBe(404);
      }
    }
  });

  it('answers POST on an upload URL with 405 and GET on it with 405 for the owner', async () => {
    const { url } = await createUpload(server.tusEndpoint, token, { length: 10 });
    const postIt = await request({ method: 'POST', url, token, headers: { ...TUS, 'Upload-Length': 10 } });
    expect(postIt.status).toBe(405);
    expect(postIt.json().code).toBe('METHOD_NOT_ALLOWED');
    expect(postIt.header('allow')).toContain('PATCH');
    const getIt = await request({ method: 'GET', url, token });
    expect(getIt.status).toBe(405);
    expect(getIt.header('allow')).toContain('HEAD');
    const trace = await request({ method: 'POST', url, token, headers: { ...TUS, 'X-HTTP-Method-Override': 'TRACE' } });
    expect(trace.status).toBe(405);
    expect((await terminate(url, token)).status).toBe(204);
  });

  it('caps unfinished uploads per user: the third POST gets 429 with Retry-After, until one is done', async () => {
    const capped = await server.token('capped-user');
    const other = await server.token('other-user');
    const first = await createUpload(server.tusEndpoint, capped, { length: 100 });
    await createUpload(server.tusEndpoint, capped, { length: 100 });

    const third = await post({ 'Upload-Length': 100 }, capped);
    expect(third.status).toBe(429);
    expect(third.json().code).toBe('TOO_MANY_UPLOADS');
    expect(Number(third.header('retry-after'))).toBeGreaterThan(0);
    // Also with a body (creation-with-upload) and with deferred length.
    expect((await post({ 'Upload-Length': undefined, 'Upload-Defer-Length': '1' }, capped)).status).toBe(429);
    // Other users are not affected.
    await createUpload(server.tusEndpoint, other, { length: 100 });

    // Finishing one frees a slot; so does terminating one.
    expect((await patch(first.url, capped, 0, Buffer.alloc(100))).status).toBe(204);
    const fourth = await createUpload(server.tusEndpoint, capped, { length: 100 });
    expect((await post({}, capped)).status).toBe(429);
    expect((await terminate(fourth.url, capped)).status).toBe(204);
    await createUpload(server.tusEndpoint, capped, { length: 100 });
  });

  it('answers malformed JSON to POST /api/dev/token with 400', async () => {
    const tokenUrl = `${server.url}/api/dev/token`;
    for (const body of ['{"user":', 'not json', '', '[]', '{"user":""}', '{"user":"a/b"}', `{"user":"${'a'.repeat(65)}"}`, '{"user":42}']) {
      const res = await request({ method: 'POST', url: tokenUrl, body, headers: { 'Content-Type': 'application/json' } });
      expect(res.status, body).toBe(400);
      expect(res.json().code, body).toBe('INVALID_REQUEST');
    }
    const huge = await request({ method: 'POST', url: tokenUrl, body: `{"user":"${'a'.repeat(100_000)}"}` });
    expect(huge.status).toBe(400);
  });

  it('shrugs off clients that disconnect mid-body, over and over', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: file.size });
    for (let i = 0; i < 15; i++) {
      const offset = await offsetOf(url, token);
      const send = Math.min(20_000 + i * 7_000, file.size - offset - 1);
      const req = await partialPatch(url, token, file.path, { offset, send, declared: file.size - offset });
      if (i % 3 !== 0) await sleep(20);
      await req.abort();
    }
    // Creation-with-upload cut off mid-body, too.
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const u = new URL(server.tusEndpoint);
        const req = http.request({
          host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false,
          headers: {
            ...TUS, Authorization: `Bearer ${token}`, 'Upload-Length': 1000,
            'Content-Type': 'application/offset+octet-stream', 'Content-Length': 1000,
          },
        });
        req.on('error', () => resolve());
        req.on('close', () => resolve());
        req.write(Buffer.alloc(100));
        setTimeout(() => req.destroy(), 30);
      });
    }
    expect(server.process.exitCode).toBeNull();
    expect((await request({ method: 'GET', url: `${server.url}/healthz` })).status).toBe(200);
    // The upload that took the beating still resumes to the identical file.
    const offset = await offsetOf(url, token);
    expect(await sizeOf(storedPath(server.dataDir, user, id))).toBe(offset);
    await uploadRest(url, token, file, { from: offset, chunkSize: 256 * 1024 });
    expect(await sha256File(storedPath(server.dataDir, user, id))).toBe(file.sha256);
  });

  // Last: after all of the above, the server still does its job.
  it('still serves: /healthz, /readyz and a complete upload', async () => {
    expect(server.process.exitCode).toBeNull();
    expect((await request({ method: 'GET', url: `${server.url}/healthz` })).status).toBe(200);
    expect((await request({ method: 'GET', url: `${server.url}/readyz` })).status).toBe(200);
    const fresh = await server.token('after-the-storm');
    const whole = await readRange(file.path, 0, file.size);
    const { url, id } = await createUpload(server.tusEndpoint, fresh, {
      length: file.size, body: whole, metadata: { filename: 'fine.bin' },
    });
    expect(await offsetOf(url, fresh)).toBe(file.size);
    expect(await sha256File(storedPath(server.dataDir, 'after-the-storm', id))).toBe(file.sha256);
    expect(server.logs()).not.toMatch(/"level":"error"/);
  });

  /** A path that names a storage directory rather than an upload id. */
  function userKeyPath() {
    return path.basename(path.dirname(storedPath(server.dataDir, user, 'x')));
  }
});
