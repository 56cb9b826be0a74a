import type { Sha256 } from './checksum-http-stack.js';
import type { UploadJson } from '@haul/api';
import type { HttpStack } from 'tus-js-client';
import type { HaulApi } from './api.js';
import type { TokenSource } from './auth.js';
import type { Connectivity } from './connectivity.js';
import type { EncryptionOptions } from './encryption/keys.js';
import type { HaulError } from './errors.js';
import type { HttpClient } from './http-client.js';
import type { UploadProgress } from './progress.js';
import type { ResumeIndex } from './resume-storage.js';
import type { RetryPolicy } from './retry-policy.js';
import type { TusEndpoint } from './tus-endpoint.js';

/**
 * Upload metadata (tus `Upload-Metadata`). `filename` and `filetype` default to the input's
 * name and type; `scope` is Haul's application scope; other keys are kept as opaque fields.
 *
 * @example
 * ```ts
 * const metadata: UploadMetadata = { filename: 'report.pdf', filetype: 'application/pdf', scope: 'invoices' };
 * client.upload(blob, { metadata });
 * ```
 */
export interface UploadMetadata {
  filename?: string;
  filetype?: string;
  scope?: string;
  [key: string]: string | undefined;
}

/**
 * What an upload is doing: `preparing` (reading the input), `uploading`, `retrying` (waiting
 * to try again), `paused` (by you), `offline` (waiting for the network), `processing` (all bytes
 * are on the server; waiting for the scan and checks), then `done`, `failed` or `aborted`.
 *
 * @example
 * ```ts
 * client.upload(file, { onStateChange: (state: UploadState) => (badge.textContent = state) });
 * ```
 */
export type UploadState = 'preparing' | 'uploading' | 'retrying' | 'paused' | 'offline' | 'processing' | 'done' | 'failed' | 'aborted';

/**
 * Passed to `onRetry` before the SDK waits to try again.
 *
 * @example
 * ```ts
 * client.upload(file, { onRetry: ({ error, attempt, delayMs }: RetryInfo) => console.warn(`${error.code}: retry #${attempt + 1} in ${delayMs} ms`) });
 * ```
 */
export interface RetryInfo {
  error: HaulError;
  /** 0-based count of failures in a row (progress resets it). */
  attempt: number;
  delayMs: number;
}

/**
 * Options of {@link HaulClient.upload}.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * const options: UploadOptions = {
 *   metadata: { filename: 'video.mp4' },
 *   parallel: 4,
 *   signal: controller.signal,
 *   onProgress: (p) => console.log(p.bytesAcknowledged, p.bytesTotal),
 *   onStatus: (upload) => console.log(upload.status),
 * };
 * const handle = client.upload(file, options);
 * ```
 */
export interface UploadOptions {
  metadata?: UploadMetadata;
  /**
   * Send the file as up to N partial uploads at once (tus Concatenation). Parts are at least
   * 5 MiB (S3's minimum), so small files use fewer; servers that do not advertise
   * `concatenation` get a single stream. Default 1.
   */
  parallel?: number;
  /** Bytes per PATCH request. Default: the whole file (or part) in one request; 8 MiB for streams. */
  chunkSize?: number;
  /** Aborting it is `handle.abort()`. */
  signal?: AbortSignal;
  onProgress?: (progress: UploadProgress) => void;
  /** The server's record whenever it changes, from upload completion to a terminal status. */
  onStatus?: (upload: UploadJson) => void;
  onStateChange?: (state: UploadState) => void;
  onRetry?: (info: RetryInfo) => void;
  /** `abort()` (and the signal) also delete the upload on the server. Default true. */
  terminateOnAbort?: boolean;
  /**
   * `result` waits for processing (scan, type checks) to finish: resolves with the `ready`
   * record, rejects for `rejected`/`infected`/`failed`. False: resolves as soon as the bytes are
   * stored (status `received`). Default true.
   */
  waitForProcessing?: boolean;
  /** Bound on waiting for processing (HaulError `TIMEOUT`). Default: none. */
  processingTimeoutMs?: number;
  /** Remember this upload so the same input resumes after a restart. Default true. */
  resume?: boolean;
  /**
   * Encrypt end to end before a byte leaves: a random key per file, wrapped with `key` (the
   * application's, e.g. a conversation's); the server stores only ciphertext. Resumes, parallel
   * parts and previews keep working (client-sdk/README.md, "End-to-end encryption").
   */
  encryption?: EncryptionOptions;
}

/**
 * Options of {@link UploadHandle.abort}.
 *
 * @example
 * ```ts
 * await handle.abort({ terminate: false } satisfies AbortOptions); // keep the bytes; resume later
 * ```
 */
export interface AbortOptions {
  /** Delete the upload on the server. Default: the upload's `terminateOnAbort` (true). */
  terminate?: boolean;
}

/**
 * When all bytes are on the server: where the upload lives.
 *
 * @example
 * ```ts
 * const { id } = await handle.uploaded satisfies Promise<UploadedInfo>;
 * ```
 */
export interface UploadedInfo {
  id: string;
  uploadUrl: string;
}

/**
 * A running upload. Resuming, retrying, stalls, token refresh and going offline are handled
 * inside; `result` settles once with the outcome.
 *
 * @example
 * ```ts
 * const handle: UploadHandle = client.upload(file, { metadata: { filename: file.name } });
 * pauseButton.onclick = () => handle.pause();
 * resumeButton.onclick = () => handle.resume();
 * cancelButton.onclick = () => void handle.abort();
 * const upload = await handle.result; // status 'ready'
 * ```
 */
export interface UploadHandle {
  readonly state: UploadState;
  /** The upload id, once the server created the upload (for a parallel upload: once assembled). */
  readonly id: string | null;
  readonly uploadUrl: string | null;
  readonly progress: UploadProgress;
  /** Bytes the server already had when this upload continued a previous one; null if it did not. */
  readonly resumedFrom: number | null;
  /** Resolves when every byte is stored on the server (before processing). */
  readonly uploaded: Promise<UploadedInfo>;
  /** The processed record (`ready`), or a HaulError. */
  readonly result: Promise<UploadJson>;
  pause(): void;
  resume(): void;
  /** Stops the upload; deletes it on the server unless told not to. `result` rejects with `ABORTED`. */
  abort(options?: AbortOptions): Promise<void>;
}

/** What every upload of a client shares. */
export interface UploadContext {
  endpoint: string;
  api: HaulApi;
  http: HttpClient;
  /** The tus requests the SDK sends itself (OPTIONS, HEAD, DELETE). */
  tus: TusEndpoint;
  tokens: TokenSource;
  policy: RetryPolicy;
  stallTimeoutMs: number;
  index: ResumeIndex | null;
  connectivity: Connectivity;
  /** tus-js-client's own HTTP stack for this platform. */
  httpStack: HttpStack;
  /** Checksums PATCH bodies (checksum-http-stack.ts); null: checksums off. */
  sha256: Sha256 | null;
  /** Fingerprints of this client's uploads in progress: the same input twice at once must not share an upload. */
  active: Set<string>;
}
