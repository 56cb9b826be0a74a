import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ResumeStorage } from '../core/resume-storage.js';

/**
 * The directory where the Node SDK and the CLI keep resume state: `$HAUL_CACHE_DIR` if set,
 * else the OS cache directory — `$XDG_CACHE_HOME/haul` or `~/.cache/haul` on Linux,
 * `~/Library/Caches/haul` on macOS, `%LOCALAPPDATA%\haul\Cache` on Windows.
 *
 * @example
 * ```ts
 * import { defaultCacheDir } from '@haul/client/node';
 * console.log(defaultCacheDir()); // /home/me/.cache/haul
 * ```
 */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HAUL_CACHE_DIR) return path.resolve(env.HAUL_CACHE_DIR);
  const home = os.homedir();
  if (process.platform === 'win32') return path.join(env.LOCALAPPDATA ?? path.join(home, 'AppData', 'Local'), 'haul', 'Cache');
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Caches', 'haul');
  return path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'haul');
}

/**
 * Options of {@link fileStorage}.
 *
 * @example
 * ```ts
 * const storage = fileStorage('/var/lib/myapp/haul-uploads.json', { lockTimeoutMs: 10_000 } satisfies FileStorageOptions);
 * ```
 */
export interface FileStorageOptions {
  /** Give up waiting for another process's lock after this long. Default 5 s. */
  lockTimeoutMs?: number;
}

const STALE_LOCK_MS = 10_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A {@link ResumeStorage} in one JSON file (mode 600, directory 700), safe to share between
 * processes: every change happens under a lock directory and is written atomically (temporary
 * file + rename). The default storage of `@haul/client/node`: `<defaultCacheDir()>/uploads.json`.
 *
 * @example
 * ```ts
 * import { createHaulClient, fileStorage } from '@haul/client/node';
 * const client = createHaulClient({ endpoint, getToken, storage: fileStorage('/tmp/my-uploads.json') });
 * ```
 */
export function fileStorage(file: string = path.join(defaultCacheDir(), 'uploads.json'), options: FileStorageOptions = {}): ResumeStorage {
  const lockDir = `${file}.lock`;
  const lockTimeoutMs = options.lockTimeoutMs ?? 5_000;

  async function read(): Promise<Record<string, string>> {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return {};
      const items: Record<string, string> = {};
      for (const [key, value] of Object.entries(parsed)) if (typeof value === 'string') items[key] = value;
      return items;
    } catch {
      return {}; // damaged (a crash mid-write cannot cause this, rename is atomic; a human might)
    }
  }

  async function write(items: Record<string, string>): Promise<void> {
    const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await fs.writeFile(temporary, JSON.stringify(items, null, 1), { mode: 0o600 });
    try {
      await fs.rename(temporary, file);
    } catch (error) {
      await fs.rm(temporary, { force: true });
      throw error;
    }
  }

  async function withLock<T>(work: () => Promise<T>): Promise<T> {
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const deadline = Date.now() + lockTimeoutMs;
    for (;;) {
      try {
        await fs.mkdir(lockDir);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        // A lock left by a crashed process: taken over once stale.
        const stat = await fs.stat(lockDir).catch(() => undefined);
        if (stat && Date.now() - stat.mtimeMs > STALE_LOCK_MS) {
          await fs.rm(lockDir, { recursive: true, force: true });
          continue;
        }
        if (Date.now() > deadline) throw new Error(`${lockDir}: locked by another process for more than ${lockTimeoutMs} ms`);
        await sleep(10 + Math.random() * 30);
      }
    }
    try {
      return await work();
    } finally {
      await fs.rm(lockDir, { recursive: true, force: true });
    }
  }

  const update = (key: string, apply: (current: string | null) => string | null) =>
    withLock(async () => {
      const items = await read();
      const current = items[key] ?? null;
      const next = apply(current);
      if (next === current) return;
      if (next === null) delete items[key];
      else items[key] = next;
      await write(items);
    });

  return {
    getItem: async (key) => (await read())[key] ?? null,
    setItem: (key, value) => update(key, () => value),
    removeItem: (key) => update(key, () => null),
    update,
  };
}
