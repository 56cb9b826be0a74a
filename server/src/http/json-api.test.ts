import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type UploadStatus, uploadListSchema, uploadSchema } from '@haul/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userStorageKey } from '../auth/user.js';
import { loadConfig } from '../config.js';
import { createHaulServer, type HaulServer } from '../haul-server.js';
import { silentLogger } from '../logger.js';
import { newUploadId } from '../uploads/upload-id.js';

/**
 * The JSON API through `app.request()`: one server from the library factory (embedded PostgreSQL in
 * a temp DATA_DIR, disk storage), no socket. Uploads are seeded as rows plus bytes on disk, as
 * a finished tus upload and processing leave them; tus itself is tested in tests/.
 */
let haul: HaulServer;
let dataDir: string;
const tokens: Record<string, string> = {};
// Bob may read uploads of scope "team-1"; nobody else reads anyone's uploads.
const scopeReadPolicy = (user: { id: string }, scope: string) => user.id === 'bob' && scope === 'team-1';

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-json-api-'));
  const config = loadConfig({ DATA_DIR: dataDir, WORKER: 'off', SCAN_MODE: 'off', DEMO_DIR: '', ALLOWED_TYPES: 'image,text' });
  haul = await createHaulServer(config, { logger: silentLogger, scopeReadPolicy });
  for (const user of ['alice', 'bob', 'carol']) {
    const response = await haul.app.request('/api/dev/token', { method: 'POST', body: JSON.stringify({ user }) });
    tokens[user] = ((await response.json()) as { token: string }).token;
  }
}, 60_000);

afterAll(async () => {
  await haul?.close();
  await fs.rm(dataDir, { recursive: true, force: true });
});

const as = (user: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { ...init.headers, Authorization: `Bearer ${tokens[user]}` } });
const get = (url: string, user?: string) => haul.app.request(url, user ? as(user) : {});
const json = async (response: Response) => ({ status: response.status, body: (await response.json()) as Record<string, unknown> });

/** An upload as tus and processing leave it: the row, and for finished ones the bytes on disk. */
async function seed(owner: string, { status = 'ready' as UploadStatus, content = 'hello, world\n', scope = null as string | null } = {}) {
  const id = newUploadId();
  const key = `${userStorageKey(owner)}/${id}`;
  if (status !== 'uploading') {
    await fs.mkdir(path.join(dataDir, 'files', userStorageKey(owner)), { recursive: true });
    await fs.writeFile(path.join(dataDir, 'files', key), content);
  }
  await haul.db.query(
    `INSERT INTO uploads (id, owner_id, storage_key, filename, filetype, metadata, size, upload_offset, status, scope, detected_type, expires_at, finished_at)
     VALUES ($1, $2, $3, 'note.txt', 'text/plain', '{}'::jsonb, $4, $5, $6, $7, 'text/plain', $8, $9)`,
    [id, owner, key, content.length, status === 'uploading' ? 0 : content.length, status, scope,
      status === 'uploading' ? new Date(Date.now() + 3600_000).toISOString() : null, status === 'uploading' ? null : new Date().toISOString()],
  );
  return { id, key };
}

describe('public routes', () => {
  it('GET /api/config describes the server', async () => {
    const { status, body } = await json(await haul.app.request('/api/config'));
    expect(status).toBe(200);
    expect(body).toMatchObject({ authMode: 'dev', tusEndpoint: '/files/', scanning: false, maxUploadSize: 10 * 2 ** 30 });
    expect((body.allowedTypes as { categories: string[] }).categories).toEqual(['image', 'text']);
  });

  it('POST /api/dev/token issues a token that authenticates; a bad body is a 400', async () => {
    const { status, body } = await json(await haul.app.request('/api/dev/token', { method: 'POST', body: JSON.stringify({ user: 'dave' }) }));
    expect(status).toBe(200);
    expect(Date.parse(body.expiresAt as string)).toBeGreaterThan(Date.now());
    const listed = await haul.app.request('/api/uploads', { headers: { Authorization: `Bearer ${body.token as string}` } });
    expect(listed.status).toBe(200);
    expect((await json(await haul.app.request('/api/dev/token', { method: 'POST', body: '{"user":' }))).body).toEqual({
      code: 'INVALID_REQUEST', message: 'Body must be valid JSON',
    });
  });

  it('/healthz and /readyz', async () => {
    expect(await json(await haul.app.request('/healthz'))).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await json(await haul.app.request('/readyz'))).toEqual({
      status: 200, body: { status: 'ready', checks: { database: 'ok', storage: 'ok', shuttingDown: false } },
    });
  });

  it('every error is { code, message } with the status of its code', async () => {
    const unknown = await haul.app.request('/api/nothing-here');
    expect(await json(unknown)).toEqual({ status: 404, body: { code: 'NOT_FOUND', message: 'Not found' } });
    const anonymous = await haul.app.request('/api/uploads');
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="haul"');
    expect(await json(anonymous)).toMatchObject({ status: 401, body: { code: 'AUTH_REQUIRED' } });
    const forged = await haul.app.request('/api/uploads', { headers: { Authorization: 'Bearer not.a.token' } });
    expect(await json(forged)).toMatchObject({ status: 401, body: { code: 'AUTH_INVALID' } });
    expect(forged.headers.get('x-request-id')).toBeTruthy();
  });
});

describe('/api/uploads', () => {
  it('lists the caller\'s uploads newest first, page by page, and validates the query', async () => {
    const mine = [await seed('erin'), await seed('erin', { status: 'received' }), await seed('erin', { status: 'rejected' })];
    await seed('frank');
    const erin = (await json(await haul.app.request('/api/dev/token', { method: 'POST', body: JSON.stringify({ user: 'erin' }) }))).body.token as string;
    const page = (query: string) => haul.app.request(`/api/uploads${query}`, { headers: { Authorization: `Bearer ${erin}` } });

    const first = uploadListSchema.parse(await (await page('?limit=2')).json());
    expect(first.items.map((u) => u.id)).toEqual([mine[2]!.id, mine[1]!.id]);
    expect(first.nextCursor).not.toBeNull();
    const second = uploadListSchema.parse(await (await page(`?limit=2&cursor=${first.nextCursor}`)).json());
    expect(second).toEqual({ items: [expect.objectContaining({ id: mine[0]!.id })], nextCursor: null });
    const ready = uploadListSchema.parse(await (await page('?status=ready,received')).json());
    expect(ready.items.map((u) => u.status).sort()).toEqual(['ready', 'received']);

    for (const [query, message] of [
      ['?cursor=bm9wZQ', 'cursor: not a cursor from a previous page'],
      ['?status=uploading,bogus', 'status: unknown status "bogus"'],
      ['?limit=0', 'limit'],
    ] as const) {
      expect(await json(await page(query)), query).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', message: expect.stringContaining(message) } });
    }
  });

  it('GET /api/uploads/:id answers the published schema to the owner, 404 to anyone else', async () => {
    const { id } = await seed('alice');
    const response = await get(`/api/uploads/${id}`, 'alice');
    expect(response.status).toBe(200);
    expect(uploadSchema.parse(await response.json())).toMatchObject({ id, status: 'ready', filename: 'note.txt', contentUrl: expect.stringContaining(id) });
    for (const [url, user] of [[`/api/uploads/${id}`, 'carol'], [`/api/uploads/${newUploadId()}`, 'alice'], ['/api/uploads/not-an-id', 'alice']] as const) {
      expect(await json(await get(url, user)), url).toEqual({ status: 404, body: { code: 'UPLOAD_NOT_FOUND', message: 'Upload not found' } });
    }
  });

  it('downloads a ready file, and refuses one still processing', async () => {
    const { id } = await seed('alice', { content: 'the bytes' });
    const response = await get(`/api/uploads/${id}/content`, 'alice');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain');
    expect(await response.text()).toBe('the bytes');
    const processing = await seed('alice', { status: 'processing' });
    expect(await json(await get(`/api/uploads/${processing.id}/content`, 'alice'))).toMatchObject({ status: 409, body: { code: 'UPLOAD_NOT_READY' } });
  });
});

describe('shared links', () => {
  it('the owner creates a link that downloads without a token; a tampered one is refused', async () => {
    const { id } = await seed('alice', { content: 'shared bytes' });
    const created = await haul.app.request(`/api/uploads/${id}/links`, as('alice', { method: 'POST', body: JSON.stringify({ expiresIn: 600 }) }));
    expect(created.status).toBe(201);
    const { url, expiresAt } = (await created.json()) as { url: string; expiresAt: string };
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(590_000);
    const link = new URL(url).pathname;
    const download = await haul.app.request(link);
    expect(download.status).toBe(200);
    expect(await download.text()).toBe('shared bytes');
    expect(await json(await haul.app.request(`${link.slice(0, -2)}xx`))).toMatchObject({ status: 403, body: { code: 'LINK_INVALID' } });
    const tooLong = await haul.app.request(`/api/uploads/${id}/links`, as('alice', { method: 'POST', body: JSON.stringify({ expiresIn: 10 }) }));
    expect(await json(tooLong)).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST' } });
  });
});

describe('DELETE /api/uploads/:id', () => {
  it('removes a finished upload: bytes gone, 404 afterwards, links revoked; only the owner may', async () => {
    const { id, key } = await seed('alice');
    const link = new URL(((await (await haul.app.request(`/api/uploads/${id}/links`, as('alice', { method: 'POST' }))).json()) as { url: string }).url).pathname;
    expect((await haul.app.request(`/api/uploads/${id}`, as('carol', { method: 'DELETE' }))).status).toBe(404);
    expect((await haul.app.request(`/api/uploads/${id}`, as('alice', { method: 'DELETE' }))).status).toBe(204);
    await expect(fs.stat(path.join(dataDir, 'files', key))).rejects.toThrow(/ENOENT/);
    expect((await get(`/api/uploads/${id}`, 'alice')).status).toBe(404);
    expect((await haul.app.request(link)).status).toBe(404);
    expect((await haul.app.request(`/api/uploads/${id}`, as('alice', { method: 'DELETE' }))).status).toBe(404);
  });

  it('deleting an unfinished upload terminates it, through the status machine (with its event)', async () => {
    const { id } = await seed('alice', { status: 'uploading' });
    expect((await haul.app.request(`/api/uploads/${id}`, as('alice', { method: 'DELETE' }))).status).toBe(204);
    const [row] = await haul.db.query(`SELECT status, deleted_at FROM uploads WHERE id = $1`, [id]);
    expect(row).toMatchObject({ status: 'terminated', deleted_at: expect.anything() });
    expect(await haul.db.query(`SELECT status FROM upload_events WHERE upload_id = $1`, [id])).toEqual([{ status: 'terminated' }]);
  });
});

describe('scopes (scopeReadPolicy given to createHaulServer)', () => {
  it("lets the policy's members read, download and link, but never delete or move", async () => {
    const shared = await seed('alice', { scope: 'team-1', content: 'team notes' });
    const other = await seed('alice', { scope: 'team-2' });
    expect((await get(`/api/uploads/${shared.id}`, 'bob')).status).toBe(200);
    expect(await (await get(`/api/uploads/${shared.id}/content`, 'bob')).text()).toBe('team notes');
    expect((await get(`/api/uploads/${shared.id}`, 'carol')).status).toBe(404);
    expect((await get(`/api/uploads/${other.id}`, 'bob')).status).toBe(404);
    expect((await haul.app.request(`/api/uploads/${shared.id}/links`, as('bob', { method: 'POST' }))).status).toBe(201);
    expect(await json(await haul.app.request(`/api/uploads/${shared.id}`, as('bob', { method: 'DELETE' })))).toEqual({
      status: 403, body: { code: 'FORBIDDEN', message: 'Only the owner or a service may delete this upload' },
    });
    const move = as('bob', { method: 'PATCH', body: JSON.stringify({ scope: 'team-2' }), headers: { 'Content-Type': 'application/json' } });
    expect((await haul.app.request(`/api/uploads/${shared.id}`, move)).status).toBe(403);
    // Listing without a scope stays the caller's own uploads; with one, the scope's for its members.
    const bobs = uploadListSchema.parse(await (await get('/api/uploads', 'bob')).json());
    expect(bobs.items.map((u) => u.id)).not.toContain(shared.id);
    const team = uploadListSchema.parse(await (await get('/api/uploads?scope=team-1', 'bob')).json());
    expect(team.items.map((u) => u.id)).toContain(shared.id);
    expect(team.items.map((u) => u.id)).not.toContain(other.id);
    expect((await json(await get('/api/uploads?scope=team-1', 'carol'))).body.code).toBe('SCOPE_FORBIDDEN');
  });

  it('the owner moves an upload into a scope they belong to, and only there', async () => {
    const upload = await seed('bob', { scope: null });
    const patch = (scope: string | null) =>
      haul.app.request(`/api/uploads/${upload.id}`, as('bob', { method: 'PATCH', body: JSON.stringify({ scope }), headers: { 'Content-Type': 'application/json' } }));
    expect((await json(await patch('team-2'))).body.code).toBe('SCOPE_FORBIDDEN');
    const moved = await patch('team-1');
    expect(moved.status).toBe(200);
    expect(uploadSchema.parse(await moved.json()).scope).toBe('team-1');
    expect(uploadSchema.parse(await (await patch(null)).json()).scope).toBeNull();
    expect((await json(await haul.app.request(`/api/uploads/${upload.id}`, as('bob', { method: 'PATCH', body: '{"scope":"a b"}' })))).status).toBe(400);
  });
});
