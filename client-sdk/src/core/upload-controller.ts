import type { UploadJson } from '@haul/api';
import type { HttpResponse } from 'tus-js-client';
import { HaulError } from './errors.js';
import { RequestAbortedError } from './http-stack.js';
import type { Platform, PreparedInput } from './platform.js';
import type { UploadProgress } from './progress.js';
import { terminateUpload } from './termination.js';
import { causeOf, toHaulError } from './tus-error.js';
import { lastSegment } from './tus-endpoint.js';
import { TusSession } from './tus-session.js';
import { planEncryptedUpload } from './encryption/encrypted-upload.js';
import { planUpload } from './upload-plan.js';
import { UploadProgressReporter } from './upload-progress.js';
import { uploadIdOf, uploadResult } from './upload-result.js';
import type { AbortOptions, UploadContext, UploadedInfo, UploadHandle, UploadOptions, UploadState } from './upload-types.js';

/**
 * One upload from start to outcome — the {@link UploadHandle} the app holds. It owns the state
 * and the two promises, and decides when to send: pause and resume, offline and online, abort.
 * The work is done by the pieces it wires together:
 *
 *   prepare (platform) → plan (upload-plan) → tus session (tus-session, with the tus hooks:
 *   token, connectivity gate, retry policy) → progress (upload-progress) → result (upload-result:
 *   the id, then processing) — or termination (termination) when aborted.
 */

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: HaulError): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: HaulError) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Unobserved rejections must not crash the app (Node treats them as fatal): callers who
  // care await the promise and still see the rejection.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

const SETTLED: ReadonlySet<UploadState> = new Set(['done', 'failed', 'aborted']);

export class UploadController<Input> implements UploadHandle {
  private currentState: UploadState = 'preparing';
  private session: TusSession | null = null;
  private prepared: PreparedInput | null = null;
  private fingerprint: string | null = null;
  private userPaused = false;
  /** Aborted or failed: nothing starts again. */
  private stopped = false;
  private readonly reporter: UploadProgressReporter;
  private unsubscribeConnectivity: () => void = () => {};
  /** Ends the wait for processing when the upload is aborted. */
  private readonly waitController = new AbortController();
  private uploadedInfo: UploadedInfo | null = null;
  private readonly uploadedDeferred = deferred<UploadedInfo>();
  private readonly resultDeferred = deferred<UploadJson>();
  readonly uploaded: Promise<UploadedInfo> = this.uploadedDeferred.promise;
  readonly result: Promise<UploadJson> = this.resultDeferred.promise;

  constructor(
    private readonly ctx: UploadContext,
    private readonly platform: Platform<Input>,
    private readonly input: Input,
    private readonly options: UploadOptions,
  ) {
    this.reporter = new UploadProgressReporter(options.onProgress);
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
    const url = this.session?.url;
    return this.uploadedInfo?.id ?? (url && !this.session?.isParallel ? lastSegment(url) : null);
  }

  get uploadUrl(): string | null {
    return this.uploadedInfo?.uploadUrl ?? this.session?.url ?? null;
  }

  get progress(): UploadProgress {
    return this.reporter.snapshot;
  }

  get resumedFrom(): number | null {
    return this.reporter.resumedFrom;
  }

  /** Starts the upload (the client calls this once). */
  run(): void {
    this.start().catch((error: unknown) => this.fail(toHaulError(error)));
  }

  pause(): void {
    if (this.isSettled() || this.currentState === 'processing') return;
    this.userPaused = true;
    this.session?.stop();
    if (this.currentState !== 'preparing') this.setState('paused');
  }

  resume(): void {
    if (this.isSettled() || !this.userPaused) return;
    this.userPaused = false;
    if (!this.session) return; // still preparing: it starts when ready
    if (!this.ctx.connectivity.isOnline()) this.setState('offline');
    else this.restart();
  }

  async abort(options: AbortOptions = {}): Promise<void> {
    if (this.isSettled()) return;
    const terminate = options.terminate ?? this.options.terminateOnAbort ?? true;
    this.stopped = true;
    this.session?.stop();
    const error = new HaulError('ABORTED', 'upload aborted', { retryable: false });
    this.waitController.abort(error);
    this.settle('aborted');
    this.uploadedDeferred.reject(error);
    this.resultDeferred.reject(error);
    if (!terminate) return;
    await terminateUpload(this.ctx, { fingerprint: this.fingerprint, uploadedId: this.uploadedInfo?.id ?? null, urls: this.session?.knownUrls ?? [] });
  }

  // ---------------------------------------------------------------------------------------------

  private async start(): Promise<void> {
    const { ctx } = this;
    const input = await this.platform.prepare(this.input);
    if (this.stopped) {
      input.close?.();
      return;
    }
    this.prepared = input;
    const plan = this.options.encryption
      ? await planEncryptedUpload(ctx, input, this.options, () => this.platform.preview(this.input, input), this.platform)
      : await planUpload(ctx, input, this.options);
    // An encrypted upload's source and size are its sealed object's.
    const prepared = plan.prepared;
    this.prepared = prepared;
    if (this.stopped) {
      if (plan.fingerprint) ctx.active.delete(plan.fingerprint);
      return;
    }
    this.fingerprint = plan.fingerprint;
    this.reporter.setTotal(prepared.size);

    const previousFinal = plan.previous?.finalUrl;
    if (previousFinal && (await ctx.tus.isComplete(previousFinal))) {
      // A parallel upload whose final upload was created before the last run ended.
      this.reporter.continuedComplete(previousFinal, prepared.size ?? 0);
      if (plan.fingerprint) await ctx.index?.remove(plan.fingerprint);
      prepared.close?.();
      await this.completed(previousFinal, null);
      return;
    }
    if (this.stopped) return;

    this.session = new TusSession(ctx, plan, this.reporter, {
      giveUp: () => this.stopped || this.userPaused,
      onRetry: ({ error, attempt, decision, delayMs }) => {
        this.setState(decision.action === 'wait-online' ? 'offline' : 'retrying');
        this.options.onRetry?.({ error: toHaulError(error), attempt, delayMs });
      },
      onRequest: () => {
        if (this.currentState === 'retrying' && !this.stopped) this.setState('uploading');
      },
      onSuccess: (url, lastResponse) => {
        prepared.close?.();
        this.completed(url, lastResponse).catch((error: unknown) => this.fail(toHaulError(error)));
      },
      onError: (error) => this.onTusError(error),
    });
    this.unsubscribeConnectivity = ctx.connectivity.subscribe((online) => this.onConnectivity(online));
    if (this.userPaused) this.setState('paused');
    else if (!ctx.connectivity.isOnline()) this.setState('offline');
    else {
      this.setState('uploading');
      this.session.start();
    }
  }

  private isSettled(): boolean {
    return SETTLED.has(this.currentState);
  }

  private setState(state: UploadState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    if (state !== 'uploading') this.reporter.resetSpeed();
    this.options.onStateChange?.(state);
  }

  /** Sends again from the server's offsets (after a pause, an outage, or to cut a back-off short). */
  private restart(): void {
    if (!this.session || this.stopped) return;
    this.session.restart(() => !this.stopped && !this.userPaused);
    this.setState('uploading');
  }

  private onConnectivity(online: boolean): void {
    if (this.isSettled() || this.currentState === 'processing' || this.currentState === 'preparing') return;
    if (!online) {
      if (this.userPaused) return;
      this.session?.stop();
      this.setState('offline');
    } else if (!this.userPaused && (this.currentState === 'offline' || this.currentState === 'retrying')) {
      this.restart();
    }
  }

  private onTusError(error: Error): void {
    if (this.stopped || this.isSettled()) return;
    // A request aborted by a pause or restart, whose promise chain finished after tus started again.
    if (causeOf(error) instanceof RequestAbortedError) return;
    if (this.userPaused) return;
    this.prepared?.close?.();
    this.fail(toHaulError(error));
  }

  /** All bytes are on the server: learn the id, then wait for processing (or not). */
  private async completed(url: string, lastResponse: HttpResponse | null): Promise<void> {
    if (this.stopped) return;
    this.reporter.complete(this.prepared?.size ?? null);
    const info = { id: uploadIdOf(url, lastResponse), uploadUrl: url };
    this.uploadedInfo = info;
    this.unsubscribeConnectivity();
    this.uploadedDeferred.resolve(info);
    const upload = await uploadResult(this.ctx, info.id, this.options, this.waitController.signal, () => this.setState('processing'));
    if (this.isSettled()) return;
    this.settle('done');
    this.resultDeferred.resolve(upload);
  }

  private fail(error: HaulError): void {
    if (this.isSettled()) return;
    this.stopped = true;
    this.session?.stop();
    this.settle('failed');
    this.uploadedDeferred.reject(error);
    this.resultDeferred.reject(error);
  }

  private settle(state: UploadState): void {
    if (this.fingerprint) this.ctx.active.delete(this.fingerprint);
    this.unsubscribeConnectivity();
    this.reporter.dispose();
    this.prepared?.close?.();
    this.setState(state);
  }
}
