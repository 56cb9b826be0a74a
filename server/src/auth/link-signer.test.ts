import { createHmac } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../config.js';
import { createLinkSigner } from './link-signer.js';

const LINK_SECRET = 'a-link-secret-of-at-least-32-characters!';
const JWT_SECRET = 'a-jwt-secret-of-at-least-32-characters!!';
const ID = 'AbCdEfGhIjKlMnOpQrStUvWx';

let dataDir: string;
beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-link-signer-'));
});
afterAll(async () => {
  await fs.rm(dataDir, { recursive: true, force: true });
});
afterEach(() => {
  vi.useRealTimers();
});

const signer = (env: Record<string, string> = {}) => createLinkSigner(loadConfig({ DATA_DIR: dataDir, LINK_SECRET, ...env }));
const parts = (linkPath: string) => {
  const [, api, links, id, expires, signature] = linkPath.split('/');
  expect([api, links]).toEqual(['api', 'links']);
  return { id: id!, expires: expires!, signature: signature! };
};

describe('createLinkSigner', () => {
  it('a link is /api/links/<id>/<expires>/<HMAC-SHA256(LINK_SECRET, "<id>.<expires>") base64url>', async () => {
    vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00.700Z') });
    const link = (await signer()).create(ID, 3600);
    const expires = Date.parse('2030-01-01T01:00:00Z') / 1000;
    const signature = createHmac('sha256', Buffer.from(LINK_SECRET)).update(`${ID}.${expires}`).digest('base64url');
    expect(link).toEqual({ path: `/api/links/${ID}/${expires}/${signature}`, expiresAt: new Date(expires * 1000) });
  });

  it('the default lifetime is LINK_TTL_SECONDS', async () => {
    vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
    const link = (await signer({ LINK_TTL_SECONDS: '120' })).create(ID);
    expect(link.expiresAt).toEqual(new Date('2030-01-01T00:02:00Z'));
  });

  it('valid until the second it expires, then expired', async () => {
    vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
    const links = await signer();
    const { id, expires, signature } = parts(links.create(ID, 60).path);
    expect(links.verify(id, expires, signature)).toBe('valid');
    vi.setSystemTime(new Date('2030-01-01T00:01:00Z'));
    expect(links.verify(id, expires, signature)).toBe('valid');
    vi.setSystemTime(new Date('2030-01-01T00:01:00.001Z'));
    expect(links.verify(id, expires, signature)).toBe('expired');
  });

  it('any change to id, expiry or signature makes it invalid (not expired)', async () => {
    const links = await signer();
    const { id, expires, signature } = parts(links.create(ID, 600).path);
    const past = String(Number(expires) - 10_000);
    const cases: Array<[string, string, string]> = [
      ['BbCdEfGhIjKlMnOpQrStUvWx', expires, signature],
      [id, String(Number(expires) + 1), signature],
      [id, past, signature], // an "expired" time under a signature made for another one
      [id, expires, (signature[0] === 'A' ? 'B' : 'A') + signature.slice(1)],
      [id, expires, signature.slice(0, -1)],
      [id, expires, `${signature}A`],
      [id, expires, ''],
      [id, 'soon', signature],
      [id, `${expires}.5`, signature],
      [id, `-${expires}`, signature],
      [id, '1'.repeat(13), signature],
      [id, expires, Buffer.from(signature, 'base64url').toString('base64')], // same bytes, other alphabet/padding
    ];
    for (const [i, e, s] of cases) expect(links.verify(i, e, s), `${i} ${e} ${s}`).toBe('invalid');
  });

  it('links signed with another key are invalid; the same LINK_SECRET on another instance verifies them', async () => {
    const mine = await signer();
    const theirs = await signer({ LINK_SECRET: 'another-link-secret-of-32-characters-or-more' });
    const sameKeyElsewhere = await signer();
    const { id, expires, signature } = parts(mine.create(ID, 600).path);
    expect(theirs.verify(id, expires, signature)).toBe('invalid');
    expect(sameKeyElsewhere.verify(id, expires, signature)).toBe('valid');
  });

  it('without LINK_SECRET the key derives from JWT_SECRET (not the JWT secret itself)', async () => {
    const a = await createLinkSigner(loadConfig({ DATA_DIR: dataDir, JWT_SECRET }));
    const b = await createLinkSigner(loadConfig({ DATA_DIR: dataDir, JWT_SECRET }));
    const { id, expires, signature } = parts(a.create(ID, 600).path);
    expect(b.verify(id, expires, signature)).toBe('valid');
    const withJwtAsLinkSecret = await signer({ LINK_SECRET: JWT_SECRET });
    expect(withJwtAsLinkSecret.verify(id, expires, signature)).toBe('invalid');
    // LINK_SECRET, when set, wins.
    expect((await signer({ JWT_SECRET })).verify(id, expires, signature)).toBe('invalid');
  });

  it('with neither, a secret generated once in DATA_DIR (restarts keep links working)', async () => {
    const own = await fs.mkdtemp(path.join(dataDir, 'own-'));
    const first = await createLinkSigner(loadConfig({ DATA_DIR: own }));
    const restarted = await createLinkSigner(loadConfig({ DATA_DIR: own }));
    const elsewhere = await createLinkSigner(loadConfig({ DATA_DIR: await fs.mkdtemp(path.join(dataDir, 'other-')) }));
    const { id, expires, signature } = parts(first.create(ID, 600).path);
    expect(restarted.verify(id, expires, signature)).toBe('valid');
    expect(elsewhere.verify(id, expires, signature)).toBe('invalid');
    expect((await fs.readFile(path.join(own, 'link-secret'), 'utf8')).length).toBeGreaterThanOrEqual(32);
  });
});
