import { describe, expect, it } from 'vitest';
import { memoryStorage, RESUME_STORAGE_KEY, ResumeIndex, type ResumeStorage, toPreviousUpload, UploadUrlStorage } from './resume-storage.js';

const entry = (uploadUrl: string) => ({ uploadUrl, parallelUploadUrls: null, finalUrl: null, size: 10, metadata: { filename: 'a.txt' } });

describe('ResumeIndex', () => {
  it('saves, finds, patches and removes entries in one JSON document', async () => {
    const storage = memoryStorage();
    const index = new ResumeIndex(storage, 60_000, () => 1_000);
    await index.save('fp1', entry('http://x/files/1'));
    await index.save('fp2', entry('http://x/files/2'));
    expect(await index.find('fp1')).toEqual({ ...entry('http://x/files/1'), storedAt: 1_000 });
    await index.patch('fp1', { finalUrl: 'http://x/files/f' });
    expect((await index.find('fp1'))?.finalUrl).toBe('http://x/files/f');
    await index.patch('missing', { finalUrl: 'x' });
    expect(await index.find('missing')).toBeUndefined();
    expect(JSON.parse((await storage.getItem(RESUME_STORAGE_KEY))!)).toMatchObject({ version: 1, uploads: { fp1: {}, fp2: {} } });
    await index.remove('fp1');
    await index.remove('fp2');
    expect(await storage.getItem(RESUME_STORAGE_KEY)).toBeNull();
  });

  it('forgets entries older than the TTL (and ones from the future)', async () => {
    let now = 0;
    const storage = memoryStorage();
    const index = new ResumeIndex(storage, 1_000, () => now);
    await index.save('old', entry('http://x/files/old'));
    now = 900;
    await index.save('new', entry('http://x/files/new'));
    now = 1_500;
    expect(await index.find('old')).toBeUndefined();
    expect(await index.find('new')).toBeDefined();
    expect((await index.entries()).map(([key]) => key)).toEqual(['new']);
    now = -5_000;
    expect(await index.entries()).toEqual([]);
  });

  it('keeps at most 500 entries, dropping the oldest', async () => {
    let now = 0;
    const index = new ResumeIndex(memoryStorage(), 1e9, () => now);
    for (let i = 0; i < 505; i++) {
      now = i;
      await index.save(`fp${i}`, entry(`http://x/files/${i}`));
    }
    const keys = (await index.entries()).map(([key]) => key);
    expect(keys).toHaveLength(500);
    expect(keys).not.toContain('fp4');
    expect(keys).toContain('fp5');
  });

  it('survives damaged documents and failing storage (resuming is best effort)', async () => {
    const damaged = memoryStorage();
    await damaged.setItem(RESUME_STORAGE_KEY, '{not json');
    const index = new ResumeIndex(damaged, 60_000);
    expect(await index.find('x')).toBeUndefined();
    await index.save('x', entry('http://x/files/x'));
    expect(await index.find('x')).toBeDefined();

    const broken: ResumeStorage = {
      getItem: () => Promise.reject(new Error('quota')),
      setItem: () => {
        throw new Error('quota');
      },
      removeItem: () => {},
    };
    const failing = new ResumeIndex(broken, 60_000);
    await expect(failing.save('x', entry('http://x/files/x'))).resolves.toBeUndefined();
    await expect(failing.find('x')).resolves.toBeUndefined();
  });

  it('serialises concurrent changes, and uses update() where the storage has it', async () => {
    const items = new Map<string, string>();
    let updates = 0;
    const storage: ResumeStorage = {
      getItem: async (key) => items.get(key) ?? null,
      setItem: async (key, value) => void items.set(key, value),
      removeItem: async (key) => void items.delete(key),
      async update(key, apply) {
        updates++;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
        const next = apply(items.get(key) ?? null);
        if (next === null) items.delete(key);
        else items.set(key, next);
      },
    };
    const index = new ResumeIndex(storage, 60_000);
    await Promise.all(Array.from({ length: 30 }, (_, i) => index.save(`fp${i}`, entry(`http://x/files/${i}`))));
    expect(await index.entries()).toHaveLength(30);
    expect(updates).toBeGreaterThanOrEqual(31);
  });
});

describe('UploadUrlStorage (what tus-js-client sees)', () => {
  it('remembers what tus saves, and persists it only with an index', async () => {
    const index = new ResumeIndex(memoryStorage(), 60_000);
    const persisted = new UploadUrlStorage(index);
    const upload = { size: 10, metadata: {}, creationTime: 'now', urlStorageKey: '', uploadUrl: null, parallelUploadUrls: ['http://x/files/p1', 'http://x/files/p2'] };
    const key = await persisted.addUpload('fp', upload);
    expect(key).toBe('fp');
    expect(persisted.saved?.parallelUploadUrls).toEqual(upload.parallelUploadUrls);
    expect(await persisted.findUploadsByFingerprint()).toHaveLength(1);
    expect((await index.find('fp'))?.parallelUploadUrls).toEqual(upload.parallelUploadUrls);
    const previous = toPreviousUpload('fp', (await index.find('fp'))!);
    expect(previous).toMatchObject({ urlStorageKey: 'fp', uploadUrl: null, parallelUploadUrls: upload.parallelUploadUrls, size: 10 });
    await persisted.removeUpload('fp');
    expect(persisted.saved).toBeNull();
    expect(await index.find('fp')).toBeUndefined();

    const ephemeral = new UploadUrlStorage(null);
    await ephemeral.addUpload('fp', { ...upload, uploadUrl: 'http://x/files/1', parallelUploadUrls: null });
    expect(ephemeral.saved?.uploadUrl).toBe('http://x/files/1');
    expect(await index.find('fp')).toBeUndefined();
  });
});
