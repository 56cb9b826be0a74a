/**
 * `@haul/client/node` — the SDK for Node: everything of `@haul/client`, plus file paths and
 * fs streams as inputs and resume state in a JSON file under the OS cache directory.
 */
import { createClient, type HaulClient, type HaulClientOptions } from '../core/client.js';
import { type NodeUploadInput, nodePlatform } from './platform.js';

export * from '../index.js';
export { defaultCacheDir, fileStorage, type FileStorageOptions } from './file-storage.js';
export type { NodeUploadInput } from './platform.js';

/**
 * Options of the Node `createHaulClient`: those of every platform, plus where the default
 * resume state goes.
 *
 * @example
 * ```ts
 * import { createHaulClient, type NodeHaulClientOptions } from '@haul/client/node';
 * const options: NodeHaulClientOptions = { endpoint: 'http://127.0.0.1:3000/files/', getToken: () => process.env.HAUL_TOKEN, cacheDir: '/tmp/haul' };
 * const client = createHaulClient(options);
 * ```
 */
export interface NodeHaulClientOptions extends HaulClientOptions {
  /** Directory of the default file storage (`uploads.json`). Default {@link defaultCacheDir}(). */
  cacheDir?: string;
}

/**
 * Creates a client for Node: uploads files by path (or fs streams, Buffers, Blobs), resuming
 * across process restarts from a JSON file under the cache directory (see {@link fileStorage}).
 *
 * @example
 * ```ts
 * import { createHaulClient } from '@haul/client/node';
 *
 * const client = createHaulClient({ endpoint: 'http://127.0.0.1:3000/files/', getToken: () => process.env.HAUL_TOKEN });
 * const handle = client.upload('./backup.tar', { parallel: 4, onProgress: (p) => console.log(p.bytesAcknowledged) });
 * const upload = await handle.result;
 * console.log(upload.id, upload.sha256);
 * ```
 */
export function createHaulClient(options: NodeHaulClientOptions): HaulClient<NodeUploadInput> {
  return createClient(options, nodePlatform({ cacheDir: options.cacheDir }));
}
