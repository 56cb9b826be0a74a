import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { uploadListSchema, uploadSchema } from '@haul/api';
import { freshDatabase } from './helpers/database.js';
import { noisePng } from './helpers/fixtures.js';
import { bearer, errorCode, uploadReady } from './helpers/uploads-api.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { type HookMode, type HostApp, hostEnv, scopedToken, startHostApp } from './helpers/host-app.js';

/**
 * Conversation access against a real host application answering the access hook: owner, scope
 * members (by the hook, by token claims), non-members and services, on every route; creation in
 * a scope; the pre-create hook; and failing closed whenever the hook cannot answer properly.
 */

const JWT_SECRET = 'access-hooks-test-jwt-secret-0123456789abcdef';
const SERVICE_TOKEN = 'svc-token-0123456789abcdefghijklmnopqrstuvwxyz';
const SCOPE = 'conv:1';

let host: HostApp;
let server: HaulServer;
let db: Awaited<ReturnType<typeof freshDatabase>>;
const tokens: Record<string, string> = {};
let png: { id: string };

/** A service JWT, as an application's backend would sign it (dev mode verifies JWT_SECRET tokens of issuer haul-dev). */
const serviceJwt = (name: string) =>
  new SignJWT({ role: 'service' }).setProtectedHeader({ alg: 'HS256' }).setSubject(name).setIssuer('haul-dev').setExpirationTime('10m')
    .sign(new TextEncoder().encode(JWT_SECRET));

beforeAll(async () => {
  host = await startHostApp();
  host.members.set(SCOPE, new Set(['alice', 'bob']));
  db = await freshDatabase(inject('databaseUrl'));
  server = await startHaul({
    env: {
      WORKER: 'embedded', SCAN_MODE: 'off', DATABASE_URL: db.url, JWT_SECRET, HOOKS_TIMEOUT_MS: '1000',
      SERVICE_TOKENS: `backend:${SERVICE_TOKEN}`, ...hostEnv(host, { webhooks: false }),
    },
  });
  for (const user of ['alice', 'bob', 'carol']) tokens[user] = await server.token(user);
  tokens.dave = await scopedToken(server, 'dave', [SCOPE]); // a member by his token's claim, unknown to the hook
  tokens.service = SERVICE_TOKEN;
  tokens.serviceJwt = await serviceJwt('jobs');
  png = await uploadReady(server, tokens.alice!, await noisePng(120, 80), { filename: 'photo.png', scope: SCOPE });
});

afterAll(async () => {
  await server?.stop();
  await db?.drop();
  await host?.close();
});

const call = (method: string, path: string, token: string, body?: unknown) =>
  fetch(`${server.url}${path}`, {
    method,
    headers: { ...bearer(token), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });


/** A tus POST with this metadata. */
const create = (token: string, metadata: Record<string, string>, length: number | null = 10) =>
  fetch(server.tusEndpoint, {
    method: 'POST',
    headers: {
      ...bearer(token), 'Tus-Resumable': '1.0.0',
      ...(length === null ? { 'Upload-Defer-Length': '1' } : { 'Upload-Length': String(length) }),
      'Upload-Metadata': Object.entries(metadata).map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`).join(','),
    },
  });

const ROUTES: Array<{ name: string; method: string; path: (id: string) => string; body?: unknown }> = [
  { name: 'metadata', method: 'GET', path: (id) => `/api/uploads/${id}` },
  { name: 'thumbnail', method: 'GET', path: (id) => `/api/uploads/${id}/thumbnails/160` },
  { name: 'content', method: 'GET', path: (id) => `/api/uploads/${id}/content` },
  { name: 'events', method: 'GET', path: (id) => `/api/uploads/${id}/events` },
  { name: 'links', method: 'POST', path: (id) => `/api/uploads/${id}/links`, body: {} },
  { name: 'list scope', method: 'GET', path: () => `/api/uploads?scope=${encodeURIComponent(SCOPE)}` },
  { name: 're-scope', method: 'PATCH', path: (id) => `/api/uploads/${id}`, body: { scope: SCOPE } },
  { name: 'delete', method: 'DELETE', path: (id) => `/api/uploads/${id}` },
];

describe('who may do what, on every route', () => {
  // Expected statuses. DELETE is tried on a fresh copy per caller (below).
  const expected: Record<string, Record<string, number>> = {
    alice: { metadata: 200, thumbnail: 200, content: 200, events: 200, links: 201, 'list scope': 200, 're-scope': 200, delete: 204 },
    bob: { metadata: 200, thumbnail: 200, content: 200, events: 200, links: 201, 'list scope': 200, 're-scope': 403, delete: 403 },
    dave: { metadata: 200, thumbnail: 200, content: 200, events: 200, links: 201, 'list scope': 200, 're-scope': 403, delete: 403 },
    carol: { metadata: 404, thumbnail: 404, content: 404, events: 404, links: 404, 'list scope': 403, 're-scope': 404, delete: 404 },
    service: { metadata: 200, thumbnail: 200, content: 200, events: 200, links: 201, 'list scope': 200, 're-scope': 200, delete: 204 },
    serviceJwt: { metadata: 200, thumbnail: 200, content: 200, events: 200, links: 201, 'list scope': 200, 're-scope': 200, delete: 204 },
  };
  for (const [caller, statuses] of Object.entries(expected)) {
    it(`${caller}`, async () => {
      const token = tokens[caller]!;
      for (const route of ROUTES) {
        const target = route.name === 'delete' ? (await uploadReady(server, tokens.alice!, Buffer.from(`for ${caller}\n`), { filename: 'd.txt', scope: SCOPE })).id : png.id;
        const response = await call(route.method, route.path(target), token, route.body);
        const text = await response.text();
        expect(`${route.name}: ${response.status}`, text.slice(0, 200)).toBe(`${route.name}: ${statuses[route.name]}`);
        if (route.name === 'list scope' && response.status === 200) {
          expect(uploadListSchema.strict().parse(JSON.parse(text)).items.map((u) => u.id)).toContain(png.id);
        }
        if (route.name === 'metadata' && response.status === 200) expect(uploadSchema.strict().parse(JSON.parse(text)).scope).toBe(SCOPE);
      }
    });
  }

  it('a member is told why they may not delete; a non-member cannot tell the upload exists', async () => {
    const refused = await call('DELETE', `/api/uploads/${png.id}`, tokens.bob!);
    expect(await refused.json()).toEqual({ code: 'FORBIDDEN', message: 'Only the owner or a service may delete this upload' });
    const hidden = await call('DELETE', `/api/uploads/${png.id}`, tokens.carol!);
    expect(await hidden.json()).toEqual({ code: 'UPLOAD_NOT_FOUND', message: 'Upload not found' });
  });

  it('services list by owner, move uploads between scopes, and every request of theirs is audited', async () => {
    expect((await call('GET', '/api/uploads?owner=alice', tokens.bob!)).status).toBe(403);
    const listed = uploadListSchema.parse(await (await call('GET', '/api/uploads?owner=alice&limit=200', tokens.service!)).json());
    expect(listed.items.map((u) => u.id)).toContain(png.id);
    const moved = await call('PATCH', `/api/uploads/${png.id}`, tokens.serviceJwt!, { scope: 'conv:2' });
    expect(uploadSchema.parse(await moved.json()).scope).toBe('conv:2');
    // Bob was a member of conv:1, not conv:2: the file left his reach.
    expect((await call('GET', `/api/uploads/${png.id}`, tokens.bob!)).status).toBe(404);
    await call('PATCH', `/api/uploads/${png.id}`, tokens.service!, { scope: SCOPE });
    expect((await call('GET', `/api/uploads/${png.id}`, tokens.bob!)).status).toBe(200);
    const audited = await db.sql`SELECT user_id, action, upload_id, detail FROM audit_log WHERE user_id LIKE 'service:%' ORDER BY id`;
    expect(audited.filter((r) => r.action === 'service_request').map((r) => r.user_id)).toEqual(expect.arrayContaining(['service:backend', 'service:jobs']));
    expect(audited).toContainEqual(expect.objectContaining({ user_id: 'service:jobs', action: 'rescope', upload_id: png.id }));
    expect(audited).toContainEqual(expect.objectContaining({
      user_id: 'service:backend', action: 'service_request', upload_id: null,
      detail: expect.objectContaining({ method: 'GET', path: '/api/uploads', query: '?owner=alice&limit=200', status: 200 }),
    }));
  });

  it('membership answers are cached briefly (HOOKS_CACHE_SECONDS)', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const before = host.hookRequests.length;
    for (let i = 0; i < 5; i++) expect((await call('GET', `/api/uploads/${png.id}`, tokens.bob!)).status).toBe(200);
    expect(host.hookRequests.length - before).toBe(1);
  });
});

describe('creating uploads', () => {
  it('in a scope: members only (hook or claims), refused with 403 before anything is stored', async () => {
    for (const user of ['alice', 'bob', 'dave']) expect((await create(tokens[user]!, { filename: 'a.txt', scope: SCOPE })).status, user).toBe(201);
    const refused = await create(tokens.carol!, { filename: 'a.txt', scope: SCOPE });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ code: 'SCOPE_FORBIDDEN', message: 'You are not a member of scope "conv:1"' });
    expect(await db.sql`SELECT count(*)::int AS n FROM uploads WHERE owner_id = 'carol'`).toEqual([{ n: 0 }]);
    expect((await create(tokens.carol!, { filename: 'a.txt', scope: 'has space' })).status).toBe(400);
  });

  it('the pre-create hook sees the upload, may refuse it with its own message, or limit its size', async () => {
    const refused = await create(tokens.alice!, { filename: 'forbidden.txt', scope: SCOPE, topic: 'x' });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ code: 'UPLOAD_REFUSED', message: 'Files named "forbidden" are not allowed in this chat' });
    const asked = host.hookRequests.filter((r) => r.type === 'upload.create').at(-1)!.body;
    expect(asked).toEqual({
      type: 'upload.create', user: { id: 'alice', service: null },
      upload: { size: 10, filename: 'forbidden.txt', filetype: null, scope: SCOPE, metadata: { filename: 'forbidden.txt', scope: SCOPE, topic: 'x' }, concat: null },
    });
    host.maxSize = 100;
    try {
      expect((await create(tokens.alice!, { filename: 'small.txt' }, 100)).status).toBe(201);
      const large = await create(tokens.alice!, { filename: 'large.txt' }, 101);
      expect(large.status).toBe(413);
      expect(await errorCode(large)).toBe('UPLOAD_TOO_LARGE');
      expect((await create(tokens.alice!, { filename: 'deferred.txt' }, null)).status).toBe(400);
    } finally {
      host.maxSize = undefined;
    }
  });
});

describe('parallel uploads (tus Concatenation)', () => {
  it('the final upload is decided like any: the sum of its partials, its scope, its metadata', async () => {
    const partials: string[] = [];
    for (const part of ['hello ', 'world']) {
      const response = await fetch(server.tusEndpoint, {
        method: 'POST',
        headers: { ...bearer(tokens.carol!), 'Tus-Resumable': '1.0.0', 'Upload-Length': String(part.length), 'Upload-Concat': 'partial' },
      });
      expect(response.status).toBe(201);
      const url = new URL(response.headers.get('location')!, server.url).toString();
      const patched = await fetch(url, {
        method: 'PATCH',
        headers: { ...bearer(tokens.carol!), 'Tus-Resumable': '1.0.0', 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
        body: part,
      });
      expect(patched.status).toBe(204);
      partials.push(new URL(url).pathname);
    }
    expect(host.hookRequests.filter((r) => r.type === 'upload.create').at(-1)!.body).toMatchObject({ upload: { size: 5, concat: 'partial', scope: null } });
    const final = (scope: string) =>
      fetch(server.tusEndpoint, {
        method: 'POST',
        headers: {
          ...bearer(tokens.carol!), 'Tus-Resumable': '1.0.0', 'Upload-Concat': `final;${partials.join(' ')}`,
          'Upload-Metadata': `filename ${Buffer.from('joined.txt').toString('base64')},scope ${Buffer.from(scope).toString('base64')}`,
        },
      });
    // Carol is not in conv:1: the final upload is refused before anything is assembled.
    const refused = await final(SCOPE);
    expect(refused.status).toBe(403);
    expect(await errorCode(refused)).toBe('SCOPE_FORBIDDEN');
    host.members.set('conv:carol', new Set(['carol']));
    const created = await final('conv:carol');
    expect(created.status).toBe(201);
    expect(host.hookRequests.filter((r) => r.type === 'upload.create').at(-1)!.body).toMatchObject({
      upload: { size: 11, concat: 'final', scope: 'conv:carol', filename: 'joined.txt' },
    });
  });
});

describe('the hook fails closed', () => {
  const cases: Array<[HookMode | 'down', string]> = [
    ['error', 'answered 500'],
    ['slow', 'no answer within 1000 ms'],
    ['bad-signature', 'not signed'],
    ['other-id', 'not signed'],
    ['bad-shape', 'answer schema'],
    ['down', 'unreachable'],
  ];
  for (const [mode, why] of cases) {
    it(`${mode}: members are refused with 503 HOOK_UNAVAILABLE; owners, claims and services go on`, async () => {
      // Last: the host application stops for good (nothing after this needs it).
      if (mode === 'down') await host.close();
      else host.hookMode = mode;
      try {
        await new Promise((r) => setTimeout(r, 1100)); // past HOOKS_CACHE_SECONDS
        const read = await call('GET', `/api/uploads/${png.id}`, tokens.bob!);
        expect(read.status).toBe(503);
        expect(read.headers.get('retry-after')).toBe('2');
        const body = (await read.json()) as { code: string; message: string };
        expect(body.code).toBe('HOOK_UNAVAILABLE');
        expect(body.message).toContain(why);
        const created = await create(tokens.bob!, { filename: 'b.txt', scope: SCOPE });
        expect(created.status).toBe(503);
        // Nothing that does not need the hook is held up by it.
        expect((await call('GET', `/api/uploads/${png.id}`, tokens.alice!)).status).toBe(200);
        expect((await call('GET', `/api/uploads/${png.id}`, tokens.dave!)).status).toBe(200);
        expect((await call('GET', `/api/uploads/${png.id}`, tokens.service!)).status).toBe(200);
      } finally {
        host.hookMode = 'ok';
      }
    });
  }
});
