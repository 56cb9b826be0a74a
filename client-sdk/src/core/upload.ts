import { HEADERS, type UploadJson } from '@haul/api';
import { type HttpRequest, type HttpResponse, Upload, type UploadOptions as TusOptions } from 'tus-js-client';
import { HaulError } from './errors.js';
import { uploadFingerprint } from './fingerprint.js';
import { RequestAbortedError } from './http-stack.js';
import { partBoundaries } from './parallel.js';
import type { Platform, PreparedInput } from './platform.js';
import { outcomeError, waitForTerminal } from './processing-wait.js';
import { ProgressTracker, type UploadProgress } from './progress.js';
import { type StoredUpload, toPreviousUpload, UploadUrlStorage } from './resume-storage.js';
import { causeOf, toHaulError } from './tus-error.js';
import { lastSegment, TUS_HEADERS } from './tus-endpoint.js';
import { createTusHooks } from './tus-hooks.js';
import type { AbortOptions, UploadContext, UploadedInfo, UploadHandle, UploadOptions, UploadState } from './upload-types.js';

export type { AbortOptions, RetryInfo, UploadContext, UploadedInfo, UploadHandle, UploadMetadata, UploadOptions, UploadState } from './upload-types.js';
export { toHaulError } from './tus-error.js';

const STREAM_CHUNK_SIZE = 8 * 2 ** 20;
const PROGRESS_INTERVAL_MS = 100;

export class UploadController<Input> implements UploadHandle {
  private currentState: UploadState = 'preparing';
  private tus: Upload | null = null;
  private tusRunning = false;
  private prepared: PreparedInput | null = null;
  private urlStorage: UploadUrlStorage | null = null;
  private fingerprint: string | null = null;
  private userPaused = false;
  private stopped = false;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly tracker = new ProgressTracker();
  private readonly acked = new Map<string, number>();
  private readonly createdUrls = new Set<string>();
  private previousUrls: string[] = [];
  private readonly resumedOffsets = new Map<string, number>();
  private resumedFromPrevious = false;
  private finalUrl: string | null = null;
  private lastProgressEmit = 0;
  private progressTimer: ReturnType<typeof setTimeout> | undefined;
  private unsubscribeConnectivity: () => void = () => {};
  private readonly waitController = new AbortController();
  private uploadedId: string | null = null;
  private uploadedUrl: string | null = null;
  private resolveUploaded!: (info: UploadedInfo) => void;
  private rejectUploaded!: (error: HaulError) => void;
  private resolveResult!: (upload: UploadJson) => void;
  private rejectResult!: (error: HaulError) => void;
  readonly uploaded: Promise<UploadedInfo>;
  readonly result: Promise<UploadJson>;

  constructor(
    private readonly ctx: UploadContext,
    private readonly platform: Platform<Input>,
    private readonly input: Input,
    private readonly options: UploadOptions,
  ) {
    this.uploaded = new Promise((resolve, reject) => {
      this.resolveUploaded = resolve;
      this.rejectUploaded = reject;
    });
    this.result = new Promise((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    // Unobserved rejections must not crash the app (Node treats them as fatal): callers who
    // care await these promises and still see the rejection.
    this.uploaded.catch(() => {});
    this.result.catch(() => {});
    const signal = options.signal;
    if (signal) {
      if (signal.aborted) queueMicrotask(() => void this.abort());
      else signal.addEventListener('abort', () => void this.abort(), { once: true });
    }
  }

  get state(): UploadState {
    return this.currentState;
  }

  get id(): string | null {
    return this.uploadedId ?? (this.tus?.url && !this.isParallel() ? lastSegment(this.tus.url) : null);
  }

  get uploadUrl(): string | null {
    return this.uploadedUrl ?? this.tus?.url ?? null;
  }

  get progress(): UploadProgress {
    return this.tracker.snapshot();
  }

  get resumedFrom(): number | null {
    // Known once the stored upload(s) answered HEAD; null if none was stored or none is left.
    if (!this.resumedFromPrevious || this.resumedOffsets.size === 0) return null;
    let sum = 0;
    for (const offset of this.resumedOffsets.values()) sum += offset;
    return sum;
  }

  /** Starts the upload (the client calls this once). */
  run(): void {
    this.prepareAndStart().catch((error: unknown) => this.fail(toHaulError(error)));
  }

  pause(): void {
    if (this.isSettled() || this.currentState === 'processing') return;
    this.userPaused = true;
    this.stopTus();
    if (this.currentState !== 'preparing') this.setState('paused');
  }

  resume(): void {
    if (this.isSettled() || !this.userPaused) return;
    this.userPaused = false;
    if (!this.tus) return; // still preparing: it starts when ready
    if (!this.ctx.connectivity.isOnline()) {
      this.setState('offline');
      return;
    }
    this.restartTus();
  }

  async abort(options: AbortOptions = {}): Promise<void> {
    if (this.isSettled()) return;
    const terminate = options.terminate ?? this.options.terminateOnAbort ?? true;
    const bytesComplete = this.uploadedId !== null;
    this.stopped = true;
    this.stopTus();
    this.waitController.abort(new HaulError('ABORTED', 'upload aborted', { retryable: false }));
    const error = new HaulError('ABORTED', 'upload aborted', { retryable: false });
    this.settle('aborted');
    this.rejectUploaded(error);
    this.rejectResult(error);
    if (!terminate) return;
    if (this.fingerprint && this.ctx.index) await this.ctx.index.remove(this.fingerprint);
    if (bytesComplete && this.uploadedId) {
      await this.ctx.api.delete(this.uploadedId).catch(() => {});
      return;
    }
    const urls = new Set([...this.createdUrls, ...this.previousUrls]);
    if (this.tus?.url) urls.add(this.tus.url);
    await Promise.all([...urls].map((url) => this.ctx.tus.terminate(url)));
  }

  // ---------------------------------------------------------------------------------------------

  private async prepareAndStart(): Promise<void> {
    const { ctx, options } = this;
    const prepared = await this.platform.prepare(this.input);
    this.prepared = prepared;
    if (this.stopped) {
      prepared.close?.();
      return;
    }
    const metadata: Record<string, string> = {};
    if (prepared.name) metadata.filename = prepared.name;
    if (prepared.type) metadata.filetype = prepared.type;
    for (const [key, value] of Object.entries(options.metadata ?? {})) if (value !== undefined) metadata[key] = value;

    let parts = [{ start: 0, end: prepared.size ?? 0 }];
    const parallel = options.parallel ?? 1;
    if (parallel > 1 && prepared.size !== null && prepared.sliceable) {
      const split = partBoundaries(prepared.size, parallel);
      if (split.length > 1 && (await ctx.tus.supportsConcatenation())) parts = split;
    }
    if (this.stopped) return;
    this.tracker.setTotal(prepared.size);

    const candidate = prepared.identity === null ? null : uploadFingerprint(prepared.identity, ctx.endpoint, parts.length, metadata);
    const persistent = options.resume !== false && ctx.index !== null && candidate !== null && !ctx.active.has(candidate);
    this.fingerprint = persistent ? candidate : null;
    if (this.fingerprint) ctx.active.add(this.fingerprint);
    const storageKey = this.fingerprint ?? `ephemeral|${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    this.urlStorage = new UploadUrlStorage(persistent ? ctx.index : null);

    let previous: StoredUpload | undefined;
    if (this.fingerprint && ctx.index) previous = await ctx.index.find(this.fingerprint);
    if (previous?.finalUrl && (await ctx.tus.isComplete(previous.finalUrl))) {
      // A parallel upload whose final upload was created before the last run ended.
      this.resumedFromPrevious = true;
      this.resumedOffsets.set(previous.finalUrl, prepared.size ?? 0);
      this.tracker.acknowledgedBytes(prepared.size ?? 0);
      await ctx.index?.remove(this.fingerprint!);
      prepared.close?.();
      await this.completed(previous.finalUrl, null);
      return;
    }
    if (this.stopped) return;

    const hooks = createTusHooks(ctx, {
      giveUp: () => this.stopped || this.userPaused,
      onRetry: ({ error, attempt, decision, delayMs }) => {
        this.setState(decision.action === 'wait-online' ? 'offline' : 'retrying');
        this.options.onRetry?.({ error: toHaulError(error), attempt, delayMs });
      },
      onRequest: () => {
        if (this.currentState === 'retrying' && !this.stopped) this.setState('uploading');
      },
    });
    const tusOptions: TusOptions = {
      endpoint: ctx.endpoint,
      metadata,
      chunkSize: options.chunkSize ?? (prepared.needsChunkSize ? STREAM_CHUNK_SIZE : Number.POSITIVE_INFINITY),
      uploadLengthDeferred: prepared.size === null && prepared.needsChunkSize === true,
      parallelUploads: parts.length,
      parallelUploadBoundaries: parts.length > 1 ? parts : null,
      fingerprint: () => Promise.resolve(storageKey),
      urlStorage: this.urlStorage,
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      ...hooks,
      onAfterResponse: (req, res) => this.afterResponse(req, res),
      onProgress: (sent, total) => {
        this.tracker.sentBytes(sent, Number.isFinite(total) ? total : null);
        this.emitProgress();
      },
      onSuccess: ({ lastResponse }) => {
        this.tusRunning = false;
        prepared.close?.();
        const url = this.tus?.url;
        if (!url) {
          this.fail(new HaulError('INVALID_RESPONSE', 'upload finished without an upload URL', { retryable: false }));
          return;
        }
        this.completed(url, lastResponse).catch((error: unknown) => this.fail(toHaulError(error)));
      },
      onError: (error) => this.onTusError(error),
    };
    const tus = new Upload(prepared.source, tusOptions);
    this.tus = tus;
    if (previous) {
      const entry = toPreviousUpload(this.fingerprint!, previous);
      tus.resumeFromPreviousUpload(entry);
      this.urlStorage.saved = entry;
      this.resumedFromPrevious = true;
      this.previousUrls = [...(previous.parallelUploadUrls ?? []), ...(previous.uploadUrl ? [previous.uploadUrl] : [])];
    }
    this.unsubscribeConnectivity = ctx.connectivity.subscribe((online) => this.onConnectivity(online));
    if (this.userPaused) {
      this.setState('paused');
      return;
    }
    if (!ctx.connectivity.isOnline()) {
      this.setState('offline');
      return;
    }
    this.setState('uploading');
    this.tusRunning = true;
    tus.start();
  }

  private isParallel(): boolean {
    return (this.tus?.options.parallelUploads ?? 1) > 1;
  }

  private isSettled(): boolean {
    return this.currentState === 'done' || this.currentState === 'failed' || this.currentState === 'aborted';
  }

  private setState(state: UploadState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    if (state !== 'uploading') this.tracker.resetSpeed();
    this.options.onStateChange?.(state);
  }

  /** Stops tus (no termination): requests aborted, retry timers cleared. */
  private stopTus(): void {
    if (this.restartTimer !== undefined) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
    }
    if (this.tus && this.tusRunning) {
      this.tusRunning = false;
      void this.tus.abort(false).catch(() => {});
    }
  }

  /**
   * Stops tus and starts it again from the server's offsets. The start waits a macrotask: the
   * aborted requests' promise chains (microtasks) must see tus stopped, not restarted.
   */
  private restartTus(): void {
    const tus = this.tus;
    if (!tus || this.stopped) return;
    this.stopTus();
    this.setState('uploading');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped || this.userPaused || this.tusRunning) return;
      // A parallel upload restarts with every partial URL saved so far (tus would forget those
      // whose HEAD had not answered yet in the aborted round, and upload their parts again).
      if (this.urlStorage?.saved) tus.resumeFromPreviousUpload(this.urlStorage.saved);
      this.tusRunning = true;
      tus.start();
    }, 0);
  }

  private onConnectivity(online: boolean): void {
    if (this.isSettled() || this.currentState === 'processing' || this.currentState === 'preparing') return;
    if (!online) {
      if (this.userPaused) return;
      this.stopTus();
      this.setState('offline');
    } else if (!this.userPaused && (this.currentState === 'offline' || this.currentState === 'retrying')) {
      this.restartTus();
    }
  }

  private async afterResponse(req: HttpRequest, res: HttpResponse): Promise<void> {
    const status = res.getStatus();
    const method = req.getMethod();
    const url = req.getURL();
    if (status >= 200 && status < 300) {
      if (method === 'POST') {
        const location = res.getHeader(TUS_HEADERS.location);
        if (location) {
          const created = new URL(location, url).toString();
          this.createdUrls.add(created);
          if (req.getHeader(TUS_HEADERS.uploadConcat)?.startsWith('final')) {
            this.finalUrl = created;
            // Remembered so that a run ending right now still finds the assembled upload.
            if (this.fingerprint && this.ctx.index) await this.ctx.index.patch(this.fingerprint, { finalUrl: created });
          }
        }
      }
      const offset = Number.parseInt(res.getHeader(TUS_HEADERS.uploadOffset) ?? '', 10);
      if ((method === 'PATCH' || method === 'HEAD') && Number.isFinite(offset) && !this.isFinal(url)) {
        if (method === 'HEAD' && !this.resumedOffsets.has(url) && this.previousUrls.includes(url)) this.resumedOffsets.set(url, offset);
        this.acked.set(url, offset);
        this.updateAcknowledged();
      }
    } else if (method === 'HEAD' && (status === 404 || status === 410)) {
      this.acked.delete(url);
      this.updateAcknowledged();
    }
  }

  private isFinal(url: string): boolean {
    return this.finalUrl === url;
  }

  private updateAcknowledged(): void {
    let sum = 0;
    for (const offset of this.acked.values()) sum += offset;
    this.tracker.acknowledgedBytes(sum);
    this.emitProgress();
  }

  private emitProgress(force = false): void {
    const callback = this.options.onProgress;
    if (!callback) return;
    const now = Date.now();
    if (force || now - this.lastProgressEmit >= PROGRESS_INTERVAL_MS) {
      if (this.progressTimer !== undefined) {
        clearTimeout(this.progressTimer);
        this.progressTimer = undefined;
      }
      this.lastProgressEmit = now;
      callback(this.tracker.snapshot());
    } else if (this.progressTimer === undefined) {
      // Trailing call, so the last numbers are always reported.
      this.progressTimer = setTimeout(() => {
        this.progressTimer = undefined;
        this.emitProgress(true);
      }, PROGRESS_INTERVAL_MS - (now - this.lastProgressEmit));
    }
  }

  private onTusError(error: Error): void {
    this.tusRunning = false;
    if (this.stopped || this.isSettled()) return;
    const cause = causeOf(error);
    // A request aborted by a pause or restart, whose promise chain finished after tus started again.
    if (cause instanceof RequestAbortedError) return;
    if (this.userPaused) return;
    this.prepared?.close?.();
    this.fail(toHaulError(error));
  }

  /** All bytes are on the server: learn the id, then wait for processing (or not). */
  private async completed(url: string, lastResponse: HttpResponse | null): Promise<void> {
    if (this.stopped) return;
    const total = this.prepared?.size ?? null;
    if (total !== null) {
      this.tracker.sentBytes(total, total);
      this.tracker.acknowledgedBytes(total);
    }
    this.emitProgress(true);
    const apiPath = lastResponse?.getHeader(HEADERS.haulUpload);
    const id = apiPath ? lastSegment(apiPath) : lastSegment(url);
    this.uploadedId = id;
    this.uploadedUrl = url;
    this.unsubscribeConnectivity();
    this.resolveUploaded({ id, uploadUrl: url });
    if (this.options.waitForProcessing === false) {
      const upload = await this.ctx.api.get(id, this.waitController.signal);
      this.options.onStatus?.(upload);
      this.succeed(upload);
      return;
    }
    this.setState('processing');
    const upload = await waitForTerminal(this.ctx, id, {
      signal: this.waitController.signal,
      onStatus: this.options.onStatus,
      timeoutMs: this.options.processingTimeoutMs,
    });
    if (upload.status === 'ready') this.succeed(upload);
    else this.fail(outcomeError(upload));
  }

  private succeed(upload: UploadJson): void {
    if (this.isSettled()) return;
    this.settle('done');
    this.resolveResult(upload);
  }

  private fail(error: HaulError): void {
    if (this.isSettled()) return;
    this.stopped = true;
    this.stopTus();
    this.settle('failed');
    this.rejectUploaded(error);
    this.rejectResult(error);
  }

  private settle(state: UploadState): void {
    if (this.fingerprint) this.ctx.active.delete(this.fingerprint);
    this.unsubscribeConnectivity();
    if (this.progressTimer !== undefined) clearTimeout(this.progressTimer);
    this.prepared?.close?.();
    this.setState(state);
  }
}
