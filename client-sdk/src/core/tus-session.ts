import { type HttpRequest, type HttpResponse, Upload } from 'tus-js-client';
import { HaulError } from './errors.js';
import type { TusDeclaredSource } from './platform.js';
import { toPreviousUpload, UploadUrlStorage } from './resume-storage.js';
import { TUS_HEADERS } from './tus-endpoint.js';
import { createTusHooks, type TusHookEvents } from './tus-hooks.js';
import type { UploadProgressReporter } from './upload-progress.js';
import { storedUrls, type UploadPlan } from './upload-plan.js';
import type { UploadContext } from './upload-types.js';

export interface TusSessionEvents extends TusHookEvents {
  /** Every byte is stored at `url`; `lastResponse` is the request that completed it (null: found complete). */
  onSuccess(url: string, lastResponse: HttpResponse): void;
  /** tus-js-client gave up (the retry policy said stop). */
  onError(error: Error): void;
}

/**
 * One upload's tus-js-client `Upload`: built from the plan with the SDK's tus hooks, started,
 * stopped (pause, offline) and restarted from the server's offsets. It watches the answers for
 * what the rest of the upload needs: the URLs it created (termination), the final upload of a
 * parallel upload (remembered for resuming), and each `Upload-Offset` (progress).
 */
export class TusSession {
  private readonly tus: Upload;
  private readonly urlStorage: UploadUrlStorage;
  private readonly createdUrls = new Set<string>();
  private readonly previousUrls: string[];
  private finalUrl: string | null = null;
  private running = false;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ctx: UploadContext,
    private readonly plan: UploadPlan,
    private readonly progress: UploadProgressReporter,
    events: TusSessionEvents,
  ) {
    const { parts } = plan;
    // A parallel upload's final upload is created as soon as its partials exist, where the server
    // allows (concatenation-unfinished): assembly then starts the moment the last byte lands.
    this.urlStorage = new UploadUrlStorage(plan.fingerprint ? ctx.index : null, (urls) => {
      // Known for termination: an aborted upload cancels its waiting final upload too.
      void ctx.tus.createFinalEarly?.(urls, plan.metadata).then((url) => {
        if (url) this.createdUrls.add(url);
      });
    });
    // The platform builds of tus-js-client take Node streams and React Native files too (see TusSource).
    this.tus = new Upload(plan.prepared.source as TusDeclaredSource, {
      endpoint: ctx.endpoint,
      ...(plan.fileReader ? { fileReader: plan.fileReader } : {}),
      metadata: plan.metadata,
      ...(plan.partialMetadata ? { metadataForPartialUploads: plan.partialMetadata } : {}),
      chunkSize: plan.chunkSize,
      uploadLengthDeferred: plan.uploadLengthDeferred,
      parallelUploads: parts.length,
      parallelUploadBoundaries: parts.length > 1 ? parts : null,
      fingerprint: () => Promise.resolve(plan.storageKey),
      urlStorage: this.urlStorage,
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      ...createTusHooks(ctx, events),
      onAfterResponse: (req, res) => this.observe(req, res),
      onProgress: (sent, total) => progress.sent(sent, Number.isFinite(total) ? total : null),
      onSuccess: ({ lastResponse }) => {
        this.running = false;
        if (this.tus.url) events.onSuccess(this.tus.url, lastResponse);
        else events.onError(new HaulError('INVALID_RESPONSE', 'upload finished without an upload URL', { retryable: false }));
      },
      onError: (error) => {
        this.running = false;
        events.onError(error);
      },
    });
    this.previousUrls = storedUrls(plan.previous);
    if (plan.previous && plan.fingerprint) {
      const entry = toPreviousUpload(plan.fingerprint, plan.previous);
      this.tus.resumeFromPreviousUpload(entry);
      this.urlStorage.saved = entry;
      progress.continues(this.previousUrls);
    }
  }

  /** The upload URL: a single upload's once created; a parallel upload's once assembled. */
  get url(): string | null {
    return this.tus.url;
  }

  get isParallel(): boolean {
    return this.plan.parts.length > 1;
  }

  /** Every upload URL this upload has or had on the server (for termination). */
  get knownUrls(): string[] {
    const urls = new Set([...this.createdUrls, ...this.previousUrls]);
    if (this.tus.url) urls.add(this.tus.url);
    return [...urls];
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.tus.start();
  }

  /** Stops sending (no termination): requests aborted, retry timers cleared. */
  stop(): void {
    if (this.restartTimer !== undefined) {
      clearTimeout(this.restartTimer);
      this.restartTimer = undefined;
    }
    if (!this.running) return;
    this.running = false;
    void this.tus.abort(false).catch(() => {});
  }

  /**
   * Stops and starts again from the server's offsets, unless `stillWanted()` says otherwise by
   * then. The start waits a macrotask: the aborted requests' promise chains (microtasks) must
   * see tus stopped, not restarted.
   */
  restart(stillWanted: () => boolean): void {
    this.stop();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!stillWanted() || this.running) return;
      // A parallel upload restarts with every partial URL saved so far (tus would forget those
      // whose HEAD had not answered yet in the aborted round, and upload their parts again).
      if (this.urlStorage.saved) this.tus.resumeFromPreviousUpload(this.urlStorage.saved);
      this.start();
    }, 0);
  }

  private async observe(req: HttpRequest, res: HttpResponse): Promise<void> {
    const status = res.getStatus();
    const method = req.getMethod();
    const url = req.getURL();
    if (method === 'HEAD' && (status === 404 || status === 410)) {
      this.progress.offset(url, null, true);
      return;
    }
    if (status < 200 || status >= 300) return;
    const location = method === 'POST' ? res.getHeader(TUS_HEADERS.location) : undefined;
    if (location) {
      const created = new URL(location, url).toString();
      this.createdUrls.add(created);
      if (req.getHeader(TUS_HEADERS.uploadConcat)?.startsWith('final')) {
        this.finalUrl = created;
        // Remembered so that a run ending right now still finds the assembled upload.
        if (this.plan.fingerprint && this.ctx.index) await this.ctx.index.patch(this.plan.fingerprint, { finalUrl: created });
      }
    }
    const offset = Number.parseInt(res.getHeader(TUS_HEADERS.uploadOffset) ?? '', 10);
    if ((method === 'PATCH' || method === 'HEAD') && Number.isFinite(offset) && url !== this.finalUrl) {
      this.progress.offset(url, offset, method === 'HEAD');
    }
  }
}
