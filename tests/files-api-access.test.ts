import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkSchema, uploadListSchema, uploadSchema } from '@haul/api';
import { sha256 } from './helpers/files.js';
import { noisePng } from './helpers/fixtures.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { createUpload, patch } from './helpers/tus.js';
import { bearer, errorCode, LINK_SECRET, signLink, uploadReady } from './helpers/uploads-api.js';

/**
 * Who may do what on every files API endpoint: the owner; another signed-in user, who must get
 * the very same 404 as for an upload that does not exist; nobody signed in (401); and share
 * links, valid, expired (signed by the test itself with the server's LINK_SECRET) or tampered.
 */

let server: HaulServer;
let alice: string;
let bob: string;
/** Alice's ready PNG (with thumbnails) and the bytes she sent. */
let png: { id: string; bytes: Buffer };
/** Alice's upload with only some bytes sent. */
let unfinished: { id: string; url: string };
/** Alice's ready upload with a `scope`: the default policy still lets nobody else in. */
let scoped: { id: string };

/** A dev token whose `scopes` claim lists `scopes`. */
async function devToken(haul: HaulServer, user: string, scopes: string[]): Promise<string> {
  const response = await fetch(`${haul.url}/api/dev/token`, { method: 'POST', body: JSON.stringify({ user, scopes }) });
  return ((await response.json()) as { token: string }).token;
}

/** A well-formed upload id that does not exist. */
const missingId = () => randomBytes(18).toString('base64url');

type Endpoint = { name: string; method: string; path: (id: string) => string; ok: number; body?: string };
const ENDPOINTS: Endpoint[] = [
  { name: 'GET upload', method: 'GET', path: (id) => `/api/uploads/${id}`, ok: 200 },
  { name: 'GET content', method: 'GET', path: (id) => `/api/uploads/${id}/content`, ok: 200 },
  { name: 'GET thumbnail', method: 'GET', path: (id) => `/api/uploads/${id}/thumbnails/160`, ok: 200 },
  { name: 'GET events', method: 'GET', path: (id) => `/api/uploads/${id}/events`, ok: 200 },
  { name: 'POST links', method: 'POST', path: (id) => `/api/uploads/${id}/links`, ok: 201, body: '{}' },
  // The owner's DELETE is exercised last (below), so the upload stays for the other cases.
  { name: 'DELETE upload', method: 'DELETE', path: (id) => `/api/uploads/${id}`, ok: 204 },
];

const call = (endpoint: Endpoint, id: string, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${endpoint.path(id)}`, {
    method: endpoint.method,
    headers: { ...(endpoint.body ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: endpoint.body,
  });

/** Status, error body and the headers a client could tell apart by (not dates or request ids). */
async function fingerprint(response: Response) {
  const headers = [...response.headers.entries()]
    .filter(([name]) => !['date', 'x-request-id', 'content-length'].includes(name))
    .sort();
  return { status: response.status, body: await response.text(), headers };
}

beforeAll(async () => {
  server = await startHaul({ env: { WORKER: 'embedded', SCAN_MODE: 'off', LINK_SECRET } });
  // Alice belongs to conversation 42 (her token says so): only members create uploads in a scope.
  [alice, bob] = await Promise.all([devToken(server, 'alice', ['conversation-42']), server.token('bob')]);
  const bytes = await noisePng(300, 200);
  const [ready, scopedUpload, created] = await Promise.all([
    uploadReady(server, alice, bytes, { filename: 'noise.png', filetype: 'image/png' }),
    uploadReady(server, alice, Buffer.from('shared within conversation 42\n'), { filename: 'note.txt', scope: 'conversation-42' }),
    createUpload(server.tusEndpoint, alice, { length: 1000, metadata: { filename: 'half.txt' } }),
  ]);
  expect(ready.thumbnails.map((t) => t.size)).toContain(160);
  png = { id: ready.id, bytes };
  scoped = { id: scopedUpload.id };
  expect(scopedUpload.scope).toBe('conversation-42');
  expect((await patch(created.url, alice, 0, Buffer.alloc(400, 'a'))).status).toBe(204);
  unfinished = created;
});

afterAll(async () => {
  await server?.stop();
});

describe('every endpoint of one upload', () => {
  for (const endpoint of ENDPOINTS) {
    it(`${endpoint.name}: anonymous → 401 with a Bearer challenge, for existing and missing uploads alike`, async () => {
      for (const id of [png.id, missingId()]) {
        const response = await call(endpoint, id);
        expect(response.status).toBe(401);
        expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="haul"/);
        expect(await errorCode(response)).toBe('AUTH_REQUIRED');
      }
      const invalid = await call(endpoint, png.id, bearer('not-a-token'));
      expect(invalid.status).toBe(401);
      expect(await errorCode(invalid)).toBe('AUTH_INVALID');
    });

    it(`${endpoint.name}: another user → the same 404 as an upload that does not exist`, async () => {
      const others = await fingerprint(await call(endpoint, png.id, bearer(bob)));
      const missing = await fingerprint(await call(endpoint, missingId(), bearer(bob)));
      const malformed = await fingerprint(await call(endpoint, 'not-an-upload-id', bearer(bob)));
      expect(others.status).toBe(404);
      expect(JSON.parse(others.body)).toEqual({ code: 'UPLOAD_NOT_FOUND', message: 'Upload not found' });
      expect(others).toEqual(missing);
      expect(others).toEqual(malformed);
      // A scope opens an upload only to its members (bob's token lists none; no hook, no policy).
      expect(await fingerprint(await call(endpoint, scoped.id, bearer(bob)))).toEqual(missing);
    });

    if (endpoint.method !== 'DELETE') {
      it(`${endpoint.name}: the owner → ${endpoint.ok}`, async () => {
        const response = await call(endpoint, png.id, bearer(alice));
        expect(response.status).toBe(endpoint.ok);
        const body = Buffer.from(await response.arrayBuffer());
        switch (endpoint.name) {
          case 'GET upload':
            expect(uploadSchema.strict().parse(JSON.parse(body.toString())).id).toBe(png.id);
            break;
          case 'GET content':
            expect(sha256(body)).toBe(sha256(png.bytes));
            break;
          case 'GET thumbnail':
            expect(response.headers.get('content-type')).toBe('image/webp');
            expect(body.subarray(8, 12).toString('ascii')).toBe('WEBP');
            break;
          case 'GET events': {
            // Ready is terminal: the current record, then the stream ends.
            expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
            const data = /^event: status\ndata: (.*)$/m.exec(body.toString())?.[1];
            expect(uploadSchema.strict().parse(JSON.parse(data!))).toMatchObject({ id: png.id, status: 'ready' });
            break;
          }
          case 'POST links':
            expect(linkSchema.strict().parse(JSON.parse(body.toString())).url).toMatch(`/api/links/${png.id}/`);
            break;
        }
      });
    }
  }

  it('events: EventSource cannot send headers, so ?access_token= works there — and only there', async () => {
    const events = await fetch(`${server.url}/api/uploads/${png.id}/events?access_token=${alice}`);
    expect(events.status).toBe(200);
    await events.text();
    const othersEvents = await fetch(`${server.url}/api/uploads/${png.id}/events?access_token=${bob}`);
    expect(othersEvents.status).toBe(404);
    await othersEvents.text();
    const content = await fetch(`${server.url}/api/uploads/${png.id}/content?access_token=${alice}`);
    expect(content.status).toBe(401);
  });

  it('an upload still in progress: readable by its owner, not downloadable or shareable yet (409)', async () => {
    const record = await fetch(`${server.url}/api/uploads/${unfinished.id}`, { headers: bearer(alice) });
    // (The offset in the record is flushed in batches, OFFSET_FLUSH_INTERVAL_MS.)
    expect(uploadSchema.strict().parse(await record.json())).toMatchObject({ status: 'uploading', size: 1000, contentUrl: null });
    const content = await fetch(`${server.url}/api/uploads/${unfinished.id}/content`, { headers: bearer(alice) });
    expect(content.status).toBe(409);
    expect(await errorCode(content)).toBe('UPLOAD_NOT_READY');
    const link = await fetch(`${server.url}/api/uploads/${unfinished.id}/links`, { method: 'POST', headers: bearer(alice) });
    expect(link.status).toBe(409);
    expect(await errorCode(link)).toBe('UPLOAD_NOT_READY');
    const selfSigned = await fetch(`${server.url}${signLink(unfinished.id, Math.floor(Date.now() / 1000) + 600)}`);
    expect(selfSigned.status).toBe(409);
    const thumbnail = await fetch(`${server.url}/api/uploads/${unfinished.id}/thumbnails/160`, { headers: bearer(alice) });
    expect(thumbnail.status).toBe(404);
    // Another user learns nothing about it either.
    const others = await fetch(`${server.url}/api/uploads/${unfinished.id}/content`, { headers: bearer(bob) });
    expect(others.status).toBe(404);
  });
});

describe('the listing', () => {
  it('needs a user and shows only their own uploads', async () => {
    const anonymous = await fetch(`${server.url}/api/uploads`);
    expect(anonymous.status).toBe(401);
    expect(await errorCode(anonymous)).toBe('AUTH_REQUIRED');

    const mine = uploadListSchema.strict().parse(await (await fetch(`${server.url}/api/uploads`, { headers: bearer(alice) })).json());
    expect(mine.items.map((u) => u.id).sort()).toEqual([png.id, scoped.id, unfinished.id].sort());
    const others = uploadListSchema.strict().parse(await (await fetch(`${server.url}/api/uploads`, { headers: bearer(bob) })).json());
    expect(others).toEqual({ items: [], nextCursor: null });
  });
});

describe('share links', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const download = (path: string, headers: Record<string, string> = {}) => fetch(`${server.url}${path}`, { headers });

  it('a link from the API works without login, for anyone, until it expires', async () => {
    const response = await fetch(`${server.url}/api/uploads/${png.id}/links`, {
      method: 'POST',
      headers: { ...bearer(alice), 'Content-Type': 'application/json' },
      body: JSON.stringify({ expiresIn: 120 }),
    });
    expect(response.status).toBe(201);
    const link = linkSchema.strict().parse(await response.json());
    const url = new URL(link.url);
    expect(url.origin).toBe(server.url);
    const expires = Number(url.pathname.split('/')[4]);
    expect(expires).toBeGreaterThanOrEqual(now() + 118);
    expect(expires).toBeLessThanOrEqual(now() + 121);
    expect(new Date(link.expiresAt).getTime()).toBe(expires * 1000);
    // The test signs the same link itself: the format is what link-signer.ts documents.
    expect(url.pathname).toBe(signLink(png.id, expires));

    for (const headers of [{}, bearer(bob), bearer('garbage')]) {
      const shared = await fetch(link.url, { headers });
      expect(shared.status).toBe(200);
      expect(sha256(Buffer.from(await shared.arrayBuffer()))).toBe(sha256(png.bytes));
    }
  });

  it('without a body (every field is optional) the link lasts LINK_TTL_SECONDS (default one day)', async () => {
    const response = await fetch(`${server.url}/api/uploads/${png.id}/links`, { method: 'POST', headers: bearer(alice) });
    expect(response.status).toBe(201);
    const link = linkSchema.strict().parse(await response.json());
    expect(Math.abs(Date.parse(link.expiresAt) / 1000 - (now() + 86_400))).toBeLessThanOrEqual(2);
    const invalid = await fetch(`${server.url}/api/uploads/${png.id}/links`, { method: 'POST', headers: bearer(alice), body: '{"expiresIn":' });
    expect(invalid.status).toBe(400);
    expect(await errorCode(invalid)).toBe('INVALID_REQUEST');
  });

  it('expiresIn must be between 60 s and 30 days', async () => {
    for (const expiresIn of [59, 30 * 24 * 3600 + 1, 'soon', 1.5]) {
      const response = await fetch(`${server.url}/api/uploads/${png.id}/links`, {
        method: 'POST',
        headers: { ...bearer(alice), 'Content-Type': 'application/json' },
        body: JSON.stringify({ expiresIn }),
      });
      expect(response.status, String(expiresIn)).toBe(400);
    }
  });

  it('an expired link → 410 LINK_EXPIRED (only when its signature is valid)', async () => {
    const expired = await download(signLink(png.id, now() - 5));
    expect(expired.status).toBe(410);
    expect(await errorCode(expired)).toBe('LINK_EXPIRED');
    const longAgo = await download(signLink(png.id, 1));
    expect(longAgo.status).toBe(410);
    // Expired and signed with another key: invalid, not "expired".
    const forged = await download(signLink(png.id, now() - 5, 'x'.repeat(40)));
    expect(forged.status).toBe(403);
  });

  it('a tampered or forged link → 403 LINK_INVALID', async () => {
    const valid = signLink(png.id, now() + 600);
    const [, , , id, expires, signature] = valid.split('/') as [string, string, string, string, string, string];
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    const tampered = [
      `/api/links/${id}/${expires}/${flip(signature)}`, // signature changed
      `/api/links/${id}/${Number(expires) + 3600}/${signature}`, // expiry extended
      `/api/links/${scoped.id}/${expires}/${signature}`, // signature of another upload
      `/api/links/${id}/${expires}/${signature.slice(0, -2)}`, // truncated
      `/api/links/${id}/${expires}/${signature}AA`, // extended
      `/api/links/${id}/soon/${signature}`, // not a time
      `/api/links/${id}/-1/${signature}`,
      signLink(png.id, now() + 600, 'another-secret-of-at-least-32-characters'),
    ];
    for (const path of tampered) {
      const response = await download(path, bearer(alice));
      expect(response.status, path).toBe(403);
      expect(await errorCode(response)).toBe('LINK_INVALID');
    }
    expect((await download(valid)).status).toBe(200);
  });

  it('a correctly signed link to an upload that does not exist → 404', async () => {
    const response = await download(signLink(missingId(), now() + 600));
    expect(response.status).toBe(404);
    expect(await errorCode(response)).toBe('UPLOAD_NOT_FOUND');
  });
});

describe('deleting', () => {
  it('only the owner deletes; afterwards the upload is gone for everyone, links included', async () => {
    const link = signLink(png.id, Math.floor(Date.now() / 1000) + 600);
    expect((await fetch(`${server.url}${link}`)).status).toBe(200);

    const bobs = await fetch(`${server.url}/api/uploads/${png.id}`, { method: 'DELETE', headers: bearer(bob) });
    expect(bobs.status).toBe(404);
    expect((await fetch(`${server.url}/api/uploads/${png.id}`, { headers: bearer(alice) })).status).toBe(200);

    const deleted = await fetch(`${server.url}/api/uploads/${png.id}`, { method: 'DELETE', headers: bearer(alice) });
    expect(deleted.status).toBe(204);
    for (const endpoint of ENDPOINTS) {
      const response = await call(endpoint, png.id, bearer(alice));
      expect(response.status, endpoint.name).toBe(404);
      expect(await errorCode(response)).toBe('UPLOAD_NOT_FOUND');
    }
    const shared = await fetch(`${server.url}${link}`);
    expect(shared.status).toBe(404);
    expect(await errorCode(shared)).toBe('UPLOAD_NOT_FOUND');
  });
});
