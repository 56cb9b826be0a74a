import { NO_MEDIA } from '@haul/api';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { HaulError } from '../errors.js';
import type { Storage } from '../storage/storage.js';
import type { UploadRecord, UploadStatus } from '../uploads/upload-repository.js';
import { assertDownloadable, contentDisposition, fileHeaders, parseRange, serveFile } from './serve-file.js';

const upload = (over: Partial<UploadRecord> = {}): UploadRecord => ({
  id: 'AAAAAAAAAAAAAAAAAAAAAAAA',
  ownerId: 'alice',
  storageKey: 'key/AAAAAAAAAAAAAAAAAAAAAAAA',
  filename: 'report.txt',
  filetype: 'text/plain',
  metadata: {},
  size: 1000,
  offset: 1000,
  status: 'ready',
  createdAt: new Date('2030-01-01T00:00:00Z'),
  updatedAt: new Date('2030-01-01T00:00:05Z'),
  finishedAt: new Date('2030-01-01T00:00:01.500Z'),
  expiresAt: null,
  concatRole: null,
  partialIds: null,
  detectedType: 'text/plain',
  sha256: 'ab'.repeat(32),
  statusReason: null,
  scanned: true,
  processedAt: new Date('2030-01-01T00:00:02Z'),
  scope: null,
  deletedAt: null,
  media: { ...NO_MEDIA },
  activeContent: null,
  ...over,
});

/** The 416 error parseRange throws, or undefined if it returned. */
function rangeError(header: string, size: number): HaulError | undefined {
  try {
    parseRange(header, size);
  } catch (error) {
    return error as HaulError;
  }
  return undefined;
}

describe('parseRange', () => {
  it.each([
    ['bytes=0-99', 1000, { start: 0, end: 99 }],
    ['bytes=-100', 1000, { start: 900, end: 999 }],
    ['bytes=100-', 1000, { start: 100, end: 999 }],
    ['bytes=0-0', 1000, { start: 0, end: 0 }],
    ['bytes=999-', 1000, { start: 999, end: 999 }],
    ['bytes=990-5000', 1000, { start: 990, end: 999 }],
    ['bytes=-5000', 1000, { start: 0, end: 999 }],
    ['bytes=5-5', 6, { start: 5, end: 5 }],
    ['  bytes=1-2  ', 10, { start: 1, end: 2 }],
    ['bytes=0-99999999999999999999', 10, { start: 0, end: 9 }],
  ])('%j of %i bytes → %o', (header, size, expected) => expect(parseRange(header, size)).toEqual(expected));

  // RFC 9110 §14.2: a server may ignore Range; Haul does so for what it does not support.
  it.each([undefined, '', 'bytes=0-9,20-29', 'items=0-9', 'bytes=abc', 'bytes=-', 'bytes=1-2-3', 'bytes = 0-1', 'bytes=0x10-'])(
    '%j → the whole file',
    (header) => expect(parseRange(header, 1000)).toBeUndefined(),
  );

  it.each([
    ['bytes=1000-', 1000],
    ['bytes=1000-2000', 1000],
    ['bytes=-0', 1000],
    ['bytes=200-100', 1000],
    ['bytes=0-', 0],
    ['bytes=-1', 0],
  ])('%j of %i bytes → 416 with Content-Range bytes */size', (header, size) => {
    const error = rangeError(header, size);
    expect(error).toBeInstanceOf(HaulError);
    expect(error).toMatchObject({ code: 'RANGE_NOT_SATISFIABLE', status: 416, headers: { 'Content-Range': `bytes */${size}` } });
  });
});

describe('contentDisposition', () => {
  const extendedName = (value: string) => decodeURIComponent(/filename\*=UTF-8''(\S+)$/.exec(value)![1]!);

  it('ASCII names: attachment, the same name twice', () => {
    expect(contentDisposition(upload({ filename: 'report.txt' }))).toBe(`attachment; filename="report.txt"; filename*=UTF-8''report.txt`);
  });

  it('non-ASCII names: an ASCII fallback and the exact name in RFC 8187 encoding', () => {
    const name = 'Résumé 報告 ñ.txt';
    const value = contentDisposition(upload({ filename: name }));
    expect(value).toBe(`attachment; filename="Resume  n.txt"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%E5%A0%B1%E5%91%8A%20%C3%B1.txt`);
    expect(extendedName(value)).toBe(name);
  });

  it.each([
    'a"b.txt', 'semi;colon.txt', '100%.txt', 'back\\slash.txt', "it's (1) *.txt", 'emoji 🎉.txt', '報告.txt', '報告',
  ])('%j: nothing breaks out of the quoted fallback, filename* uses attr-chars only', (name) => {
    const value = contentDisposition(upload({ filename: name }));
    const fallback = /^attachment; filename="([^"]*)"; filename\*=UTF-8''([A-Za-z0-9!#$&+\-.^_`|~%]+)$/.exec(value);
    expect(fallback, value).not.toBeNull();
    expect(fallback![1]).toMatch(/^[\x20-\x7e]+$/);
    expect(fallback![1]).not.toMatch(/["\\%;]/);
    expect(extendedName(value)).toBe(name);
  });

  it('an all non-ASCII name falls back to "download"; no name at all uses the id', () => {
    expect(contentDisposition(upload({ filename: '報告' }))).toMatch(/^attachment; filename="download";/);
    expect(contentDisposition(upload({ filename: null }))).toBe(
      `attachment; filename="AAAAAAAAAAAAAAAAAAAAAAAA"; filename*=UTF-8''AAAAAAAAAAAAAAAAAAAAAAAA`,
    );
  });

  it.each([
    ['image/png', 'inline'], ['image/jpeg', 'inline'], ['image/gif', 'inline'], ['image/webp', 'inline'],
    ['image/avif', 'inline'], ['image/bmp', 'inline'], ['application/pdf', 'inline'],
    ['image/svg+xml', 'attachment'], ['text/html', 'attachment'], ['image/tiff', 'attachment'], ['image/heic', 'attachment'],
    ['text/plain', 'attachment'], ['application/zip', 'attachment'], [null, 'attachment'],
  ])('%s → %s', (detectedType, disposition) => {
    expect(contentDisposition(upload({ detectedType, activeContent: detectedType === 'application/pdf' ? false : null })).split(';')[0]).toBe(disposition);
  });

  it('a PDF with active content — or never inspected for it — is only an attachment', () => {
    expect(contentDisposition(upload({ detectedType: 'application/pdf', activeContent: true })).split(';')[0]).toBe('attachment');
    expect(contentDisposition(upload({ detectedType: 'application/pdf', activeContent: null })).split(';')[0]).toBe('attachment');
  });
});

describe('fileHeaders', () => {
  it('the detected type (not the declared one), sandboxed, never sniffed', () => {
    const headers = fileHeaders(upload({ filetype: 'text/plain', detectedType: 'text/csv', filename: 'a.csv' }));
    expect(headers).toMatchObject({
      'Content-Type': 'text/csv',
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'; sandbox",
    });
    expect(fileHeaders(upload({ detectedType: null }))['Content-Type']).toBe('application/octet-stream');
  });
});

describe('assertDownloadable', () => {
  it.each<[UploadStatus, string | undefined]>([
    ['ready', undefined],
    ['rejected', 'UPLOAD_NOT_DOWNLOADABLE'], ['infected', 'UPLOAD_NOT_DOWNLOADABLE'], ['failed', 'UPLOAD_NOT_DOWNLOADABLE'],
    ['expired', 'UPLOAD_NOT_DOWNLOADABLE'], ['terminated', 'UPLOAD_NOT_DOWNLOADABLE'], ['concatenated', 'UPLOAD_NOT_DOWNLOADABLE'],
    ['uploading', 'UPLOAD_NOT_READY'], ['part_received', 'UPLOAD_NOT_READY'], ['assembling', 'UPLOAD_NOT_READY'],
    ['received', 'UPLOAD_NOT_READY'], ['processing', 'UPLOAD_NOT_READY'],
  ])('%s → %s', (status, code) => {
    let error: unknown;
    try {
      assertDownloadable(upload({ status }));
    } catch (e) {
      error = e;
    }
    if (code === undefined) expect(error).toBeUndefined();
    else expect(error).toMatchObject({ code, status: code === 'UPLOAD_NOT_READY' ? 409 : 403 });
  });
});

describe('serveFile', () => {
  const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));
  const reads: Array<{ start: number; end: number } | undefined> = [];
  const disk = {
    read: async (_key: string, range?: { start: number; end: number }) => {
      reads.push(range);
      return Readable.from([range ? bytes.subarray(range.start, range.end + 1) : bytes]);
    },
  } as unknown as Storage;
  const app = (storage: Storage, record = upload()) => {
    const hono = new Hono().get('/file', (c) => serveFile(c, record, storage));
    hono.onError((error, c) => c.json({ code: (error as HaulError).code }, (error as HaulError).status as 400, (error as HaulError).headers));
    return hono;
  };
  const etag = `"${'ab'.repeat(32)}"`;

  it('200 with validators and the whole file', async () => {
    const response = await app(disk).request('/file');
    expect(response.status).toBe(200);
    expect(Object.fromEntries(response.headers)).toMatchObject({
      etag,
      'last-modified': 'Tue, 01 Jan 2030 00:00:01 GMT',
      'accept-ranges': 'bytes',
      'content-length': '1000',
      'content-type': 'text/plain',
      'x-content-type-options': 'nosniff',
    });
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('206 reads only the range from storage', async () => {
    reads.length = 0;
    const response = await app(disk).request('/file', { headers: { Range: 'bytes=10-19' } });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe('bytes 10-19/1000');
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes.subarray(10, 20))).toBe(true);
    expect(reads).toEqual([{ start: 10, end: 19 }]);
  });

  it('304s: If-None-Match decides when present; else If-Modified-Since, to the second', async () => {
    const notModified: Array<Record<string, string>> = [
      { 'If-None-Match': etag },
      { 'If-None-Match': `W/${etag}` },
      // RFC 9110 §13.1.3: with If-None-Match present, If-Modified-Since is ignored.
      { 'If-None-Match': etag, 'If-Modified-Since': 'Tue, 01 Jan 2030 00:00:00 GMT' },
      // Last-Modified has whole seconds: the finish time 00:00:01.500 is "00:00:01".
      { 'If-Modified-Since': 'Tue, 01 Jan 2030 00:00:01 GMT' },
    ];
    const modified: Array<Record<string, string>> = [
      { 'If-None-Match': '"other"', 'If-Modified-Since': 'Tue, 01 Jan 2030 00:00:05 GMT' },
      { 'If-Modified-Since': 'Tue, 01 Jan 2030 00:00:00 GMT' },
      { 'If-Modified-Since': 'not a date' },
    ];
    for (const headers of notModified) {
      const response = await app(disk).request('/file', { headers });
      expect(response.status, JSON.stringify(headers)).toBe(304);
      expect(response.headers.get('etag')).toBe(etag);
    }
    for (const headers of modified) {
      const response = await app(disk).request('/file', { headers });
      expect(response.status, JSON.stringify(headers)).toBe(200);
    }
  });

  it('If-Range: only the current ETag keeps the range (a weak one never does)', async () => {
    expect((await app(disk).request('/file', { headers: { Range: 'bytes=0-1', 'If-Range': etag } })).status).toBe(206);
    expect((await app(disk).request('/file', { headers: { Range: 'bytes=0-1', 'If-Range': `W/${etag}` } })).status).toBe(200);
    expect((await app(disk).request('/file', { headers: { Range: 'bytes=0-1', 'If-Range': '"old"' } })).status).toBe(200);
  });

  it('416 carries Content-Range', async () => {
    const response = await app(disk).request('/file', { headers: { Range: 'bytes=1000-' } });
    expect(response.status).toBe(416);
    expect(response.headers.get('content-range')).toBe('bytes */1000');
  });

  it('never serves an upload that is not ready, whatever the caller checked', async () => {
    const response = await app(disk, upload({ status: 'infected' })).request('/file');
    expect(response.status).toBe(403);
  });

  it('S3: a 302 to a presigned URL made with our Content-Type and Content-Disposition', async () => {
    const calls: unknown[] = [];
    const s3 = {
      presignDownload: async (key: string, options: unknown) => {
        calls.push({ key, options });
        return 'https://s3.example/bucket/key?X-Amz-Signature=abc';
      },
    } as unknown as Storage;
    const response = await app(s3, upload({ detectedType: 'image/png', filename: 'ü.png' })).request('/file', { headers: { Range: 'bytes=0-1' } });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('https://s3.example/bucket/key?X-Amz-Signature=abc');
    expect(response.headers.get('cache-control')).toBe('private, no-store');
    expect(calls).toEqual([
      {
        key: 'key/AAAAAAAAAAAAAAAAAAAAAAAA',
        options: {
          contentType: 'image/png',
          contentDisposition: `inline; filename="u.png"; filename*=UTF-8''%C3%BC.png`,
          expiresInSeconds: 300,
        },
      },
    ]);
  });
});
