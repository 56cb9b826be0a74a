import {
  createLinkRequestSchema,
  linkSchema,
  TERMINAL_STATUSES,
  type LinkJson,
  type UploadJson,
  type UploadList,
  type UploadStatus,
  uploadListSchema,
  uploadSchema,
} from '@haul/api';
import type { ZodType } from 'zod';
import type { TokenSource } from './auth.js';
import { errorFromResponse, HaulError, isHaulError, parseRetryAfter } from './errors.js';
import { backoffDelay, type RetryPolicy, sleep } from './retry.js';
import { SseParser } from './sse.js';

/**
 * The `fetch` the SDK calls for the JSON API, the events stream, OPTIONS and termination (tus
 * PATCHes go through tus-js-client's own HTTP stack, which reports upload progress).
 *
 * @example
 * ```ts
 * const loggingFetch: FetchFunction = (url, init) => {
 *   console.debug(init?.method ?? 'GET', url);
 *   return fetch(url, init);
 * };
 * const client = createHaulClient({ endpoint: '/files/', getToken, fetch: loggingFetch });
 * ```
 */
export type FetchFunction = (input: string, init?: RequestInit) => Promise<Response>;

export interface ApiContext {
  apiBaseUrl: string;
  fetch: FetchFunction;
  tokens: TokenSource;
  policy: RetryPolicy;
  /** Bound on one JSON request (connect to last byte). */
  requestTimeoutMs: number;
}

/**
 * Options of {@link HaulClient.list}.
 *
 * @example
 * ```ts
 * const page = await client.list({ status: ['ready', 'processing'], limit: 20 } satisfies ListOptions);
 * ```
 */
export interface ListOptions {
  /** Only uploads in these statuses. */
  status?: UploadStatus | readonly UploadStatus[];
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /** Page size, 1–200 (server default 50). */
  limit?: number;
  /** A scope's uploads, whoever owns them (members of the scope and services). */
  scope?: string;
  /** Another user's uploads (services only). */
  owner?: string;
  signal?: AbortSignal;
}

/**
 * Options of {@link HaulClient.waitForReady} (and of waiting for an upload's `result`).
 *
 * @example
 * ```ts
 * const ready = await client.waitForReady(id, { timeoutMs: 60_000, onStatus: (u) => console.log(u.status) } satisfies WaitOptions);
 * ```
 */
export interface WaitOptions {
  signal?: AbortSignal;
  /** Called with the record whenever it changes (status, thumbnails, …). */
  onStatus?: (upload: UploadJson) => void;
  /** Give up (HaulError `TIMEOUT`) after this long. Default: wait as long as it takes. */
  timeoutMs?: number;
  /** Follow the server's events stream (default true); false polls GET /api/uploads/:id. */
  events?: boolean;
  /** First polling interval (it grows to 5 s). Default 1 s. */
  pollIntervalMs?: number;
}

/**
 * Options of {@link HaulClient.createLink}: the server's `createLinkRequestSchema` input.
 *
 * @example
 * ```ts
 * const { url } = await client.createLink(id, { expiresIn: 3600 } satisfies CreateLinkOptions);
 * ```
 */
export interface CreateLinkOptions {
  /** Seconds until the link stops working (60 s – 30 days; server default LINK_TTL_SECONDS). */
  expiresIn?: number;
  signal?: AbortSignal;
}

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATUSES);
const SSE_IDLE_MS = 45_000;

/** A processing outcome other than `ready` → the HaulError `result`/`waitForReady` reject with. */
export function outcomeError(upload: UploadJson): HaulError {
  const why = upload.reason ? `: ${upload.reason}` : '';
  switch (upload.status) {
    case 'rejected':
      return new HaulError('UPLOAD_REJECTED', `upload ${upload.id} was rejected${why}`, { upload, retryable: false });
    case 'infected':
      return new HaulError('UPLOAD_INFECTED', `upload ${upload.id} is infected${why}`, { upload, retryable: false });
    case 'failed':
      return new HaulError('PROCESSING_FAILED', `processing upload ${upload.id} failed${why}`, { upload, retryable: false });
    default:
      return new HaulError('UPLOAD_GONE', `upload ${upload.id} is ${upload.status}${why}`, { upload, status: 410, retryable: false });
  }
}

const abortError = (signal: AbortSignal | undefined): HaulError => {
  const reason: unknown = signal?.reason;
  return isHaulError(reason) ? reason : new HaulError('ABORTED', 'aborted', { cause: reason, retryable: false });
};

interface RequestOptions<T> {
  schema?: ZodType<T>;
  body?: unknown;
  signal?: AbortSignal;
  /** Expected success statuses; default any 2xx. */
  ok?: readonly number[];
}

/** The JSON API (/api/uploads…): auth, retries, response validation with the server's schemas. */
export class HaulApi {
  constructor(private readonly ctx: ApiContext) {}

  url(path: string): string {
    return `${this.ctx.apiBaseUrl}${path}`;
  }

  uploadPath(id: string): string {
    return `/api/uploads/${encodeURIComponent(id)}`;
  }

  async request<T>(method: string, path: string, options: RequestOptions<T> = {}): Promise<T> {
    const { policy, tokens } = this.ctx;
    for (let attempt = 0; ; attempt++) {
      if (options.signal?.aborted) throw abortError(options.signal);
      const issued = await tokens.get();
      const headers: Record<string, string> = { Accept: 'application/json' };
      if (issued.token) headers.Authorization = `Bearer ${issued.token}`;
      if (options.body !== undefined) headers['Content-Type'] = 'application/json';
      let response: Response;
      let text: string;
      const timeout = new AbortController();
      const onAbort = () => timeout.abort(options.signal?.reason);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.signal?.aborted) onAbort();
      const timer = setTimeout(() => timeout.abort(new HaulError('TIMEOUT', `${method} ${path}: no answer within ${this.ctx.requestTimeoutMs} ms`)), this.ctx.requestTimeoutMs);
      try {
        response = await raceAbort(
          this.ctx.fetch(this.url(path), {
            method,
            headers,
            body: options.body === undefined ? undefined : JSON.stringify(options.body),
            signal: timeout.signal,
          }),
          timeout.signal,
        );
        text = await raceAbort(response.text(), timeout.signal);
      } catch (error) {
        if (options.signal?.aborted) throw abortError(options.signal);
        const failure = isHaulError(timeout.signal.reason)
          ? timeout.signal.reason
          : new HaulError('NETWORK_ERROR', `${method} ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        if (attempt + 1 >= policy.maxAttempts) throw failure;
        await sleep(backoffDelay(policy, attempt), options.signal).catch(() => {
          throw abortError(options.signal);
        });
        continue;
      } finally {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
      }

      const okStatus = options.ok ? options.ok.includes(response.status) : response.ok;
      if (okStatus) {
        if (!options.schema) return undefined as T;
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch (error) {
          throw new HaulError('INVALID_RESPONSE', `${method} ${path}: response is not JSON`, { status: response.status, cause: error, retryable: false });
        }
        const parsed = options.schema.safeParse(json);
        if (!parsed.success) {
          throw new HaulError('INVALID_RESPONSE', `${method} ${path}: unexpected response: ${parsed.error.message}`, {
            status: response.status,
            cause: parsed.error,
            retryable: false,
          });
        }
        return parsed.data;
      }

      // A refused token: once more with a forcibly fresh one (not counted as an attempt).
      if (response.status === 401 && !issued.forced) {
        tokens.requestRefresh();
        attempt--;
        continue;
      }
      const error = errorFromResponse(response.status, text, response.headers.get('retry-after'));
      // 409 from the JSON API means "not ready yet" (UPLOAD_NOT_READY), not a lost race: no retry.
      const transient = response.status >= 500 || response.status === 429 || response.status === 423;
      if (!transient || attempt + 1 >= policy.maxAttempts) throw error;
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
      if (retryAfter !== undefined && retryAfter > policy.maxRetryAfterMs) throw error;
      await sleep(retryAfter ?? backoffDelay(policy, attempt), options.signal).catch(() => {
        throw abortError(options.signal);
      });
    }
  }

  get(id: string, signal?: AbortSignal): Promise<UploadJson> {
    return this.request('GET', this.uploadPath(id), { schema: uploadSchema, signal });
  }

  list(options: ListOptions = {}): Promise<UploadList> {
    const query = new URLSearchParams();
    if (options.status !== undefined) {
      const statuses: readonly UploadStatus[] = typeof options.status === 'string' ? [options.status] : options.status;
      if (statuses.length > 0) query.set('status', statuses.join(','));
    }
    if (options.cursor !== undefined) query.set('cursor', options.cursor);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.scope !== undefined) query.set('scope', options.scope);
    if (options.owner !== undefined) query.set('owner', options.owner);
    const search = query.toString();
    return this.request('GET', `/api/uploads${search ? `?${search}` : ''}`, { schema: uploadListSchema, signal: options.signal });
  }

  delete(id: string, signal?: AbortSignal): Promise<void> {
    return this.request<void>('DELETE', this.uploadPath(id), { signal, ok: [200, 204] });
  }

  createLink(id: string, options: CreateLinkOptions = {}): Promise<LinkJson> {
    const parsed = createLinkRequestSchema.safeParse(options.expiresIn === undefined ? {} : { expiresIn: options.expiresIn });
    if (!parsed.success) {
      return Promise.reject(new HaulError('INVALID_INPUT', `createLink: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, { retryable: false }));
    }
    return this.request('POST', `${this.uploadPath(id)}/links`, { schema: linkSchema, body: parsed.data, signal: options.signal });
  }

  /**
   * Waits until the upload reaches a terminal status (ready, rejected, infected, failed, …) and
   * returns that record: follows the events stream (Server-Sent Events over fetch, reconnecting
   * when it drops), falling back to polling where streaming is unavailable or keeps failing.
   */
  async waitForTerminal(id: string, options: WaitOptions = {}): Promise<UploadJson> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(options.signal?.reason);
    if (options.signal?.aborted) throw abortError(options.signal);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => controller.abort(new HaulError('TIMEOUT', `upload ${id} did not finish processing within ${options.timeoutMs} ms`)), options.timeoutMs);
    const signal = controller.signal;
    let last = '';
    const seen = (upload: UploadJson): boolean => {
      const key = JSON.stringify(upload);
      if (key !== last) {
        last = key;
        options.onStatus?.(upload);
      }
      return TERMINAL.has(upload.status);
    };
    try {
      let useEvents = options.events !== false;
      let failures = 0;
      let pollMs = options.pollIntervalMs ?? 1000;
      for (;;) {
        if (signal.aborted) throw abortError(signal);
        if (useEvents) {
          try {
            const terminal = await this.followEvents(id, seen, signal);
            if (terminal) return terminal;
            failures++;
          } catch (error) {
            if (signal.aborted) throw abortError(signal);
            if (error instanceof StreamingUnavailable) {
              useEvents = false;
              continue;
            }
            if (isHaulError(error) && !error.retryable) throw error;
            failures++;
          }
          if (failures >= 3) useEvents = false;
          await sleep(backoffDelay(this.ctx.policy, failures - 1), signal).catch(() => {
            throw abortError(signal);
          });
          continue;
        }
        const upload = await this.get(id, signal);
        if (seen(upload)) return upload;
        await sleep(pollMs, signal).catch(() => {
          throw abortError(signal);
        });
        pollMs = Math.min(5000, pollMs * 1.5);
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** One connection to the events stream: the terminal record, or undefined if it ended before. */
  private async followEvents(id: string, seen: (upload: UploadJson) => boolean, outer: AbortSignal): Promise<UploadJson | undefined> {
    const issued = await this.ctx.tokens.get();
    const controller = new AbortController();
    const onAbort = () => controller.abort(outer.reason);
    outer.addEventListener('abort', onAbort, { once: true });
    if (outer.aborted) onAbort();
    let idle: ReturnType<typeof setTimeout> | undefined;
    const touch = () => {
      if (idle !== undefined) clearTimeout(idle);
      idle = setTimeout(() => controller.abort(new HaulError('TIMEOUT', 'events stream went quiet')), SSE_IDLE_MS);
    };
    try {
      touch();
      const headers: Record<string, string> = { Accept: 'text/event-stream' };
      if (issued.token) headers.Authorization = `Bearer ${issued.token}`;
      const response = await raceAbort(this.ctx.fetch(this.url(`${this.uploadPath(id)}/events`), { headers, signal: controller.signal }), controller.signal);
      if (!response.ok) {
        const text = await response.text().catch(() => '');
        if (response.status === 401 && !issued.forced) {
          this.ctx.tokens.requestRefresh();
          throw new HaulError('AUTH_INVALID', 'token refused; refreshing', { status: 401, retryable: true });
        }
        throw errorFromResponse(response.status, text, response.headers.get('retry-after'));
      }
      const body = response.body as ReadableStream<Uint8Array> | null;
      if (!body || typeof body.getReader !== 'function') throw new StreamingUnavailable();
      const reader = body.getReader();
      const decoder = new TextDecoder();
      const parser = new SseParser();
      // Not every fetch ties the body to the signal (polyfills): cancel the reader as well.
      const cancel = () => void reader.cancel(controller.signal.reason).catch(() => {});
      controller.signal.addEventListener('abort', cancel, { once: true });
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (controller.signal.aborted) throw controller.signal.reason;
          if (done) return undefined;
          touch();
          for (const event of parser.feed(decoder.decode(value, { stream: true }))) {
            if (event.event !== 'status') continue;
            let json: unknown;
            try {
              json = JSON.parse(event.data);
            } catch (error) {
              throw new HaulError('INVALID_RESPONSE', 'events stream: status event is not JSON', { cause: error, retryable: false });
            }
            const parsed = uploadSchema.safeParse(json);
            if (!parsed.success) {
              throw new HaulError('INVALID_RESPONSE', `events stream: unexpected record: ${parsed.error.message}`, { cause: parsed.error, retryable: false });
            }
            if (seen(parsed.data)) return parsed.data;
          }
        }
      } finally {
        controller.signal.removeEventListener('abort', cancel);
        reader.cancel().catch(() => {});
      }
    } catch (error) {
      if (controller.signal.aborted && isHaulError(controller.signal.reason) && !outer.aborted) throw controller.signal.reason;
      throw error;
    } finally {
      if (idle !== undefined) clearTimeout(idle);
      outer.removeEventListener('abort', onAbort);
    }
  }
}

/** `promise`, or the signal's reason as soon as it aborts. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // The loser's rejection (an aborted fetch) is expected: keep it from surfacing as unhandled.
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** fetch without a readable body stream (React Native): poll instead. */
class StreamingUnavailable extends Error {
  constructor() {
    super('fetch cannot stream response bodies here');
    this.name = 'StreamingUnavailable';
  }
}
