import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UploadJson } from '@haul/api';
import { sha256 } from './helpers/files.js';
import { asciiText, csvFile, eicarFile, elfBinary, noisePng } from './helpers/fixtures.js';
import { type HaulServer, processingEnv, startHaul } from './helpers/haul-server.js';
import { createUpload, patch, uploadBuffer } from './helpers/tus.js';
import { bearer, errorCode, LINK_SECRET, signLink, uploadReady, waitForUpload } from './helpers/uploads-api.js';

/**
 * Downloads from disk storage, by the owner and through share links: byte ranges, conditional
 * requests, the headers that keep a hostile file harmless in a browser, and what may not be
 * downloaded at all. Every file is scanned by the local clamd (scripts/local-clamd.sh).
 */

let server: HaulServer;
let alice: string;

const TEXT_NAME = 'Résumé “final”; 100% 報告.txt';
const TEXT_SIZE = 1000;
let text: UploadJson & { bytes: Buffer };
let csv: UploadJson & { bytes: Buffer };
let png: UploadJson & { bytes: Buffer };

/** The owner's download and a share link's, for each file: both must behave the same. */
type Via = 'owner' | 'link';
const VIAS: Via[] = ['owner', 'link'];
function get(via: Via, id: string, headers: Record<string, string> = {}, method = 'GET') {
  const path = via === 'owner' ? `/api/uploads/${id}/content` : signLink(id, Math.floor(Date.now() / 1000) + 600);
  return fetch(`${server.url}${path}`, { method, headers: via === 'owner' ? { ...bearer(alice), ...headers } : headers });
}
const bytesOf = async (response: Response) => Buffer.from(await response.arrayBuffer());

/** The headers every file response carries, whatever the file. */
function expectSafeHeaders(response: Response, { type, disposition }: { type: string; disposition: 'inline' | 'attachment' }) {
  expect(response.headers.get('content-type')).toBe(type);
  expect(response.headers.get('content-disposition')?.split(';')[0]).toBe(disposition);
  expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  const csp = response.headers.get('content-security-policy') ?? '';
  const directives = csp.split(';').map((d) => d.trim());
  expect(directives).toContain("default-src 'none'");
  expect(directives).toContain('sandbox');
}

beforeAll(async () => {
  server = await startHaul({ env: processingEnv({ LINK_SECRET }) });
  alice = await server.token('alice');
  const textBytes = asciiText(TEXT_SIZE);
  const csvBytes = csvFile();
  const pngBytes = await noisePng(80, 60);
  const [t, c, p] = await Promise.all([
    uploadReady(server, alice, textBytes, { filename: TEXT_NAME, filetype: 'text/plain' }),
    // Declared as text/plain; the content (and name) make it text/csv, which is what is served.
    uploadReady(server, alice, csvBytes, { filename: 'numbers.csv', filetype: 'text/plain' }),
    // No filetype, no filename: the type comes from the content alone.
    uploadReady(server, alice, pngBytes),
  ]);
  text = { ...t, bytes: textBytes };
  csv = { ...c, bytes: csvBytes };
  png = { ...p, bytes: pngBytes };
});

afterAll(async () => {
  await server?.stop();
});

describe.each(VIAS)('byte ranges (%s)', (via) => {
  const cases: Array<[string, number, number]> = [
    ['bytes=0-99', 0, 99],
    ['bytes=-100', 900, 999],
    ['bytes=100-', 100, 999],
    ['bytes=0-0', 0, 0],
    ['bytes=999-999', 999, 999],
    ['bytes=990-5000', 990, 999], // the end is clamped to the file
    ['bytes=-5000', 0, 999], // a suffix longer than the file is all of it
  ];
  it.each(cases)('%s → 206 with bytes %i-%i', async (range, start, end) => {
    const response = await get(via, text.id, { Range: range });
    expect(response.status).toBe(206);
    expect(response.headers.get('content-range')).toBe(`bytes ${start}-${end}/${TEXT_SIZE}`);
    expect(response.headers.get('content-length')).toBe(String(end - start + 1));
    expectSafeHeaders(response, { type: 'text/plain', disposition: 'attachment' });
    expect((await bytesOf(response)).equals(text.bytes.subarray(start, end + 1))).toBe(true);
  });

  it.each(['bytes=1000-', 'bytes=5000-6000', 'bytes=-0', 'bytes=200-100'])('%s → 416 with Content-Range bytes */size', async (range) => {
    const response = await get(via, text.id, { Range: range });
    expect(response.status).toBe(416);
    expect(response.headers.get('content-range')).toBe(`bytes */${TEXT_SIZE}`);
    expect(await errorCode(response)).toBe('RANGE_NOT_SATISFIABLE');
  });

  // RFC 9110 §14.2: a server may ignore a Range it does not support (several ranges, other units,
  // malformed) and send the whole representation.
  it.each(['bytes=0-9,20-29', 'bytes=0-9, 500-', 'items=0-9', 'bytes=abc', 'bytes=-'])('%s → 200 with the whole file', async (range) => {
    const response = await get(via, text.id, { Range: range });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-range')).toBeNull();
    expect(response.headers.get('content-length')).toBe(String(TEXT_SIZE));
    expect((await bytesOf(response)).equals(text.bytes)).toBe(true);
  });

  it('If-Range: the range only applies to the version (ETag) the client already has', async () => {
    const etag = `"${text.sha256}"`;
    const same = await get(via, text.id, { Range: 'bytes=10-19', 'If-Range': etag });
    expect(same.status).toBe(206);
    expect((await bytesOf(same)).equals(text.bytes.subarray(10, 20))).toBe(true);
    const changed = await get(via, text.id, { Range: 'bytes=10-19', 'If-Range': '"something-else"' });
    expect(changed.status).toBe(200);
    expect((await bytesOf(changed)).equals(text.bytes)).toBe(true);
  });
});

describe.each(VIAS)('conditional requests (%s)', (via) => {
  it('a full download carries ETag (the SHA-256), Last-Modified and Accept-Ranges', async () => {
    const response = await get(via, text.id);
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe(`"${text.sha256}"`);
    expect(response.headers.get('last-modified')).toBe(new Date(text.finishedAt!).toUTCString());
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(sha256(await bytesOf(response))).toBe(text.sha256);
  });

  it('a browser app on another origin may read the range, validators and filename', async () => {
    const response = await get(via, text.id, { Range: 'bytes=0-9', Origin: 'https://app.example' });
    expect(response.status).toBe(206);
    const exposed = (response.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/,\s*/);
    expect(exposed).toEqual(expect.arrayContaining(['content-range', 'accept-ranges', 'etag', 'last-modified', 'content-disposition']));
    await bytesOf(response);
  });

  it('If-None-Match with the ETag (strong, weak, in a list, or *) → 304 without a body', async () => {
    const etag = `"${text.sha256}"`;
    for (const value of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const response = await get(via, text.id, { 'If-None-Match': value });
      expect(response.status, value).toBe(304);
      expect(response.headers.get('etag')).toBe(etag);
      expect((await bytesOf(response)).length).toBe(0);
    }
    const other = await get(via, text.id, { 'If-None-Match': '"other"' });
    expect(other.status).toBe(200);
    expect((await bytesOf(other)).equals(text.bytes)).toBe(true);
  });

  it('If-Modified-Since → 304 unless the file changed since; If-None-Match takes precedence', async () => {
    const lastModified = new Date(text.finishedAt!).toUTCString();
    const later = new Date(Date.parse(text.finishedAt!) + 3_600_000).toUTCString();
    const earlier = new Date(Date.parse(text.finishedAt!) - 3_600_000).toUTCString();
    for (const since of [lastModified, later]) {
      const response = await get(via, text.id, { 'If-Modified-Since': since });
      expect(response.status, since).toBe(304);
      await response.arrayBuffer();
    }
    const stale = await get(via, text.id, { 'If-Modified-Since': earlier });
    expect(stale.status).toBe(200);
    expect((await bytesOf(stale)).equals(text.bytes)).toBe(true);
    // RFC 9110 §13.1.3: If-Modified-Since is ignored when If-None-Match is present.
    const both = await get(via, text.id, { 'If-None-Match': '"other"', 'If-Modified-Since': later });
    expect(both.status).toBe(200);
    await both.arrayBuffer();
  });

  it('HEAD: the headers and length, no body', async () => {
    const response = await get(via, text.id, {}, 'HEAD');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(TEXT_SIZE));
    expectSafeHeaders(response, { type: 'text/plain', disposition: 'attachment' });
    expect((await bytesOf(response)).length).toBe(0);
  });
});

describe.each(VIAS)('headers of file responses (%s)', (via) => {
  it('a non-ASCII name: attachment with an ASCII filename and the exact name as RFC 8187 filename*', async () => {
    const response = await get(via, text.id);
    expect(response.status).toBe(200);
    expectSafeHeaders(response, { type: 'text/plain', disposition: 'attachment' });
    const disposition = response.headers.get('content-disposition')!;
    const ascii = /; filename="([^"]*)"/.exec(disposition)?.[1];
    const extended = /; filename\*=UTF-8''([^;\s]+)/.exec(disposition)?.[1];
    // The fallback is printable ASCII without quotes, backslashes, percent signs or semicolons.
    expect(ascii).toMatch(/^[\x20-\x7e]+$/);
    expect(ascii).not.toMatch(/["\\%;]/);
    expect(ascii).toContain('Resume');
    // filename* uses only RFC 8187 attr-chars and percent-escapes, and decodes to the exact name.
    expect(extended).toMatch(/^[A-Za-z0-9!#$&+\-.^_`|~%]+$/);
    expect(decodeURIComponent(extended!)).toBe(TEXT_NAME);
    await response.arrayBuffer();
  });

  it('Content-Type is the detected type: a CSV declared as text/plain is served as text/csv', async () => {
    expect(csv).toMatchObject({ declaredType: 'text/plain', detectedType: 'text/csv' });
    const response = await get(via, csv.id);
    expect(response.status).toBe(200);
    expectSafeHeaders(response, { type: 'text/csv', disposition: 'attachment' });
    expect(response.headers.get('content-disposition')).toContain(`filename*=UTF-8''numbers.csv`);
    expect((await bytesOf(response)).equals(csv.bytes)).toBe(true);
  });

  it('a raster image (here with no declared type or name) is image/png and inline', async () => {
    expect(png).toMatchObject({ declaredType: null, filename: null, detectedType: 'image/png' });
    const response = await get(via, png.id);
    expect(response.status).toBe(200);
    expectSafeHeaders(response, { type: 'image/png', disposition: 'inline' });
    // Without a name the id stands in.
    expect(response.headers.get('content-disposition')).toContain(`filename="${png.id}"`);
    expect(sha256(await bytesOf(response))).toBe(sha256(png.bytes));
  });

  it('?download asks for attachment even for an image (a save, not a view)', async () => {
    const path = via === 'owner' ? `/api/uploads/${png.id}/content` : signLink(png.id, Math.floor(Date.now() / 1000) + 600);
    const response = await fetch(`${server.url}${path}?download=1`, { headers: via === 'owner' ? bearer(alice) : {} });
    expect(response.status).toBe(200);
    expectSafeHeaders(response, { type: 'image/png', disposition: 'attachment' });
    expect(sha256(await bytesOf(response))).toBe(sha256(png.bytes));
  });

  it('partial content and 416 answers carry the same protective headers', async () => {
    const partial = await get(via, png.id, { Range: 'bytes=0-7' });
    expect(partial.status).toBe(206);
    expectSafeHeaders(partial, { type: 'image/png', disposition: 'inline' });
    expect((await bytesOf(partial)).equals(png.bytes.subarray(0, 8))).toBe(true);
  });
});

describe('uploads that are not downloadable', () => {
  it('rejected (an ELF executable named a.png), infected (EICAR) → 403 UPLOAD_NOT_DOWNLOADABLE; in progress → 409', async () => {
    const [elf, eicar, created] = await Promise.all([
      // Refused from its first bytes (415), so rejected without ever being processed.
      createUpload(server.tusEndpoint, alice, { length: 4096, metadata: { filename: 'a.png', filetype: 'image/png' } }).then(async (upload) => {
        expect((await patch(upload.url, alice, 0, elfBinary(4096))).status).toBe(415);
        return upload;
      }),
      uploadBuffer(server.tusEndpoint, alice, eicarFile(), { filename: 'eicar.txt', filetype: 'text/plain' }),
      createUpload(server.tusEndpoint, alice, { length: 100, metadata: { filename: 'later.txt' } }),
    ]);
    expect((await patch(created.url, alice, 0, Buffer.alloc(50, 'x'))).status).toBe(204);
    const rejected = await waitForUpload(server, alice, elf.id);
    expect(rejected).toMatchObject({ status: 'rejected', contentUrl: null });
    const infected = await waitForUpload(server, alice, eicar.id);
    expect(infected).toMatchObject({ status: 'infected', contentUrl: null, scanned: true });

    const now = Math.floor(Date.now() / 1000);
    for (const [id, status, code] of [
      [elf.id, 403, 'UPLOAD_NOT_DOWNLOADABLE'],
      [eicar.id, 403, 'UPLOAD_NOT_DOWNLOADABLE'],
      [created.id, 409, 'UPLOAD_NOT_READY'],
    ] as const) {
      const content = await fetch(`${server.url}/api/uploads/${id}/content`, { headers: { ...bearer(alice), Range: 'bytes=0-9' } });
      expect(content.status, id).toBe(status);
      expect(await errorCode(content)).toBe(code);
      const link = await fetch(`${server.url}/api/uploads/${id}/links`, { method: 'POST', headers: bearer(alice) });
      expect(link.status).toBe(status);
      expect(await errorCode(link)).toBe(code);
      // Even a correctly signed link (say, made while it was fine) serves nothing.
      const shared = await fetch(`${server.url}${signLink(id, now + 600)}`);
      expect(shared.status).toBe(status);
      expect(await errorCode(shared)).toBe(code);
    }
  });
});
