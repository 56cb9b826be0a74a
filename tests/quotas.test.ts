import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HaulServerOverrides } from '../server/src/haul-server.js';
import { startLibraryServer, stopAll } from './helpers/library-server.js';
import { waitFor } from './helpers/wait.js';
import { createPartial, createUpload, patch, postFinal, request, terminate, TUS } from './helpers/tus.js';

/**
 * QUOTA_BYTES at its boundaries, on a real PostgreSQL: exactly reaching the quota is allowed and
 * one byte more is 413 QUOTA_EXCEEDED saying what is left; a deferred length is checked when
 * declared and its bytes are held to the room left until then; a final upload replaces its
 * partials (or adds to them with KEEP_PARTIALS); uploads created at once cannot share the last
 * bytes; the pre-create hook sets a user's own quota; GET /api/usage reports it all.
 */

const QUOTA = 1000;
const start = (env: Record<string, string> = {}, overrides: HaulServerOverrides = {}) =>
  startLibraryServer({ QUOTA_BYTES: String(QUOTA), ...env }, overrides);

const post = (endpoint: string, token: string, headers: Record<string, string | number>) =>
  request({ method: 'POST', url: endpoint, token, headers: { ...TUS, ...headers } });

let server: Awaited<ReturnType<typeof start>>;
beforeAll(async () => {
  server = await start();
});

afterAll(stopAll);

describe('QUOTA_BYTES', () => {
  it('allows exactly reaching the quota, refuses one byte more with what is left, and frees room on termination', async () => {
    const token = await server.token('ann');
    expect(await server.usage(token)).toEqual({ used: 0, limit: QUOTA, remaining: QUOTA, files: 0, savedBytes: 0 });
    const first = await createUpload(server.endpoint, token, { length: 600 });
    // Unfinished: counted by its declared length, not by the bytes it has.
    expect(await server.usage(token)).toEqual({ used: 600, limit: QUOTA, remaining: 400, files: 0, savedBytes: 0 });

    const over = await post(server.endpoint, token, { 'Upload-Length': 401 });
    expect(over.status).toBe(413);
    expect(over.json()).toEqual({ code: 'QUOTA_EXCEEDED', message: 'This upload needs 401 bytes; 400 bytes are left of your storage quota' });
    expect(over.header('haul-quota-remaining')).toBe('400');

    const second = await createUpload(server.endpoint, token, { length: 400, body: Buffer.alloc(400, 7) });
    expect(await server.usage(token)).toEqual({ used: QUOTA, limit: QUOTA, remaining: 0, files: 1, savedBytes: 0 });
    expect((await post(server.endpoint, token, { 'Upload-Length': 1 })).header('haul-quota-remaining')).toBe('0');
    // An empty file takes nothing.
    await createUpload(server.endpoint, token, { length: 0 });

    expect((await terminate(first.url, token)).status).toBe(204);
    expect(await server.usage(token)).toMatchObject({ used: 400, remaining: 600 });
    expect(second.response.status).toBe(201);
    // Another user's quota is their own.
    expect(await server.usage(await server.token('ben'))).toMatchObject({ used: 0, remaining: QUOTA });
  });

  it('checks a deferred length when it is declared, and holds its bytes to the room left until then', async () => {
    const token = await server.token('dee');
    await createUpload(server.endpoint, token, { length: 300 });
    const deferred = await createUpload(server.endpoint, token, { length: 'deferred' });
    expect((await patch(deferred.url, token, 0, Buffer.alloc(100, 1))).status).toBe(204);

    const tooLong = await patch(deferred.url, token, 100, Buffer.alloc(10, 1), { 'Upload-Length': 701 });
    expect([tooLong.status, tooLong.json().code, tooLong.header('haul-quota-remaining')]).toEqual([413, 'QUOTA_EXCEEDED', '700']);
    // Refused as a whole: the length stays undeclared and no byte of that body was taken.
    const again = await patch(deferred.url, token, 100, Buffer.alloc(10, 1), { 'Upload-Length': 700 });
    expect([again.status, again.offset]).toEqual([204, 110]);
    expect(await server.usage(token)).toMatchObject({ used: 1000, remaining: 0 });

    // Still deferred: a body may fill the quota, no more (Content-Length known up front, or a chunked one cut off).
    const other = await createUpload(server.endpoint, await server.token('dan'), { length: 'deferred' });
    const danToken = await server.token('dan');
    const past = await patch(other.url, danToken, 0, Buffer.alloc(QUOTA + 1, 2));
    expect([past.status, past.json().code]).toEqual([413, 'QUOTA_EXCEEDED']);
    const fits = await patch(other.url, danToken, 0, Buffer.alloc(QUOTA, 2));
    expect([fits.status, fits.offset]).toEqual([204, QUOTA]);
    // A deferred upload's offset reaches the database within OFFSET_FLUSH_INTERVAL_MS.
    await waitFor(async () => (await server.usage(danToken)).used === QUOTA, { what: "dan's offset counted", timeoutMs: 5000 });
    const afterwards = await patch(other.url, danToken, QUOTA, Buffer.alloc(1, 2));
    expect([afterwards.status, afterwards.json().code]).toEqual([413, 'QUOTA_EXCEEDED']);
  });

  it('lets a final upload take its partials\' place, and refuses it over the quota when partials are kept', async () => {
    const token = await server.token('fay');
    const partials = [await createPartial(server.endpoint, token, 500), await createPartial(server.endpoint, token, 500)];
    for (const p of partials) expect((await patch(p.url, token, 0, Buffer.alloc(500, 3))).status).toBe(204);
    const final = await postFinal(server.endpoint, token, partials.map((p) => p.path));
    expect(final.status).toBe(201);
    expect(await server.usage(token)).toEqual({ used: QUOTA, limit: QUOTA, remaining: 0, files: 1, savedBytes: 0 });

    const keeping = await start({ KEEP_PARTIALS: 'true' });
    const kept = await keeping.token('fay');
    const keptPartials = [await createPartial(keeping.endpoint, kept, 250), await createPartial(keeping.endpoint, kept, 250)];
    for (const p of keptPartials) expect((await patch(p.url, kept, 0, Buffer.alloc(250, 4))).status).toBe(204);
    // Kept partials stay counted: 500 in partials + a 500-byte final = exactly the quota, allowed …
    expect((await postFinal(keeping.endpoint, kept, keptPartials.map((p) => p.path))).status).toBe(201);
    expect(await keeping.usage(kept)).toMatchObject({ used: QUOTA, files: 1 });
    // … and 600 in partials + a 600-byte final past a 900-byte quota, refused with the 300 left.
    const freshPartial = await start({ KEEP_PARTIALS: 'true', QUOTA_BYTES: '900' });
    const t = await freshPartial.token('gus');
    const ps = [await createPartial(freshPartial.endpoint, t, 300), await createPartial(freshPartial.endpoint, t, 300)];
    for (const p of ps) expect((await patch(p.url, t, 0, Buffer.alloc(300, 5))).status).toBe(204);
    const refused = await postFinal(freshPartial.endpoint, t, ps.map((p) => p.path));
    expect([refused.status, refused.json().code, refused.header('haul-quota-remaining')]).toEqual([413, 'QUOTA_EXCEEDED', '300']);
  });

  it('lets uploads created at the same moment share the quota, never exceed it', async () => {
    const token = await server.token('hal');
    const answers = await Promise.all(Array.from({ length: 12 }, () => post(server.endpoint, token, { 'Upload-Length': 200 })));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(5);
    expect(answers.filter((a) => a.status === 413).map((a) => a.json().code)).toEqual(Array(7).fill('QUOTA_EXCEEDED'));
    expect(await server.usage(token)).toMatchObject({ used: QUOTA, remaining: 0 });
  });
});

describe("the application's limits", () => {
  it("sets a user's own quota from the pre-create hook, kept for later declarations", async () => {
    const hooked = await start({}, {
      beforeCreate: ({ user }) => ({ allow: true, limits: user.id === 'vip' ? { quotaBytes: 5000 } : {} }),
    });
    const vip = await hooked.token('vip');
    await createUpload(hooked.endpoint, vip, { length: 3000 });
    expect(await hooked.usage(vip)).toEqual({ used: 3000, limit: 5000, remaining: 2000, files: 0, savedBytes: 0 });
    const deferred = await createUpload(hooked.endpoint, vip, { length: 'deferred' });
    const declared = await patch(deferred.url, vip, 0, Buffer.alloc(0), { 'Upload-Length': 2001 });
    expect([declared.status, declared.header('haul-quota-remaining')]).toEqual([413, '2000']);
    // Everyone else keeps QUOTA_BYTES.
    const plain = await hooked.token('plain');
    expect((await post(hooked.endpoint, plain, { 'Upload-Length': QUOTA + 1 })).status).toBe(413);
  });
});
