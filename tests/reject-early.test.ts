import fs from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverConfigSchema, uploadSchema } from '@haul/api';
import { userStorageKey } from '../server/src/auth/user.js';
import { elfBinary, noisePng } from './helpers/fixtures.js';
import { type LibraryServer, startLibraryServer, stopAll } from './helpers/library-server.js';
import { createUpload, encodeMetadata, head, patch, request, TUS } from './helpers/tus.js';

/**
 * Reject early: what can be known at creation is refused at creation (declared type against the
 * allowlist, declared size against its category's limit), and a forbidden or spoofed file is
 * refused from its first bytes, within its first PATCH — 415 FILE_NOT_ACCEPTED with the reason,
 * the connection closed on the rest of the body, the upload rejected and its bytes removed.
 */

const MiB = 2 ** 20;
let server: LibraryServer;
let token: string;

beforeAll(async () => {
  server = await startLibraryServer({ MAX_IMAGE_SIZE: '1MiB', MAX_FILE_SIZE_DEFAULT: '300MiB' });
  token = await server.token('rita');
});
afterAll(stopAll);

const post = (headers: Record<string, string | number>, target = server) =>
  request({ method: 'POST', url: target.endpoint, token, headers: { ...TUS, ...headers } });

const record = async (id: string, target = server, bearer = token) =>
  uploadSchema.parse(await (await fetch(`${target.url}/api/uploads/${id}`, { headers: { Authorization: `Bearer ${bearer}` } })).json());

const storedFile = (id: string, target = server) => path.join(target.dataDir, 'files', userStorageKey('rita'), id);
const exists = (file: string) => fs.stat(file).then(() => true, () => false);

/**
 * One PATCH of `total` bytes starting with `head`, produced lazily (never in memory): the answer,
 * and how many bytes the body had produced when it came (what the server took, plus what sat in
 * socket buffers on the way).
 */
function streamingPatch(url: string, total: number, first: Buffer) {
  let produced = 0;
  const chunk = Buffer.alloc(256 * 1024, 0x41);
  const body = new Readable({
    read() {
      if (produced >= total) return void this.push(null);
      const next = produced === 0 ? first : chunk.subarray(0, Math.min(chunk.length, total - produced));
      produced += next.length;
      this.push(next);
    },
  });
  return new Promise<{ status: number; code: string; connection: string | undefined; producedAtAnswer: number }>((resolve, reject) => {
    const target = new URL(url);
    const req = http.request({
      host: target.hostname, port: target.port, path: target.pathname, method: 'PATCH', agent: false,
      headers: { ...TUS, Authorization: `Bearer ${token}`, 'Upload-Offset': 0, 'Content-Type': 'application/offset+octet-stream', 'Content-Length': total },
    }, (res) => {
      const producedAtAnswer = produced;
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        body.destroy();
        resolve({ status: res.statusCode!, code: (JSON.parse(text) as { code: string }).code, connection: res.headers.connection, producedAtAnswer });
      });
    });
    // The server closes the connection on the unread rest: the request side may see EPIPE/ECONNRESET.
    req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
    body.pipe(req);
  });
}

describe('refused from the first bytes', () => {
  it('an ELF executable named photo.png in a 200 MiB upload is refused after its first few MiB', async () => {
    const total = 200 * MiB;
    const created = await createUpload(server.endpoint, token, { length: total, metadata: { filename: 'photo.png' } });
    const answer = await streamingPatch(created.url, total, elfBinary(64 * 1024));
    expect(answer).toMatchObject({ status: 415, code: 'FILE_NOT_ACCEPTED', connection: 'close' });
    // What the client had produced when the answer came bounds what the server took.
    expect(answer.producedAtAnswer).toBeLessThanOrEqual(8 * MiB);
    console.info(`ELF in 200 MiB: answered after ${(answer.producedAtAnswer / MiB).toFixed(2)} MiB had been sent`);

    expect(await record(created.id)).toMatchObject({ status: 'rejected', detectedType: 'application/x-elf', reason: expect.stringMatching(/executable/) });
    expect(await exists(storedFile(created.id))).toBe(false);
    // Nothing to resume: the upload is gone, and says why.
    const again = await head(created.url, token);
    expect(again.status).toBe(410);
  });

  it('a PDF named cat.png (allowed type, spoofed name) is refused in its first PATCH, nothing stored', async () => {
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
    const created = await createUpload(server.endpoint, token, { length: pdf.length, metadata: { filename: 'cat.png', filetype: 'image/png' } });
    const refused = await patch(created.url, token, 0, pdf);
    expect([refused.status, refused.json()]).toEqual([415, { code: 'FILE_NOT_ACCEPTED', message: 'Refused from its first bytes: declared as image/png but the content is application/pdf' }]);
    expect(await record(created.id)).toMatchObject({ status: 'rejected', detectedType: 'application/pdf' });
    expect(await exists(storedFile(created.id))).toBe(false);
  });

  it('creation-with-upload is checked the same way; a real PNG passes', async () => {
    const withElf = await request({
      method: 'POST', url: server.endpoint, token, body: elfBinary(4096),
      headers: { ...TUS, 'Upload-Length': 4096, 'Upload-Metadata': encodeMetadata({ filename: 'x.png' }), 'Content-Type': 'application/offset+octet-stream' },
    });
    expect([withElf.status, withElf.json().code]).toEqual([415, 'FILE_NOT_ACCEPTED']);
    const png = await noisePng(32, 32);
    const created = await createUpload(server.endpoint, token, { length: png.length, metadata: { filename: 'ok.png', filetype: 'image/png' } });
    expect((await patch(created.url, token, 0, png)).status).toBe(204);
    expect((await record(created.id)).status).toBe('received');
  });

  it('a first PATCH too short to judge a type leaves it to processing, but an executable is refused from any length', async () => {
    const png = await noisePng(256, 256);
    expect(png.length).toBeGreaterThan(70_000);
    const created = await createUpload(server.endpoint, token, { length: png.length, metadata: { filename: 'named.pdf' } });
    expect((await patch(created.url, token, 0, png.subarray(0, 1000))).status).toBe(204);
    const elf = await createUpload(server.endpoint, token, { length: 100_000, metadata: { filename: 'tool.txt' } });
    expect((await patch(elf.url, token, 0, elfBinary(1000))).status).toBe(415);
  });
});

describe('refused at creation', () => {
  it('a declared type outside the allowlist (415), an executable declared type (415), an image over MAX_IMAGE_SIZE (413)', async () => {
    const tar = await post({ 'Upload-Length': 10, 'Upload-Metadata': encodeMetadata({ filename: 'a.tar', filetype: 'application/x-tar' }) });
    expect([tar.status, tar.json()]).toEqual([415, { code: 'FILE_NOT_ACCEPTED', message: 'Files of type application/x-tar are not accepted here' }]);
    const exe = await post({ 'Upload-Length': 10, 'Upload-Metadata': encodeMetadata({ filetype: 'application/x-msdownload' }) });
    expect([exe.status, exe.json().code]).toEqual([415, 'FILE_NOT_ACCEPTED']);
    expect((await post({ 'Upload-Length': MiB, 'Upload-Metadata': encodeMetadata({ filetype: 'image/jpg' }) })).status).toBe(201);
    const big = await post({ 'Upload-Length': MiB + 1, 'Upload-Metadata': encodeMetadata({ filetype: 'image/jpg' }) });
    expect([big.status, big.json().code]).toEqual([413, 'UPLOAD_TOO_LARGE']);
    // A deferred length is checked the same way when declared.
    const deferred = await createUpload(server.endpoint, token, { length: 'deferred', metadata: { filetype: 'image/png' } });
    const declared = await patch(deferred.url, token, 0, Buffer.alloc(0), { 'Upload-Length': MiB + 1 });
    expect([declared.status, declared.json().code]).toEqual([413, 'UPLOAD_TOO_LARGE']);
  });

  it('/api/config and Tus-Max-Size report the real maximum', async () => {
    const images = await startLibraryServer({ ALLOWED_TYPES: 'image', MAX_IMAGE_SIZE: '2MiB' });
    const config = serverConfigSchema.parse(await (await fetch(`${images.url}/api/config`)).json());
    expect(config).toMatchObject({ maxUploadSize: 2 * MiB, maxImageSize: 2 * MiB });
    const options = await request({ method: 'OPTIONS', url: images.endpoint });
    expect(options.header('tus-max-size')).toBe(String(2 * MiB));
  });
});

describe('ALLOWED_TYPES=*', () => {
  it('takes anything, recognisable or not, but never an executable', async () => {
    const any = await startLibraryServer({ ALLOWED_TYPES: '*' });
    const bearer = await any.token('rita');
    const config = serverConfigSchema.parse(await (await fetch(`${any.url}/api/config`)).json());
    expect(config.allowedTypes).toEqual({ categories: ['*'], mimeTypes: [], extensions: [] });
    const data = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 256));
    const dataset = await createUpload(any.endpoint, bearer, { length: data.length, metadata: { filename: 'set.parquet', filetype: 'application/x-parquet' } });
    expect((await patch(dataset.url, bearer, 0, data)).status).toBe(204);
    const refused = await request({ method: 'POST', url: any.endpoint, token: bearer, headers: { ...TUS, 'Upload-Length': 10, 'Upload-Metadata': encodeMetadata({ filetype: 'application/x-elf' }) } });
    expect(refused.status).toBe(415);
    const elf = await createUpload(any.endpoint, bearer, { length: 8192, metadata: { filename: 'backup.bin' } });
    const answer = await patch(elf.url, bearer, 0, elfBinary(8192));
    expect([answer.status, answer.json().code]).toEqual([415, 'FILE_NOT_ACCEPTED']);
    expect((await record(elf.id, any, bearer)).status).toBe('rejected');
  });
});
