import fsp from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomFile, readRange, removeRandomFile, sha256File, sizeOf, type SourceFile, storedPath } from './helpers/files.js';
import { type HaulServer, startHaul, stopAndRemoveData } from './helpers/haul-server.js';
import { createUpload, decodeMetadata, encodeMetadata, head, patch, request, terminate, TUS } from './helpers/tus.js';
import { waitFor } from './helpers/wait.js';

/** Version negotiation, capability discovery, CORS for browser clients, and expiry. */

const MiB = 2 ** 20;
const APP = 'https://app.example';

const listOf = (value: string | undefined) => (value ?? '').split(',').map((v) => v.trim().toLowerCase()).filter(Boolean);

describe('version negotiation, OPTIONS and CORS', () => {
  const user = 'negotiator';
  let server: HaulServer;
  let token: string;
  let file: SourceFile;

  beforeAll(async () => {
    server = await startHaul({ env: { CORS_ORIGINS: `${APP},https://other.example`, DATABASE_URL: inject('databaseUrl') } });
    token = await server.token(user);
    file = await randomFile(MiB);
  });

  afterAll(async () => {
    await stopAndRemoveData(server);
    await removeRandomFile(file);
  });

  it('answers an unsupported or missing Tus-Resumable with 412 and Tus-Version, without acting', async () => {
    const { url, id } = await createUpload(server.tusEndpoint, token, { length: file.size });
    const chunk = await readRange(file.path, 0, 1000);
    for (const version of ['0.2.2', '2.0.0', undefined]) {
      const v = { 'Tus-Resumable': version };
      const responses = {
        post: await request({ method: 'POST', url: server.tusEndpoint, token, headers: { ...v, 'Upload-Length': 10 } }),
        head: await request({ method: 'HEAD', url, token, headers: v }),
        patch: await request({
          method: 'PATCH', url, token, body: chunk,
          headers: { ...v, 'Upload-Offset': 0, 'Content-Type': 'application/offset+octet-stream' },
        }),
        delete: await request({ method: 'DELETE', url, token, headers: v }),
      };
      for (const [method, res] of Object.entries(responses)) {
        expect(res.status, `${method} with Tus-Resumable ${version}`).toBe(412);
        expect(res.header('tus-version'), method).toBe('1.0.0');
        expect(res.header('tus-resumable'), method).toBe('1.0.0');
        if (method !== 'head') expect(res.json().code, method).toBe('UNSUPPORTED_VERSION');
      }
    }
    // Nothing happened: still one upload of this user, untouched and not deleted.
    expect(await fsp.readdir(path.dirname(storedPath(server.dataDir, user, id)))).toEqual([id, `${id}.json`]);
    expect(await sizeOf(storedPath(server.dataDir, user, id))).toBe(0);
    expect((await head(url, token)).header('upload-offset')).toBe('0');
  });

  it('OPTIONS needs no token and lists version, extensions and Tus-Max-Size', async () => {
    for (const target of [server.tusEndpoint, `${server.url}/files`, `${server.tusEndpoint}AAAAAAAAAAAAAAAAAAAAAAAA`]) {
      const res = await request({ method: 'OPTIONS', url: target });
      expect(res.status, target).toBe(204);
      expect(res.header('tus-version')).toBe('1.0.0');
      expect(res.header('tus-resumable')).toBe('1.0.0');
      expect(res.header('tus-max-size')).toBe(String(10 * 2 ** 30));
      expect(listOf(res.header('tus-extension'))).toEqual(
        expect.arrayContaining(['creation', 'creation-with-upload', 'creation-defer-length', 'termination', 'expiration']),
      );
    }
  });

  it('answers a CORS preflight for an allowed origin with the tus methods and headers', async () => {
    const res = await request({
      method: 'OPTIONS',
      url: server.tusEndpoint,
      headers: {
        Origin: APP,
        'Access-Control-Request-Method': 'PATCH',
        'Access-Control-Request-Headers': 'authorization,tus-resumable,upload-offset,content-type',
      },
    });
    expect(res.status).toBe(204);
    expect(res.header('access-control-allow-origin')).toBe(APP);
    expect(listOf(res.header('access-control-allow-methods'))).toEqual(
      expect.arrayContaining(['post', 'head', 'patch', 'delete']),
    );
    expect(listOf(res.header('access-control-allow-headers'))).toEqual(
      expect.arrayContaining(['authorization', 'tus-resumable', 'upload-offset', 'upload-length', 'upload-metadata', 'content-type', 'upload-checksum']),
    );
  });

  it('exposes Location, Upload-Offset and Upload-Expires on tus responses to an allowed origin', async () => {
    const headers = { Origin: APP };
    const created = await createUpload(server.tusEndpoint, token, { length: file.size, headers });
    const exposedOf = (res: { header(name: string): string | undefined }) => listOf(res.header('access-control-expose-headers'));
    expect(created.response.header('access-control-allow-origin')).toBe(APP);
    expect(created.response.header('upload-expires')).toBeDefined();
    expect(exposedOf(created.response)).toEqual(expect.arrayContaining(['location', 'upload-offset', 'upload-expires', 'tus-resumable']));

    const patched = await patch(created.url, token, 0, await readRange(file.path, 0, 4096), headers);
    expect(patched.status).toBe(204);
    expect(Date.parse(patched.header('upload-expires') ?? '')).toBeGreaterThan(Date.now());
    expect(patched.header('access-control-allow-origin')).toBe(APP);
    expect(exposedOf(patched)).toEqual(expect.arrayContaining(['upload-offset', 'upload-expires']));

    const headed = await head(created.url, token, headers);
    expect(headed.header('access-control-allow-origin')).toBe(APP);
    expect(exposedOf(headed)).toEqual(expect.arrayContaining(['upload-offset', 'upload-length', 'upload-metadata']));
    expect((await terminate(created.url, token)).status).toBe(204);
  });

  it('puts CORS headers on error responses too (401, 412, 404, 405), so a browser can read them', async () => {
    const { url } = await createUpload(server.tusEndpoint, token, { length: file.size });
    const other = await server.token('someone-else');
    const cases = {
      'POST without token': await request({ method: 'POST', url: server.tusEndpoint, headers: { ...TUS, Origin: APP, 'Upload-Length': 1 } }),
      'HEAD without token': await request({ method: 'HEAD', url, headers: { ...TUS, Origin: APP } }),
      'PATCH with a bad token': await request({
        method: 'PATCH', url, token: 'not.a.jwt', body: Buffer.alloc(1),
        headers: { ...TUS, Origin: APP, 'Upload-Offset': 0, 'Content-Type': 'application/offset+octet-stream' },
      }),
      'HEAD with Tus-Resumable 0.2.2': await request({ method: 'HEAD', url, token, headers: { 'Tus-Resumable': '0.2.2', Origin: APP } }),
      "HEAD on another user's upload": await head(url, other, { Origin: APP }),
      'GET on an upload': await request({ method: 'GET', url, token, headers: { Origin: APP } }),
    };
    const expectedStatus: Record<string, number> = {
      'POST without token': 401, 'HEAD without token': 401, 'PATCH with a bad token': 401,
      'HEAD with Tus-Resumable 0.2.2': 412, "HEAD on another user's upload": 404, 'GET on an upload': 405,
    };
    for (const [name, res] of Object.entries(cases)) {
      expect(res.status, name).toBe(expectedStatus[name]);
      expect(res.header('access-control-allow-origin'), name).toBe(APP);
      expect(listOf(res.header('access-control-expose-headers')), name).toEqual(
        expect.arrayContaining(['tus-resumable', 'tus-version', 'upload-expires']),
      );
      expect(listOf(res.header('vary')), name).toContain('origin');
    }
    expect(cases['POST without token'].header('www-authenticate')).toMatch(/^Bearer /);
    expect(cases['HEAD with Tus-Resumable 0.2.2'].header('tus-version')).toBe('1.0.0');
  });

  it('does not grant a foreign origin', async () => {
    const evil = 'https://evil.example';
    const responses = [
      await request({ method: 'POST', url: server.tusEndpoint, headers: { ...TUS, Origin: evil, 'Upload-Length': 1 } }),
      await request({ method: 'OPTIONS', url: server.tusEndpoint, headers: { Origin: evil, 'Access-Control-Request-Method': 'POST' } }),
      await request({ method: 'GET', url: `${server.url}/healthz`, headers: { Origin: evil } }),
    ];
    for (const res of responses) expect(res.header('access-control-allow-origin')).not.toBe(evil);
  });
});

describe('expiry', () => {
  const user = 'expirer';
  let server: HaulServer;
  let token: string;
  let file: SourceFile;

  beforeAll(async () => {
    server = await startHaul({ env: { UPLOAD_EXPIRY_SECONDS: '2', EXPIRY_SWEEP_INTERVAL_SECONDS: '1' } });
    token = await server.token(user);
    file = await randomFile(2 * MiB);
  });

  afterAll(async () => {
    await stopAndRemoveData(server);
    await removeRandomFile(file);
  });

  it('expires an unfinished upload: Upload-Expires is announced, then 410 and its bytes are removed', async () => {
    const keptMetadata = { filename: 'kept.bin', blob: Buffer.from([0xff, 0xfe]) };
    const finished = await createUpload(server.tusEndpoint, token, {
      metadata: keptMetadata,
      length: 300_000,
      body: await readRange(file.path, 0, 300_000),
    });
    const started = Date.now();
    const { url, id, response } = await createUpload(server.tusEndpoint, token, { length: file.size });
    const expires = Date.parse(response.header('upload-expires') ?? '');
    // RFC 7231 dates have one-second resolution.
    expect(expires).toBeGreaterThanOrEqual(started - 1000);
    expect(expires).toBeLessThanOrEqual(started + 3000);

    const res = await patch(url, token, 0, await readRange(file.path, 0, MiB));
    expect(res.status).toBe(204);
    const stored = storedPath(server.dataDir, user, id);
    expect(await sizeOf(stored)).toBe(MiB);

    await waitFor(async () => (await head(url, token)).status === 410, { timeoutMs: 10_000, what: 'HEAD to answer 410', intervalMs: 100 });
    await waitFor(async () => (await sizeOf(stored)) === undefined && (await sizeOf(`${stored}.json`)) === undefined, {
      timeoutMs: 10_000, what: 'the expired bytes to be removed', intervalMs: 100,
    });
    // tus 1.0: 404 or 410 (PATCHes may be answered from a cache of recently seen uploads, which
    // cannot know the upload expired; tus then finds no storage: 404). Either way nothing is written.
    const late = await patch(url, token, MiB, await readRange(file.path, MiB, 2 * MiB));
    expect([404, 410]).toContain(late.status);
    expect(['UPLOAD_GONE', 'UPLOAD_NOT_FOUND']).toContain(late.json().code);
    expect(await sizeOf(stored)).toBeUndefined();
    expect(await sizeOf(`${stored}.json`)).toBeUndefined();
    expect((await head(url, token)).status).toBe(410);

    // A finished upload does not expire: its bytes stay and it still reports complete.
    const done = storedPath(server.dataDir, user, finished.id);
    expect(await sha256File(done)).toBe(await sha256File(file.path, 0, 300_000));
    const headDone = await head(finished.url, token);
    expect(headDone.status).toBe(200);
    expect(headDone.header('upload-offset')).toBe('300000');
    expect(headDone.header('upload-length')).toBe('300000');
    // Same pairs, same bytes (the order of keys carries no meaning in tus).
    expect(decodeMetadata(headDone.header('upload-metadata'))).toEqual(decodeMetadata(encodeMetadata(keptMetadata)));
  });
});
