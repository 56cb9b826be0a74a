import type { LinkJson, ServerConfigJson, UploadJson, UploadList } from '@haul/api';
import type { CreateLinkOptions, ListOptions } from './api.js';
import type { GetToken } from './auth.js';
import type { Connectivity } from './connectivity.js';
import type { DownloadOptions } from './encryption/encrypted-download.js';
import type { FetchFunction } from './http-client.js';
import type { WaitOptions } from './processing-wait.js';
import type { ResumeStorage } from './resume-storage.js';
import type { RetryOptions } from './retry-policy.js';
import type { HaulTusOptions, TusOptionsRequest } from './tus-options.js';
import type { UploadHandle, UploadOptions } from './upload-types.js';

/**
 * Options of `createHaulClient`.
 *
 * @example
 * ```ts
 * import { createHaulClient, type HaulClientOptions } from '@haul/client';
 * const options: HaulClientOptions = {
 *   endpoint: 'https://uploads.example.com/files/',
 *   getToken: () => session.accessToken,
 *   retry: { maxAttempts: 15 },
 *   stallTimeoutMs: 20_000,
 * };
 * const client = createHaulClient(options);
 * ```
 */
export interface HaulClientOptions {
  /** The tus endpoint, e.g. `https://uploads.example.com/files/` (relative URLs resolve against the page). */
  endpoint: string;
  /** Origin (and path prefix) of the JSON API. Default: the endpoint's origin. */
  apiBaseUrl?: string;
  /** The bearer token, asked for before every request. */
  getToken: GetToken;
  /**
   * Where unfinished uploads are remembered for resuming; false: nowhere (uploads still resume
   * within their own lifetime). Default: localStorage in browsers, a JSON file under the cache
   * directory in Node (`@haul/client/node`), memory elsewhere (pass AsyncStorage in React Native).
   */
  storage?: ResumeStorage | false;
  /** Remembered uploads older than this are forgotten (the server expires them too). Default 24 h. */
  resumeTtlMs?: number;
  /** Retry policy; false: fail at the first error. */
  retry?: RetryOptions | false;
  /** A request with no upload progress and no answer for this long is aborted and retried. Default 30 s; 0: off. */
  stallTimeoutMs?: number;
  /** Online/offline signal; false: assume always online. Default: browser events where available. */
  connectivity?: Connectivity | false;
  /** The fetch used for the JSON API, the events stream and OPTIONS/termination. Default: global fetch. */
  fetch?: FetchFunction;
  /**
   * Checksum every PATCH (tus checksum extension, `Upload-Checksum: sha256 …`): a chunk corrupted
   * on the way is refused by the server (460) and sent again (`retry.maxChecksumResends`). Each
   * chunk is read into memory once to be hashed, so the default chunk size becomes 8 MiB. A
   * checksummed chunk counts only whole: one cut off by the network is discarded by the server
   * (it cannot be verified) and sent again, so on networks that drop connections every few MiB
   * choose a smaller `chunkSize`. Default true (where WebCrypto or node:crypto is available);
   * false: off (a cut-off chunk then keeps the bytes that arrived).
   */
  checksum?: boolean;
}

/**
 * The Haul client: uploads plus the files API, typed from the server's own schemas.
 *
 * @example
 * ```ts
 * const client: HaulClient<Blob> = createHaulClient({ endpoint: '/files/', getToken });
 * const upload = await client.upload(file, { metadata: { filename: file.name } }).result;
 * const { items } = await client.list({ status: 'ready' });
 * ```
 */
export interface HaulClient<Input> {
  readonly endpoint: string;
  readonly apiBaseUrl: string;
  /**
   * Starts an upload. Same input again (same file, endpoint, metadata and parallelism) → it
   * continues from the server's offset.
   *
   * @example
   * ```ts
   * const handle = client.upload(file, { metadata: { filename: file.name }, parallel: 4, onProgress: console.log });
   * const upload = await handle.result;
   * ```
   */
  upload(input: Input, options?: UploadOptions): UploadHandle;
  /**
   * Resolves with the record once the upload is `ready`; rejects (HaulError) if processing ends
   * otherwise (`UPLOAD_REJECTED`, `UPLOAD_INFECTED`, `PROCESSING_FAILED`, `UPLOAD_GONE`).
   *
   * @example
   * ```ts
   * const ready = await client.waitForReady(id, { timeoutMs: 120_000 });
   * ```
   */
  waitForReady(id: string, options?: WaitOptions): Promise<UploadJson>;
  /**
   * One upload's record (GET /api/uploads/:id).
   *
   * @example
   * ```ts
   * const { status, sha256 } = await client.get(id);
   * ```
   */
  get(id: string, options?: { signal?: AbortSignal }): Promise<UploadJson>;
  /**
   * One page of your uploads, newest first (GET /api/uploads).
   *
   * @example
   * ```ts
   * let page = await client.list({ limit: 50 });
   * while (page.nextCursor) page = await client.list({ cursor: page.nextCursor });
   * ```
   */
  list(options?: ListOptions): Promise<UploadList>;
  /**
   * Every upload, page after page.
   *
   * @example
   * ```ts
   * for await (const upload of client.listAll({ status: 'ready' })) console.log(upload.filename);
   * ```
   */
  listAll(options?: Omit<ListOptions, 'cursor'>): AsyncIterable<UploadJson>;
  /**
   * Deletes an upload and its bytes (DELETE /api/uploads/:id).
   *
   * @example
   * ```ts
   * await client.delete(id);
   * ```
   */
  delete(id: string, options?: { signal?: AbortSignal }): Promise<void>;
  /**
   * The content URL of a ready upload (GET needs the bearer token; for a link that works
   * without one, e.g. in `<a href>`, use {@link createLink}).
   *
   * @example
   * ```ts
   * const response = await fetch(client.downloadUrl(id), { headers: { Authorization: `Bearer ${token}` } });
   * ```
   */
  downloadUrl(id: string): string;
  /**
   * A signed share link (POST /api/uploads/:id/links): no login needed until it expires.
   *
   * @example
   * ```ts
   * const { url, expiresAt } = await client.createLink(id, { expiresIn: 24 * 3600 });
   * ```
   */
  createLink(id: string, options?: CreateLinkOptions): Promise<LinkJson>;
  /**
   * Follows an upload until nothing changes by itself any more and resolves with that record,
   * whatever its status (`ready`, `rejected`, `infected`, …), calling `onStatus` on every change.
   *
   * @example
   * ```ts
   * const final = await client.watch(id, { onStatus: (u) => render(u) });
   * ```
   */
  watch(id: string, options?: WaitOptions): Promise<UploadJson>;
  /**
   * `fetch` with this client's bearer token (refreshed once on 401). Paths resolve against
   * the API base — e.g. a thumbnail's `url`, which an `<img src>` could not authenticate.
   *
   * @example
   * ```ts
   * const blob = await (await client.authorizedFetch(upload.thumbnails[0].url)).blob();
   * ```
   */
  authorizedFetch(url: string, init?: RequestInit): Promise<Response>;
  /**
   * The server's public settings (GET /api/config): size limits, accepted types, auth mode.
   *
   * @example
   * ```ts
   * const { maxUploadSize, allowedTypes } = await client.serverConfig();
   * ```
   */
  serverConfig(options?: { signal?: AbortSignal }): Promise<ServerConfigJson>;
  /**
   * The plaintext of an end-to-end encrypted upload (or of `range`), streamed and verified
   * record by record: a tampered, reordered or truncated record errors the stream with its
   * index (`DECRYPTION_FAILED`) before any of its bytes is passed on; so does a wrong key.
   *
   * @example
   * ```ts
   * const stream = await client.download(id, { encryption: { key } });
   * const blob = await new Response(stream).blob();            // browser
   * Readable.fromWeb(stream).pipe(fs.createWriteStream(path)); // Node
   * ```
   */
  download(id: string, options: DownloadOptions): Promise<ReadableStream<Uint8Array>>;
  /**
   * The preview the SDK made on the client and uploaded encrypted with the file, decrypted;
   * null when there is none (not an image or video, or no way to make one).
   *
   * @example
   * ```ts
   * const preview = await client.preview(id, { encryption: { key } });
   * if (preview) img.src = URL.createObjectURL(preview);
   * ```
   */
  preview(id: string, options: Omit<DownloadOptions, 'range'>): Promise<Blob | null>;
  /**
   * Options for uploaders built on tus-js-client, such as Uppy's Tus plugin: Haul's endpoint,
   * this client's tokens (refreshed on 401), retry back-off, resume across reloads, parallel
   * parts, and an optional simulated slow network.
   *
   * @example
   * ```ts
   * uppy.use(Tus, { ...client.tusOptions({ parallel: 4 }), limit: 6 });
   * ```
   */
  tusOptions(request?: TusOptionsRequest): HaulTusOptions;
}
