import { HEADERS, TERMINAL_STATUSES, uploadEventsPath, type UploadJson, uploadSchema } from '@haul/api';
import { abortError, deadline, raceAbort, sleep } from './abort.js';
import type { HaulApi } from './api.js';
import { type Connectivity, untilOnline } from './connectivity.js';
import { errorFromResponse, HaulError, isHaulError } from './errors.js';
import type { HttpClient } from './http-client.js';
import { decide, type RetryPolicy } from './retry-policy.js';
import { SseParser } from './sse.js';

/**
 * Waiting for processing: follows an upload's events stream (Server-Sent Events over fetch,
 * reconnecting when it drops, as the retry policy says) until a terminal status, falling back
 * to polling GET /api/uploads/:id where streaming is unavailable or keeps failing.
 */

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

export interface ProcessingWaitDeps {
  api: HaulApi;
  http: HttpClient;
  policy: RetryPolicy;
  connectivity: Connectivity;
}

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATUSES);
/** The server sends a comment at least every 15 s: this long without a byte means the stream is dead. */
const SSE_IDLE_MS = 45_000;
/** Stream failures in a row before polling instead. */
const STREAM_FAILURES_BEFORE_POLLING = 3;
const MAX_POLL_INTERVAL_MS = 5000;

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

/** fetch without a readable body stream (React Native): poll instead. */
class StreamingUnavailable extends Error {
  constructor() {
    super('fetch cannot stream response bodies here');
    this.name = 'StreamingUnavailable';
  }
}

/** Resolves with the upload's record once its status is terminal (ready, rejected, infected, failed, …). */
export async function waitForTerminal(deps: ProcessingWaitDeps, id: string, options: WaitOptions = {}): Promise<UploadJson> {
  if (options.signal?.aborted) throw abortError(options.signal);
  const limit = deadline(options.signal, options.timeoutMs, () => new HaulError('TIMEOUT', `upload ${id} did not finish processing within ${options.timeoutMs} ms`));
  const { signal } = limit;
  let last = '';
  const seen = (upload: UploadJson): boolean => {
    const key = JSON.stringify(upload);
    if (key !== last) {
      last = key;
      options.onStatus?.(upload);
    }
    return TERMINAL.has(upload.status);
  };
  const pause = (wait: Promise<void>) =>
    wait.catch(() => {
      throw abortError(signal);
    });
  try {
    let useEvents = options.events !== false;
    let failures = 0;
    let pollMs = options.pollIntervalMs ?? 1000;
    for (;;) {
      if (signal.aborted) throw abortError(signal);
      if (!useEvents) {
        const upload = await deps.api.get(id, signal);
        if (seen(upload)) return upload;
        await pause(sleep(pollMs, signal));
        pollMs = Math.min(MAX_POLL_INTERVAL_MS, pollMs * 1.5);
        continue;
      }
      let failure: unknown = new HaulError('NETWORK_ERROR', 'events stream ended before a terminal status');
      try {
        const terminal = await followEvents(deps, id, seen, signal);
        if (terminal) return terminal;
      } catch (error) {
        if (signal.aborted) throw abortError(signal);
        if (error instanceof StreamingUnavailable) {
          useEvents = false;
          continue;
        }
        failure = error;
      }
      const decision = decide(failure, { attempt: failures, online: deps.connectivity.isOnline(), tokenRefreshed: true, policy: deps.policy });
      if (decision.action === 'stop' || decision.action === 'refresh-token') {
        if (isHaulError(failure) && !failure.retryable) throw failure;
        useEvents = false; // out of retries for the stream: polling has its own
        continue;
      }
      if (decision.action === 'wait-online') await pause(untilOnline(deps.connectivity, signal));
      else {
        failures++;
        if (failures >= STREAM_FAILURES_BEFORE_POLLING) useEvents = false;
        await pause(sleep(decision.delayMs, signal));
      }
    }
  } finally {
    limit.dispose();
  }
}

/** One connection to the events stream: the terminal record, or undefined if it ended before. */
async function followEvents(deps: ProcessingWaitDeps, id: string, seen: (upload: UploadJson) => boolean, outer: AbortSignal): Promise<UploadJson | undefined> {
  // One signal for the connection: the caller's, or the stream going quiet for SSE_IDLE_MS.
  let idleTimer: ReturnType<typeof setTimeout> | undefined;
  const quiet = new HaulError('TIMEOUT', 'events stream went quiet');
  const connection = deadline(outer, undefined, () => quiet);
  const { signal } = connection;
  const touch = () => {
    if (idleTimer !== undefined) clearTimeout(idleTimer);
    idleTimer = setTimeout(() => connection.abort(quiet), SSE_IDLE_MS);
  };
  try {
    touch();
    const url = deps.api.url(uploadEventsPath(id));
    const response = await raceAbort(deps.http.authorizedFetch(url, { headers: { Accept: 'text/event-stream' }, signal }), signal);
    if (!response.ok) throw errorFromResponse(response.status, await response.text().catch(() => ''), response.headers.get(HEADERS.retryAfter));
    const body = response.body as ReadableStream<Uint8Array> | null;
    if (!body || typeof body.getReader !== 'function') throw new StreamingUnavailable();
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    // Not every fetch ties the body to the signal (polyfills): cancel the reader as well.
    const cancel = () => void reader.cancel(signal.reason).catch(() => {});
    signal.addEventListener('abort', cancel, { once: true });
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (signal.aborted) throw signal.reason;
        if (done) return undefined;
        touch();
        for (const event of parser.feed(decoder.decode(value, { stream: true }))) {
          if (event.event !== 'status') continue;
          const upload = parseStatusEvent(event.data);
          if (seen(upload)) return upload;
        }
      }
    } finally {
      signal.removeEventListener('abort', cancel);
      reader.cancel().catch(() => {});
    }
  } catch (error) {
    if (signal.reason === quiet && !outer.aborted) throw quiet;
    throw error;
  } finally {
    if (idleTimer !== undefined) clearTimeout(idleTimer);
    connection.dispose();
  }
}

function parseStatusEvent(data: string): UploadJson {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch (error) {
    throw new HaulError('INVALID_RESPONSE', 'events stream: status event is not JSON', { cause: error, retryable: false });
  }
  const parsed = uploadSchema.safeParse(json);
  if (!parsed.success) throw new HaulError('INVALID_RESPONSE', `events stream: unexpected record: ${parsed.error.message}`, { cause: parsed.error, retryable: false });
  return parsed.data;
}
