import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { persistedSecret } from './tokens.js';

/** The secrets Haul generates and keeps in DATA_DIR (dev token key, share-link key), on the real file system. */
describe('persistedSecret', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-secret-'));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  const text = (secret: Uint8Array) => new TextDecoder().decode(secret);

  it('is generated once (mode 600) and the same on every later call', async () => {
    const first = text(await persistedSecret(dir, 'link-secret'));
    expect(first).toMatch(/^[\w-]{43}$/);
    expect(text(await persistedSecret(dir, 'link-secret'))).toBe(first);
    expect((await fs.stat(path.join(dir, 'link-secret'))).mode & 0o777).toBe(0o600);
  });

  it('calls at once all get the one secret and leave no temporary files', async () => {
    const secrets = await Promise.all(Array.from({ length: 20 }, () => persistedSecret(dir, 'link-secret')));
    expect(new Set(secrets.map(text)).size).toBe(1);
    expect(text(secrets[0]!)).toMatch(/^[\w-]{43}$/);
    expect(await fs.readdir(dir)).toEqual(['link-secret']);
  });

  it('one a crash left empty or short is replaced, never used as a key', async () => {
    for (const left of ['', 'abc']) {
      await fs.writeFile(path.join(dir, 'dev-jwt-secret'), left);
      const secret = text(await persistedSecret(dir, 'dev-jwt-secret'));
      expect(secret).toMatch(/^[\w-]{43}$/);
      expect(await fs.readFile(path.join(dir, 'dev-jwt-secret'), 'utf8')).toBe(secret);
    }
  });
});
