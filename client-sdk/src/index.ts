/**
 * `@haul/client` — resumable uploads to a Haul server from browsers, React Native (and Node;
 * for file paths and resume state on disk use `@haul/client/node`). Nothing here imports a
 * Node module.
 */
import { type BrowserUploadInput, browserPlatform } from './core/browser-platform.js';
import { createClient, type HaulClient, type HaulClientOptions } from './core/client.js';

export type { CreateLinkOptions, ListOptions } from './core/api.js';
export type { GetToken, TokenRequest } from './core/auth.js';
export type { BrowserUploadInput, ReactNativeFile } from './core/browser-platform.js';
export type { HaulClient, HaulClientOptions } from './core/client.js';
export { type DevTokenOptions, devTokenProvider } from './core/dev-token.js';
export type { HaulTusOptions, TusOptionsRequest } from './core/tus-options.js';
export type { Connectivity } from './core/connectivity.js';
export type { FetchFunction } from './core/http-client.js';
export type { WaitOptions } from './core/processing-wait.js';
export { CLIENT_ERROR_CODES, HaulError, type HaulErrorCode, type HaulErrorOptions, isHaulError, isRetryableStatus, SERVER_ERROR_CODES } from './core/errors.js';
export { MIN_PART_SIZE } from './core/parallel.js';
export type { DownloadOptions } from './core/encryption/encrypted-download.js';
export type { EncryptionKey, EncryptionOptions, KeyWrapper } from './core/encryption/keys.js';
export { ENCRYPTION_METADATA_KEY, RECORD_SIZE, SEALED_RECORD_SIZE, sealedSize } from './core/encryption/format.js';
export type { UploadProgress } from './core/progress.js';
export type { LinkJson, MediaJson, ServerConfigJson, ThumbnailJson, UploadJson, UploadList, UploadStatus } from './core/public-types.js';
export { memoryStorage, type ResumeStorage } from './core/resume-storage.js';
export type { RetryOptions } from './core/retry-policy.js';
export type { AbortOptions, RetryInfo, UploadedInfo, UploadHandle, UploadMetadata, UploadOptions, UploadState } from './core/upload-types.js';

/**
 * Creates a client for a Haul server. Uploads resume automatically (resume state in
 * localStorage; AsyncStorage or any {@link ResumeStorage} via `storage` in React Native), retry
 * with back-off, pause while the browser is offline, and fetch a fresh token for every request.
 *
 * @example
 * ```ts
 * import { createHaulClient } from '@haul/client';
 *
 * const client = createHaulClient({
 *   endpoint: 'https://uploads.example.com/files/',
 *   getToken: async ({ forceRefresh }) => (await auth.session({ refresh: forceRefresh })).accessToken,
 * });
 * const handle = client.upload(input.files[0], {
 *   onProgress: ({ bytesAcknowledged, bytesTotal }) => (bar.value = bytesAcknowledged / (bytesTotal ?? 1)),
 * });
 * const upload = await handle.result; // processed: status 'ready'
 * ```
 */
export function createHaulClient(options: HaulClientOptions): HaulClient<BrowserUploadInput> {
  return createClient(options, browserPlatform);
}
