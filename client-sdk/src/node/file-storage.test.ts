import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResumeIndex } from '../core/resume-storage.js';
import { defaultCacheDir, fileStorage } from './file-storage.js';

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-file-storage-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('fileStorage', () => {
  it('stores strings in a JSON file (mode 600) that many writers share without losing updates', async () => {
    const file = path.join(dir, 'nested', 'uploads.json');
    // Separate instances: each takes the lock for itself, as separate processes would.
    const writers = Array.from({ length: 8 }, () => fileStorage(file));
    await Promise.all(
      writers.flatMap((storage, w) => Array.from({ length: 5 }, (_, i) => storage.update!('counter', (current) => String(Number(current ?? 0) + 1)).then(() => storage.setItem(`w${w}-${i}`, 'x')))),
    );
    const reader = fileStorage(file);
    expect(await reader.getItem('counter')).toBe('40');
    expect(await reader.getItem('w7-4')).toBe('x');
    await reader.removeItem('w7-4');
    expect(await reader.getItem('w7-4')).toBeNull();
    if (process.platform !== 'win32') expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect((await fs.readdir(path.dirname(file))).filter((f) => f.endsWith('.tmp') || f.endsWith('.lock'))).toEqual([]);
  });

  it('takes over a stale lock left by a crashed process, and gives up on a live one', async () => {
    const file = path.join(dir, 'stale.json');
    await fs.mkdir(`${file}.lock`);
    const old = new Date(Date.now() - 60_000);
    await fs.utimes(`${file}.lock`, old, old);
    await fileStorage(file).setItem('a', '1');
    expect(await fileStorage(file).getItem('a')).toBe('1');

    await fs.mkdir(`${file}.lock`);
    await expect(fileStorage(file, { lockTimeoutMs: 100 }).setItem('b', '2')).rejects.toThrow(/locked/);
    await fs.rm(`${file}.lock`, { recursive: true });
  });

  it('treats a missing or damaged file as empty', async () => {
    expect(await fileStorage(path.join(dir, 'missing.json')).getItem('x')).toBeNull();
    const damaged = path.join(dir, 'damaged.json');
    await fs.writeFile(damaged, '{"half');
    const storage = fileStorage(damaged);
    expect(await storage.getItem('x')).toBeNull();
    await storage.setItem('x', 'y');
    expect(await storage.getItem('x')).toBe('y');
  });

  it('backs the resume index', async () => {
    const index = new ResumeIndex(fileStorage(path.join(dir, 'index.json')), 60_000);
    await index.save('fp', { uploadUrl: 'http://x/files/1', parallelUploadUrls: null, finalUrl: null, size: 1, metadata: {} });
    expect((await new ResumeIndex(fileStorage(path.join(dir, 'index.json')), 60_000).find('fp'))?.uploadUrl).toBe('http://x/files/1');
  });
});

describe('defaultCacheDir', () => {
  it('HAUL_CACHE_DIR wins, then XDG_CACHE_HOME, then ~/.cache (Linux)', () => {
    expect(defaultCacheDir({ HAUL_CACHE_DIR: '/tmp/h' })).toBe(path.resolve('/tmp/h'));
    if (process.platform === 'linux') {
      expect(defaultCacheDir({ XDG_CACHE_HOME: '/xdg' })).toBe('/xdg/haul');
      expect(defaultCacheDir({})).toBe(path.join(os.homedir(), '.cache', 'haul'));
    }
  });
});
