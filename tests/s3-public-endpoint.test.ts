import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from './helpers/files.js';
import { asciiText } from './helpers/fixtures.js';
import { bearer, uploadReady } from './helpers/uploads-api.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { localS3 } from './helpers/s3.js';

/**
 * S3_PUBLIC_ENDPOINT: the server talks to S3 at S3_ENDPOINT (here 127.0.0.1), browsers are sent to
 * the public origin (here the same Swift as "localhost"). The presigned URL is made — and signed,
 * SigV4 covers the host — for the public origin, so it works there; the demo's CSP allows it.
 */

const s3 = localS3();
const prefix = `t-public-${randomBytes(4).toString('hex')}/`;
const internal = new URL(s3.env().S3_ENDPOINT);
const publicEndpoint = `${internal.protocol}//localhost:${internal.port}`;
let server: HaulServer;

beforeAll(async () => {
  server = await startHaul({ env: { ...s3.env(prefix), S3_PUBLIC_ENDPOINT: publicEndpoint, WORKER: 'embedded', SCAN_MODE: 'off' } });
});

afterAll(async () => {
  await server?.stop();
  const keys = await s3.listKeys(prefix);
  if (keys.length > 0) await s3.client.deleteObjects({ Bucket: s3.bucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } });
});

describe('S3_PUBLIC_ENDPOINT', () => {
  it('presigned downloads point at the public origin, and work there', async () => {
    expect(internal.hostname).toBe('127.0.0.1');
    const token = await server.token('public-user');
    const bytes = asciiText(2000);
    const uploaded = await uploadReady(server, token, bytes, { filename: 'public.txt' });
    const redirect = await fetch(`${server.url}/api/uploads/${uploaded.id}/content`, { headers: bearer(token), redirect: 'manual' });
    expect(redirect.status).toBe(302);
    const location = new URL(redirect.headers.get('location')!);
    expect(location.origin).toBe(publicEndpoint);
    expect(location.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    const download = await fetch(location);
    expect(download.status).toBe(200);
    expect(sha256(Buffer.from(await download.arrayBuffer()))).toBe(sha256(bytes));
    // The same URL on the internal origin carries a signature for another host: refused.
    const internalUrl = new URL(location);
    internalUrl.host = internal.host;
    expect((await fetch(internalUrl)).status).toBe(403);
  });

  it("the demo's Content-Security-Policy lets the page reach that origin", async () => {
    const page = await fetch(`${server.url}/`);
    await page.text();
    const csp = page.headers.get('content-security-policy') ?? '';
    for (const directive of ['connect-src', 'img-src', 'media-src', 'frame-src']) {
      expect(csp.split('; ').find((d) => d.startsWith(directive))).toContain(publicEndpoint);
    }
    expect(csp).not.toContain(internal.host);
  });
});
