import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { LibraryServer } from './library-server.js';
import { localS3 } from './s3.js';
import { bearer } from './uploads-api.js';

/**
 * Deduplication tests (tests/dedup*.test.ts) look at what a backend really stores: the stored
 * files — an upload's bytes or a moved content's — as opposed to tus metadata (`.json`, `.info`,
 * `.part`) and previews (`.thumb-…`), which all have a dot in their last segment (upload ids and
 * content names never do).
 */

const s3 = localS3();
export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const isStoredFile = (key: string) => !path.posix.basename(key).includes('.');

export interface StoredFile {
  key: string;
  size: number;
}

export interface DedupBackend {
  name: string;
  /** Server environment: on S3 a fresh prefix per call, so each server sees only its own objects. */
  env(): Record<string, string>;
  /** Every name the server's storage holds (files, metadata, previews, quarantine), relative to its root. */
  names(server: LibraryServer): Promise<string[]>;
  /** The stored files, with their sizes. */
  files(server: LibraryServer): Promise<StoredFile[]>;
}

const s3Prefix = (server: LibraryServer) => server.haul.config.s3!.prefix;

/**
 * The objects under `prefix` that exist: Swift's container listings are updated asynchronously
 * and may still name an object just deleted, so each listed key is confirmed with a HEAD.
 */
async function existingObjects(prefix: string): Promise<StoredFile[]> {
  const listed = await s3.listKeys(prefix);
  const found = await Promise.all(listed.map((key) => s3.head(key).then((head) => ({ key, size: head.ContentLength ?? -1 }), (error: unknown) => {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
    throw error;
  })));
  return found.filter((o): o is StoredFile => o !== undefined);
}

export const dedupBackends: DedupBackend[] = [
  {
    name: 'disk',
    env: () => ({}),
    async names(server) {
      const lists = await Promise.all(['files', 'quarantine'].map(async (dir) => {
        const root = path.join(server.dataDir, dir);
        const entries = await fs.readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
        return entries.filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name)));
      }));
      return lists.flat().sort();
    },
    async files(server) {
      const root = path.join(server.dataDir, 'files');
      const names = (await this.names(server)).filter((name) => isStoredFile(name) && !name.startsWith('quarantine'));
      // Polled while processing moves and removes files: one listed a moment ago may be gone by its stat.
      const sized = await Promise.all(names.map(async (key) => {
        const stat = await fs.stat(path.join(root, key)).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return undefined;
          throw error;
        });
        return stat && { key, size: stat.size };
      }));
      return sized.filter((file) => file !== undefined);
    },
  },
  {
    name: 'S3 (Swift)',
    env: () => s3.env(`t-dedup-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}/`),
    async names(server) {
      const prefix = s3Prefix(server);
      return (await existingObjects(prefix)).map((o) => o.key.slice(prefix.length));
    },
    async files(server) {
      const prefix = s3Prefix(server);
      return (await existingObjects(prefix)).filter((o) => isStoredFile(o.key)).map((o) => ({ key: o.key.slice(prefix.length), size: o.size }));
    },
  },
];

/** Removes what an S3 test left in the shared bucket. */
export async function clearS3Prefix(prefix: string): Promise<void> {
  const keys = await s3.listKeys(prefix);
  for (let i = 0; i < keys.length; i += 1000) {
    await s3.client.deleteObjects({ Bucket: s3.bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } });
  }
}

/**
 * GET /api/uploads/:id/content as a browser would: on S3 the 302 is followed to the presigned
 * URL (with `range`, if any, sent there). The status, the Content-Disposition and the bytes.
 */
export async function download(server: LibraryServer, token: string, id: string, range?: string) {
  const rangeHeader: Record<string, string> = range ? { Range: range } : {};
  const first = await fetch(`${server.url}/api/uploads/${id}/content`, { headers: { ...bearer(token), ...rangeHeader }, redirect: 'manual' });
  if (first.status !== 302) {
    return { status: first.status, disposition: first.headers.get('content-disposition'), body: Buffer.from(await first.arrayBuffer()) };
  }
  const location = new URL(first.headers.get('location')!);
  const object = await fetch(location, { headers: rangeHeader });
  const disposition = object.headers.get('content-disposition') ?? location.searchParams.get('response-content-disposition');
  return { status: object.status, disposition, body: Buffer.from(await object.arrayBuffer()) };
}
