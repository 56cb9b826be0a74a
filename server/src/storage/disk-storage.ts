import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { concatenateFiles } from './disk-concat.js';
import { HaulFileStore } from './haul-file-store.js';
import { createKeyLayout } from './key-layout.js';
import { isNotFound, type Storage } from './storage.js';

/**
 * Uploads under DATA_DIR/files (tus FileStore), derived files beside them, infected files moved
 * to DATA_DIR/quarantine (outside anything that serves files).
 */
/** Where the disk store keeps uploads under DATA_DIR. */
export const diskFilesDirectory = (dataDir: string) => path.join(dataDir, 'files');

export async function createDiskStorage(dataDir: string, expiryMs: number): Promise<Storage> {
  const directory = diskFilesDirectory(dataDir);
  const quarantineDir = path.join(dataDir, 'quarantine');
  await fsp.mkdir(directory, { recursive: true });
  const store = new HaulFileStore({ directory, expirationPeriodInMilliseconds: expiryMs });
  const layout = createKeyLayout('');
  const fileOf = (key: string) => {
    const file = path.resolve(directory, key);
    if (!file.startsWith(`${path.resolve(directory)}${path.sep}`)) throw new Error('storage key outside the data directory');
    return file;
  };

  return {
    kind: 'disk',
    capabilities: { concatenation: true },
    store,
    layout,
    writeVerified: (body, key, offset) => store.writeVerified(body, key, offset),
    check: async () => {
      await fsp.access(directory, fs.constants.W_OK);
    },
    read: async (key, range) => {
      const handle = await fsp.open(fileOf(key), 'r');
      return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
    },
    localPath: (key) => fileOf(key),
    replace: async (key, file) => {
      const target = fileOf(key);
      const next = `${target}.replacing`;
      await fsp.copyFile(file, next);
      const handle = await fsp.open(next, 'r+');
      try {
        await handle.sync(); // the new bytes are on disk before the name points at them
      } finally {
        await handle.close();
      }
      await fsp.rename(next, target);
    },
    putDerived: async (key, body) => {
      await fsp.mkdir(path.dirname(fileOf(key)), { recursive: true });
      await fsp.writeFile(`${fileOf(key)}.tmp`, body);
      await fsp.rename(`${fileOf(key)}.tmp`, fileOf(key));
    },
    quarantine: async (key) => {
      const target = path.join(quarantineDir, key);
      await fsp.mkdir(path.dirname(target), { recursive: true });
      await fsp.rename(fileOf(key), target).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
    },
    removeQuarantined: async (key) => {
      const target = path.resolve(quarantineDir, key);
      if (!target.startsWith(`${path.resolve(quarantineDir)}${path.sep}`)) throw new Error('storage key outside the quarantine directory');
      await fsp.rm(target, { force: true });
    },
    concatenate: async (final, partials) => {
      await concatenateFiles(directory, final.id, partials.map((p) => p.key));
      final.storage = { type: 'file', path: fileOf(final.id) };
      await store.configstore.set(final.id, final);
    },
    copy: async (from, to) => {
      const target = fileOf(to);
      await fsp.mkdir(path.dirname(target), { recursive: true });
      await fsp.rm(target, { force: true });
      // One inode under two names: instant, whatever the size; removing either name keeps the other.
      await fsp.link(fileOf(from), target).catch(async (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EPERM' && error.code !== 'EXDEV' && error.code !== 'ENOTSUP') throw error;
        await fsp.copyFile(fileOf(from), `${target}.copying`);
        await fsp.rename(`${target}.copying`, target);
      });
    },
    removeFile: async (key) => {
      await fsp.rm(fileOf(key), { force: true });
    },
    remove: async (key) => {
      try {
        await store.remove(key);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      // FileStore.remove stops at the first missing piece; make sure metadata and derived files go too.
      const dir = path.dirname(fileOf(key));
      const base = path.basename(key);
      const siblings = await fsp.readdir(dir).catch(() => [] as string[]);
      for (const name of siblings) {
        // `.replacing`: a location-stripped copy a crash left before its rename (Storage.replace);
        // `.json.writing`: a record a crash left before its rename (haul-file-store.ts).
        const leftovers = [`${base}.json`, `${base}.json.writing`, `${base}.unverified`, `${base}.replacing`];
        if (leftovers.includes(name) || name.startsWith(`${base}.thumb-`)) {
          await fsp.rm(path.join(dir, name), { force: true });
        }
      }
    },
  };
}
