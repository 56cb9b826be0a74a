import fs from 'node:fs/promises';
import path from 'node:path';
import { FileStore } from '@tus/file-store';
import { type DataStore, ERRORS, type Upload } from '@tus/utils';
import type { Config } from '../config.js';
import { HaulS3Store } from './haul-s3-store.js';
import { concatenateFiles } from './disk-concat.js';
import { createKeyLayout, type KeyLayout } from './key-layout.js';
import type { PartialObject } from './s3-concat.js';

/** The storage backend behind tus, plus what Haul itself needs from it. */
export interface Storage {
  readonly kind: 'disk' | 's3';
  readonly store: DataStore;
  readonly layout: KeyLayout;
  /** Throws if the backend cannot be used right now (readiness probe). */
  check(): Promise<void>;
  /**
   * tus Concatenation: stores `final` (size and metadata set, offset = size) as the bytes of
   * `partials` in order, without holding any of them in memory. Partials are left untouched.
   */
  concatenate(final: Upload, partials: readonly PartialObject[]): Promise<void>;
  /** Removes everything an upload stored; succeeds if it is already gone. */
  remove(key: string): Promise<void>;
  /**
   * Removes unfinished uploads begun before `before` that `isLive` does not claim, and returns
   * how many. S3 only: an abandoned multipart upload costs money and is invisible in bucket
   * listings. Only keys under our prefix are considered.
   */
  sweepAbandoned?(before: Date, isLive: (key: string) => Promise<boolean>): Promise<number>;
}

const isNotFound = (error: unknown) =>
  error === ERRORS.FILE_NOT_FOUND ||
  (typeof error === 'object' && error !== null && (error as { status_code?: number }).status_code === 404);

/** Disk (DATA_DIR/files) by default; S3 when S3_BUCKET is set. */
export async function createStorage(config: Config): Promise<Storage> {
  const expiryMs = config.uploads.expirySeconds * 1000;
  if (config.s3) {
    const store = new HaulS3Store(config.s3, expiryMs);
    const prefix = config.s3.prefix;
    return {
      kind: 's3',
      store,
      layout: createKeyLayout(prefix),
      check: () => store.ping(),
      concatenate: (final, partials) => store.concatenate(final, partials),
      sweepAbandoned: async (before, isLive) => {
        let removed = 0;
        for await (const { key, uploadId } of store.listMultipartUploadsBefore(prefix, before)) {
          if (await isLive(key)) continue;
          await store.removeAbandoned(key, uploadId);
          removed++;
        }
        return removed;
      },
      remove: async (key) => {
        try {
          await store.remove(key);
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      },
    };
  }
  const directory = path.join(config.dataDir, 'files');
  await fs.mkdir(directory, { recursive: true });
  const store = new FileStore({ directory, expirationPeriodInMilliseconds: expiryMs });
  store.extensions = [...store.extensions, 'concatenation'];
  return {
    kind: 'disk',
    store,
    layout: createKeyLayout(''),
    check: async () => {
      await fs.access(directory, fs.constants.W_OK);
    },
    concatenate: async (final, partials) => {
      await concatenateFiles(directory, final.id, partials.map((p) => p.key));
      final.storage = { type: 'file', path: path.join(directory, final.id) };
      await store.configstore.set(final.id, final);
    },
    remove: async (key) => {
      try {
        await store.remove(key);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      // FileStore.remove stops at the first missing piece; make sure the metadata goes too.
      await fs.rm(path.join(directory, `${key}.json`), { force: true });
    },
  };
}
