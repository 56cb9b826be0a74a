import { createHash } from 'node:crypto';
import fsp from 'node:fs/promises';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exists, randomFile, readRange, sha256, type SourceFile, storedPath } from './helpers/files.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { localS3 } from './helpers/s3.js';
import { createUpload, head, offsetOf, patch, patchHeaders, patchFile, request, TUS, type RawResponse } from './helpers/tus.js';
import { partialPatch } from './helpers/tus-interrupted.js';

/**
 * The tus checksum and checksum-trailer extensions against a real server, on disk and on S3
 * (Swift): every algorithm valid, mismatched and unsupported, at offset 0 and mid-upload; after a
 * 460 the storage is exactly as before (the file on disk; the parts, `.part` tail and `.info` on
 * S3) and the upload goes on to byte-identical bytes; the trailer form; an aborted checksummed PATCH.
 */

const MiB = 2 ** 20;
const ALGORITHMS = ['sha1', 'sha256', 'sha512', 'md5'] as const;
const s3 = localS3();

const checksumOf = (algorithm: string, data: Buffer) => `${algorithm} ${createHash(algorithm).update(data).digest('base64')}`;
/** A well-formed checksum of other bytes: what a corrupted body looks like to the server. */
const wrongChecksum = (algorithm: string, data: Buffer) => checksumOf(algorithm, Buffer.concat([data, Buffer.from([1])]));

/** A PATCH of bytes [start, end) of the file with an Upload-Checksum of `checksum`. */
const patchChecksummed = (url: string, token: string, file: SourceFile, start: number, end: number, checksum: string) =>
  patchFile(url, token, file.path, { start, end, headers: { 'Upload-Checksum': checksum } });

/** A chunked PATCH whose Upload-Checksum comes as an HTTP trailer (checksum-trailer). */
function patchWithTrailer(url: string, token: string, offset: number, body: Buffer, trailer: string | undefined): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: target.hostname, port: target.port, path: target.pathname, method: 'PATCH', agent: false,
      // No Content-Length: trailers need chunked transfer coding.
      headers: { ...patchHeaders(offset, {}), Authorization: `Bearer ${token}`, Trailer: 'Upload-Checksum' },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        const header = (name: string) => res.headers[name.toLowerCase()] as string | undefined;
        const offsetHeader = header('upload-offset');
        resolve({ status: res.statusCode ?? 0, body: text, header, json: () => JSON.parse(text), offset: offsetHeader === undefined ? undefined : Number(offsetHeader), length: undefined });
      });
    });
    req.on('error', reject);
    req.write(body.subarray(0, body.length >> 1));
    req.write(body.subarray(body.length >> 1));
    if (trailer !== undefined) req.addTrailers({ 'Upload-Checksum': trailer });
    req.end();
  });
}

interface Backend {
  name: 'disk' | 's3';
  env(): Record<string, string>;
  /** Everything storage holds for the upload, to compare before and after a refused PATCH. */
  state(server: HaulServer, id: string): Promise<unknown>;
  /** SHA-256 (hex) of the finished upload's stored bytes. */
  storedSha256(server: HaulServer, id: string): Promise<string>;
}

const prefix = `t-checksum-${Date.now().toString(36)}/`;
const backends: Backend[] = [
  {
    name: 'disk',
    env: () => ({}),
    async state(server, id) {
      const file = storedPath(server.dataDir, 'alice', id);
      const bytes = await fsp.readFile(file);
      return { size: bytes.length, sha256: sha256(bytes), marker: await exists(`${file}.unverified`), json: await fsp.readFile(`${file}.json`, 'utf8') };
    },
    storedSha256: async (server, id) => sha256(await fsp.readFile(storedPath(server.dataDir, 'alice', id))),
  },
  {
    name: 's3',
    env: () => s3.env(prefix),
    async state(_server, id) {
      const key = s3.keyOf(prefix, 'alice', id);
      const upload = (await s3.listMultipartUploads(key)).find((u) => u.Key === key);
      const parts = upload
        ? ((await s3.client.listParts({ Bucket: s3.bucket, Key: key, UploadId: upload.UploadId })).Parts ?? []).map((p) => [p.PartNumber, p.ETag, p.Size])
        : 'completed';
      const tail = await s3.head(`${key}.part`).then((h) => [h.ETag, h.ContentLength, h.Metadata], () => null);
      const info = await s3.head(`${key}.info`).then((h) => h.ETag);
      return { parts, tail, info };
    },
    storedSha256: (_server, id) => s3.sha256(s3.keyOf(prefix, 'alice', id)),
  },
];

describe.each(backends)('tus checksums on $name', (backend) => {
  let server: HaulServer;
  let token: string;
  // Disk: small chunks. S3: the first chunk leaves a `.part` tail (below 5 MiB), the second
  // spans two whole 8 MiB parts and a new tail.
  const sizes = backend.name === 's3' ? { first: 3 * MiB + 17, total: 21 * MiB + 5 } : { first: 700_001, total: 1_500_003 };
  let file: SourceFile;
  let first: Buffer;
  let rest: Buffer;

  beforeAll(async () => {
    server = await startHaul({ env: backend.env() });
    token = await server.token('alice');
    file = await randomFile(sizes.total);
    first = await readRange(file.path, 0, sizes.first);
    rest = await readRange(file.path, sizes.first, sizes.total);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('announces checksum, checksum-trailer and sha1, sha256, sha512, md5 on OPTIONS', async () => {
    const res = await request({ method: 'OPTIONS', url: server.tusEndpoint });
    expect(res.header('tus-extension')?.split(',')).toEqual(expect.arrayContaining(['checksum', 'checksum-trailer']));
    expect(res.header('tus-checksum-algorithm')).toBe('sha1,sha256,sha512,md5');
  });

  it.each(ALGORITHMS)('%s: a mismatch at offset 0 and mid-upload is discarded (460), the valid chunks make the file', async (algorithm) => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: file.size });
    const empty = await backend.state(server, id);

    const refusedFirst = await patchChecksummed(url, token, file, 0, sizes.first, wrongChecksum(algorithm, first));
    expect(refusedFirst.status).toBe(460);
    expect(refusedFirst.json().code).toBe('CHECKSUM_MISMATCH');
    expect(await offsetOf(url, token)).toBe(0);
    expect(await backend.state(server, id)).toEqual(empty);

    const accepted = await patchChecksummed(url, token, file, 0, sizes.first, checksumOf(algorithm, first));
    expect(accepted).toMatchObject({ status: 204, offset: sizes.first });
    const midway = await backend.state(server, id);

    const refusedRest = await patchChecksummed(url, token, file, sizes.first, sizes.total, wrongChecksum(algorithm, rest));
    expect(refusedRest.status).toBe(460);
    expect(await offsetOf(url, token)).toBe(sizes.first);
    expect(await backend.state(server, id)).toEqual(midway);

    const last = await patchChecksummed(url, token, file, sizes.first, sizes.total, checksumOf(algorithm, rest));
    expect(last).toMatchObject({ status: 204, offset: file.size });
    // Item 5: the response that completes the upload says where to follow it, checksums or not.
    expect(last.header('haul-upload')).toBe(`/api/uploads/${id}`);
    expect(last.header('haul-upload-events')).toBe(`/api/uploads/${id}/events`);
    expect(await backend.storedSha256(server, id)).toBe(file.sha256);
  });

  it('refuses an unsupported algorithm (400) at offset 0 and mid-upload, before reading the body', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: file.size });
    const unsupported = await patch(url, token, 0, first.subarray(0, 64 * 1024), { 'Upload-Checksum': 'crc32 AAAAAA==' });
    expect(unsupported.status).toBe(400);
    expect(unsupported.json().code).toBe('CHECKSUM_ALGORITHM_UNSUPPORTED');
    expect(await offsetOf(url, token)).toBe(0);
    expect((await patchChecksummed(url, token, file, 0, sizes.first, checksumOf('sha256', first))).status).toBe(204);
    const midway = await backend.state(server, id);
    for (const header of ['sha3-256 AAAA', 'blake2b512 AAAA']) {
      // A short body: the answer comes before the body is read, and a long one would meet a closed socket.
      const res = await patch(url, token, sizes.first, rest.subarray(0, 64 * 1024), { 'Upload-Checksum': header });
      expect([res.status, res.json().code]).toEqual([400, 'CHECKSUM_ALGORITHM_UNSUPPORTED']);
    }
    expect(await offsetOf(url, token)).toBe(sizes.first);
    expect(await backend.state(server, id)).toEqual(midway);
  });

  it('refuses a malformed Upload-Checksum (400)', async () => {
    const { url } = await createUpload(server.tusEndpoint, token, { length: file.size });
    const digest = createHash('sha256').update(first).digest('base64');
    for (const header of ['sha256', `sha256  ${digest}`, `SHA256 ${digest}`, 'sha256 not*base64', `sha256 ${digest.slice(4)}`, `sha256 ${digest} x`]) {
      const res = await patch(url, token, 0, first.subarray(0, 64 * 1024), { 'Upload-Checksum': header });
      expect([header, res.status, res.json().code]).toEqual([header, 400, 'INVALID_CHECKSUM']);
    }
    expect(await offsetOf(url, token)).toBe(0);
  });

  it('verifies creation-with-upload; a refused first chunk leaves the upload at 0 and says where it is', async () => {
    const good = await createUpload(server.tusEndpoint, token, { length: file.size, body: first, headers: { 'Upload-Checksum': checksumOf('sha1', first) } });
    expect(good.response.offset).toBe(sizes.first);
    expect(await offsetOf(good.url, token)).toBe(sizes.first);
    // A whole upload in its POST: the 201 that completes it carries Haul-Upload (item 5).
    const whole = await createUpload(server.tusEndpoint, token, { length: first.length, body: first, headers: { 'Upload-Checksum': checksumOf('sha512', first) } });
    expect(whole.response.offset).toBe(first.length);
    expect(whole.response.header('haul-upload')).toBe(`/api/uploads/${whole.id}`);
    expect(whole.response.header('haul-upload-events')).toBe(`/api/uploads/${whole.id}/events`);

    const refused = await request({
      method: 'POST', url: server.tusEndpoint, token, body: first,
      headers: { ...TUS, 'Upload-Length': file.size, 'Content-Type': 'application/offset+octet-stream', 'Upload-Checksum': wrongChecksum('sha1', first) },
    });
    expect(refused.status).toBe(460);
    const location = refused.header('location');
    expect(location).toBeDefined();
    expect(await offsetOf(new URL(location!, server.tusEndpoint).toString(), token)).toBe(0);
  });

  it('a refused last chunk that declared the deferred length is taken when resent with the same length', async () => {
    const { url } = await createUpload(server.tusEndpoint, token, { length: 'deferred' });
    expect((await patchChecksummed(url, token, file, 0, sizes.first, checksumOf('sha256', first))).status).toBe(204);
    const declare = (checksum: string) =>
      patchFile(url, token, file.path, { start: sizes.first, end: sizes.total, headers: { 'Upload-Checksum': checksum, 'Upload-Length': file.size } });
    expect((await declare(wrongChecksum('sha256', rest))).status).toBe(460);
    expect(await offsetOf(url, token)).toBe(sizes.first);
    const resent = await declare(checksumOf('sha256', rest));
    expect(resent).toMatchObject({ status: 204, offset: file.size });
    expect(resent.header('haul-upload')).toBeDefined();
  });

  it('takes the checksum as a trailer (checksum-trailer): valid, mismatched, missing', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: file.size });
    const mismatched = await patchWithTrailer(url, token, 0, first, wrongChecksum('md5', first));
    expect(mismatched.status).toBe(460);
    const missing = await patchWithTrailer(url, token, 0, first, undefined);
    expect([missing.status, missing.json().code]).toEqual([400, 'INVALID_CHECKSUM']);
    const unsupported = await patchWithTrailer(url, token, 0, first, 'crc32 AAAAAA==');
    expect([unsupported.status, unsupported.json().code]).toEqual([400, 'CHECKSUM_ALGORITHM_UNSUPPORTED']);
    expect(await offsetOf(url, token)).toBe(0);

    expect(await patchWithTrailer(url, token, 0, first, checksumOf('sha512', first))).toMatchObject({ status: 204, offset: sizes.first });
    const midway = await backend.state(server, id);
    expect((await patchWithTrailer(url, token, sizes.first, rest, wrongChecksum('sha256', rest))).status).toBe(460);
    expect(await backend.state(server, id)).toEqual(midway);
    const last = await patchWithTrailer(url, token, sizes.first, rest, checksumOf('sha256', rest));
    expect(last).toMatchObject({ status: 204, offset: file.size });
    expect(last.header('haul-upload')).toBe(`/api/uploads/${id}`);
    expect(await backend.storedSha256(server, id)).toBe(file.sha256);
  });

  it('discards an aborted checksummed PATCH (it cannot be verified), then the upload continues', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: file.size });
    expect((await patchChecksummed(url, token, file, 0, sizes.first, checksumOf('sha256', first))).status).toBe(204);
    const midway = await backend.state(server, id);

    const cut = await partialPatch(url, token, file.path, {
      offset: sizes.first, send: (rest.length >> 1) & ~0x3ffff, declared: rest.length, headers: { 'Upload-Checksum': checksumOf('sha256', rest) },
    });
    // Let the server take in what was sent, then drop the connection mid-body.
    await new Promise((r) => setTimeout(r, 300));
    await cut.abort();
    // HEAD waits for the lock the aborted PATCH held: by then its bytes were cut off again.
    expect((await head(url, token)).offset).toBe(sizes.first);
    expect(await backend.state(server, id)).toEqual(midway);

    expect((await patchChecksummed(url, token, file, sizes.first, sizes.total, checksumOf('sha256', rest))).status).toBe(204);
    expect(await backend.storedSha256(server, id)).toBe(file.sha256);
  });
});
