import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { randomFile, readRange, removeRandomFile, sha256, sha256File, sizeOf, type SourceFile, storedPath } from './helpers/files.js';
import { type HaulServer, startHaul, stopAndRemoveData } from './helpers/haul-server.js';
import { createUpload, head, offsetOf, patch, type RawResponse, request, TUS, uploadIdOf } from './helpers/tus.js';

/**
 * Who may do what on /files: every method but OPTIONS needs a valid bearer token, and a user
 * only ever sees their own uploads. Dev mode (tokens from /api/dev/token), AUTH_MODE=jwt with a
 * shared secret (tokens signed here), and AUTH_MODE=jwt with a JWKS served from this test.
 */

const MiB = 2 ** 20;
const now = () => Math.floor(Date.now() / 1000);

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
type Attempt = { name: string; send: (authorization: string | undefined) => Promise<RawResponse> };

/** Every method on the collection and on one upload, each a request tus would accept from its owner. */
function attempts(server: HaulServer, uploadUrl: string): Attempt[] {
  const call = (method: string, url: string, headers: Record<string, string | number> = {}, body?: Buffer) =>
    (authorization: string | undefined) =>
      request({ method, url, headers: { ...TUS, Authorization: authorization, ...headers }, body });
  const bytes = { 'Upload-Offset': 0, 'Content-Type': 'application/offset+octet-stream' };
  return [
    { name: 'POST /files', send: call('POST', server.tusEndpoint, { 'Upload-Length': 100 }) },
    { name: 'GET /files', send: call('GET', server.tusEndpoint) },
    { name: 'HEAD /files', send: call('HEAD', server.tusEndpoint) },
    { name: 'PATCH /files', send: call('PATCH', server.tusEndpoint, bytes, Buffer.alloc(10)) },
    { name: 'DELETE /files', send: call('DELETE', server.tusEndpoint) },
    { name: 'POST /files/<id>', send: call('POST', uploadUrl, { 'Upload-Length': 100 }) },
    { name: 'HEAD /files/<id>', send: call('HEAD', uploadUrl) },
    { name: 'PATCH /files/<id>', send: call('PATCH', uploadUrl, bytes, Buffer.alloc(10)) },
    { name: 'DELETE /files/<id>', send: call('DELETE', uploadUrl) },
    { name: 'GET /files/<id>', send: call('GET', uploadUrl) },
    { name: 'POST /files/<id> as DELETE', send: call('POST', uploadUrl, { 'X-HTTP-Method-Override': 'DELETE' }) },
  ];
}

function expectUnauthorized(res: RawResponse, label: string, code?: string) {
  expect(res.status, label).toBe(401);
  expect(res.header('www-authenticate'), label).toMatch(/^Bearer realm="haul"/);
  expect(res.header('tus-resumable'), label).toBe('1.0.0');
  if (res.body && code) expect(res.json().code, label).toBe(code);
}

/** The upload (partly written) that every refused request must leave exactly as it was. */
async function protectedUpload(server: HaulServer, token: string, user: string, file: SourceFile) {
  const { url, id } = await createUpload(server.tusEndpoint, token, { length: file.size });
  const first = await readRange(file.path, 0, MiB);
  expect((await patch(url, token, 0, first)).status).toBe(204);
  const stored = storedPath(server.dataDir, user, id);
  const hash = await sha256File(stored);
  return {
    url,
    id,
    async expectUntouched() {
      expect(await offsetOf(url, token)).toBe(MiB);
      expect(await sizeOf(stored)).toBe(MiB);
      expect(await sha256File(stored)).toBe(hash);
    },
  };
}

let file: SourceFile;
beforeAll(async () => {
  file = await randomFile(2 * MiB);
});
afterAll(() => removeRandomFile(file));

describe('AUTH_MODE=dev', () => {
  let server: HaulServer;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    server = await startHaul();
    alice = await server.token('alice@example.com');
    bob = await server.token('bob@example.com');
  });
  afterAll(() => stopAndRemoveData(server));

  it('answers every method without a token with 401 and WWW-Authenticate', async () => {
    const upload = await protectedUpload(server, alice, 'alice@example.com', file);
    for (const attempt of attempts(server, upload.url)) {
      expectUnauthorized(await attempt.send(undefined), attempt.name, 'AUTH_REQUIRED');
    }
    await upload.expectUntouched();
  });

  it('answers malformed or tampered tokens with 401', async () => {
    const upload = await protectedUpload(server, alice, 'alice@example.com', file);
    const [header, payload] = alice.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 'alice@example.com', iss: 'haul-dev', exp: now() + 600 })).toString('base64url');
    const malformed = [
      'Bearer not-a-jwt',
      'Bearer a.b.c',
      'Bearer ',
      'Bearer',
      'Basic YWxpY2U6c2VjcmV0',
      `Bearer ${alice} extra`,
      `Bearer ${header}.${payload}.`, // signature stripped
      `Bearer ${header}.${forged}.${alice.split('.')[2]}`, // payload swapped, old signature
      `Bearer ${alice.slice(0, -4)}AAAA`, // signature altered
      `Bearer ${new UnsecuredJWT({ sub: 'alice@example.com', iss: 'haul-dev' }).setExpirationTime('10m').encode()}`,
    ];
    for (const authorization of malformed) {
      for (const attempt of attempts(server, upload.url)) {
        expectUnauthorized(await attempt.send(authorization), `${attempt.name} with "${authorization.slice(0, 30)}"`);
      }
    }
    await upload.expectUntouched();
  });

  it("answers another user's upload exactly like a missing one (404), for every method, and leaves it alone", async () => {
    const upload = await protectedUpload(server, alice, 'alice@example.com', file);
    const missingUrl = `${server.tusEndpoint}${'A'.repeat(24)}`;
    const asBob = attempts(server, upload.url).filter((a) => a.name.includes('<id>'));
    const onMissing = attempts(server, missingUrl).filter((a) => a.name.includes('<id>'));
    const extra = (url: string) => [
      () => patch(url, bob, MiB, Buffer.alloc(1000)), // the right offset, too
      () => request({ method: 'POST', url, token: bob, headers: { ...TUS, 'X-HTTP-Method-Override': 'HEAD' } }),
      () => request({
        method: 'POST', url, token: bob, body: Buffer.alloc(10),
        headers: { ...TUS, 'X-HTTP-Method-Override': 'PATCH', 'Upload-Offset': MiB, 'Content-Type': 'application/offset+octet-stream' },
      }),
    ];
    const seen: Array<[number, string]> = [];
    for (const [i, attempt] of asBob.entries()) {
      const theirs = await attempt.send(`Bearer ${bob}`);
      const missing = await onMissing[i]!.send(`Bearer ${bob}`);
      expect([theirs.status, theirs.body], attempt.name).toEqual([missing.status, missing.body]);
      // POST on an upload URL is never allowed; anything else is "not found".
      const want = attempt.name === 'POST /files/<id>' ? 405 : 404;
      expect(theirs.status, attempt.name).toBe(want);
      if (want === 404 && theirs.body) expect(theirs.json().code, attempt.name).toBe('UPLOAD_NOT_FOUND');
      seen.push([theirs.status, attempt.name]);
    }
    for (const [i, send] of extra(upload.url).entries()) {
      const theirs = await send();
      const missing = await extra(missingUrl)[i]!();
      expect(theirs.status).toBe(404);
      expect([theirs.status, theirs.body]).toEqual([missing.status, missing.body]);
    }
    expect(seen.length).toBe(6);
    await upload.expectUntouched();

    // A finished upload is just as invisible.
    const whole = await readRange(file.path, 0, file.size);
    const done = await createUpload(server.tusEndpoint, alice, { length: file.size, body: whole });
    expect((await head(done.url, bob)).status).toBe(404);
    expect((await request({ method: 'DELETE', url: done.url, token: bob, headers: TUS })).status).toBe(404);
    expect(await sha256File(storedPath(server.dataDir, 'alice@example.com', done.id))).toBe(file.sha256);
    expect(await offsetOf(done.url, alice)).toBe(file.size);
  });

  it('OPTIONS works without a token', async () => {
    const res = await request({ method: 'OPTIONS', url: server.tusEndpoint });
    expect(res.status).toBe(204);
  });
});

describe('AUTH_MODE=jwt with JWT_SECRET', () => {
  const secret = randomBytes(32).toString('base64url');
  const key = new TextEncoder().encode(secret);
  let server: HaulServer;

  /** `exp: null` leaves the expiry out. */
  const sign = (claims: JWTPayload, signingKey: Uint8Array = key, exp: number | null = now() + 600) => {
    const jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
    if (exp !== null) jwt.setExpirationTime(exp);
    return jwt.sign(signingKey);
  };

  beforeAll(async () => {
    // Auth does not depend on the metadata backend; PostgreSQL starts faster than PGlite.
    server = await startHaul({ env: { AUTH_MODE: 'jwt', JWT_SECRET: secret, DATABASE_URL: inject('databaseUrl') } });
  });
  afterAll(() => stopAndRemoveData(server));

  it('accepts a token signed with the secret', async () => {
    const token = await sign({ sub: 'carol' });
    const { url } = await createUpload(server.tusEndpoint, token, { length: 10, body: Buffer.from('0123456789') });
    expect(await offsetOf(url, token)).toBe(10);
    expect(await sha256File(storedPath(server.dataDir, 'carol', uploadIdOf(url)))).toBe(sha256('0123456789'));
  });

  it('answers expired, wrong-secret and incomplete tokens with 401 on every method', async () => {
    const good = await sign({ sub: 'dave' });
    const upload = await protectedUpload(server, good, 'dave', file);
    const bad = {
      expired: await sign({ sub: 'dave' }, key, now() - 120),
      'wrong secret': await sign({ sub: 'dave' }, new TextEncoder().encode(randomBytes(32).toString('hex'))),
      'no exp': await sign({ sub: 'dave' }, key, null),
      'no sub': await sign({}),
      'not yet valid': await new SignJWT({ sub: 'dave' }).setProtectedHeader({ alg: 'HS256' }).setNotBefore(now() + 600).setExpirationTime(now() + 1200).sign(key),
      'alg none': new UnsecuredJWT({ sub: 'dave' }).setExpirationTime(now() + 600).encode(),
    };
    for (const [kind, token] of Object.entries(bad)) {
      for (const attempt of attempts(server, upload.url)) {
        const res = await attempt.send(`Bearer ${token}`);
        expectUnauthorized(res, `${attempt.name} with a token: ${kind}`, 'AUTH_INVALID');
        expect(res.header('www-authenticate'), kind).toContain('error="invalid_token"');
      }
    }
    const expired = await request({ method: 'POST', url: server.tusEndpoint, token: bad.expired, headers: { ...TUS, 'Upload-Length': 1 } });
    expect(expired.json().message).toMatch(/expired/i);
    await upload.expectUntouched();
  });

  it('issues no development tokens', async () => {
    const res = await request({ method: 'POST', url: `${server.url}/api/dev/token`, body: JSON.stringify({ user: 'mallory' }) });
    expect(res.status).toBe(404);
    expect(res.json().code).toBe('DEV_AUTH_DISABLED');
  });
});

describe('AUTH_MODE=jwt with JWKS_URL', () => {
  let jwks: http.Server;
  let jwksRequests = 0;
  let server: HaulServer;
  let privateKey: PrivateKey;
  const kid = 'test-key-1';
  const issuer = 'https://issuer.example';
  const audience = 'haul-tests';

  const sign = (key: PrivateKey | Uint8Array, alg: string, claims: JWTPayload = {}) =>
    new SignJWT({ sub: 'erin', iss: issuer, aud: audience, ...claims })
      .setProtectedHeader({ alg, kid })
      .setIssuedAt()
      .setExpirationTime(now() + 600)
      .sign(key);

  beforeAll(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' };
    jwks = http.createServer((req, res) => {
      jwksRequests++;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const { port } = jwks.address() as AddressInfo;
    server = await startHaul({
      env: {
        AUTH_MODE: 'jwt',
        JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
        JWT_ISSUER: issuer,
        JWT_AUDIENCE: audience,
        DATABASE_URL: inject('databaseUrl'),
      },
    });
  });
  afterAll(async () => {
    await stopAndRemoveData(server);
    await new Promise((resolve) => jwks?.close(resolve));
  });

  it('accepts an RS256 token signed with a key from the JWKS', async () => {
    const token = await sign(privateKey, 'RS256');
    const { url } = await createUpload(server.tusEndpoint, token, { length: 5, body: Buffer.from('hello') });
    expect(await offsetOf(url, token)).toBe(5);
    expect(jwksRequests).toBeGreaterThanOrEqual(1);
    expect(jwksRequests).toBeLessThanOrEqual(3);
  });

  it('refuses HS256 tokens, tokens signed by another key, and wrong issuer or audience', async () => {
    const good = await sign(privateKey, 'RS256');
    const upload = await protectedUpload(server, good, 'erin', file);
    const stranger = await generateKeyPair('RS256');
    const bad = {
      'HS256 with a random secret': await sign(randomBytes(32), 'HS256'),
      'RS256 by a key not in the JWKS': await sign(stranger.privateKey, 'RS256'),
      'wrong issuer': await sign(privateKey, 'RS256', { iss: 'https://evil.example' }),
      'wrong audience': await sign(privateKey, 'RS256', { aud: 'someone-else' }),
    };
    for (const [kind, token] of Object.entries(bad)) {
      for (const attempt of attempts(server, upload.url)) {
        expectUnauthorized(await attempt.send(`Bearer ${token}`), `${attempt.name} with ${kind}`, 'AUTH_INVALID');
      }
    }
    await upload.expectUntouched();
  });
});
