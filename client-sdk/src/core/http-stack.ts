import type { HttpRequest, HttpResponse, HttpStack } from 'tus-js-client';

/**
 * A wrapper around tus-js-client's HTTP stack (XHR in browsers and React Native, node:http in
 * Node) that adds what tus-js-client lacks:
 * - stall detection: no upload progress (and no response) for `stallTimeoutMs` aborts the
 *   request and fails it, so tus's retry takes over (HEAD, then PATCH from the server's offset);
 * - a request aborted by tus (pause, abort) always settles, so nothing waits forever;
 * - a request without body answered 401 is sent once more when `retryUnauthorized` (the retry
 *   policy, through the tus hooks) has put a fresh token on it — a PATCH body cannot be sent twice;
 * - a HEAD answered 4xx other than 404/410 (401, 403, 429 from a proxy, …) becomes an error
 *   instead of a response: tus would otherwise take it for "upload gone", forget the upload and
 *   start over from byte 0;
 * - a failed request's body stream (Node file slices) is destroyed, so retries leak no file handles.
 */

/** No progress and no answer within the stall timeout. */
export class StallError extends Error {
  constructor(readonly method: string, readonly url: string, readonly timeoutMs: number) {
    super(`${method} ${url}: no progress for ${timeoutMs} ms`);
    this.name = 'StallError';
  }
}

/** The request was aborted on purpose (pause, abort). */
export class RequestAbortedError extends Error {
  constructor() {
    super('request aborted');
    this.name = 'RequestAbortedError';
  }
}

/** A response turned into an error (see above); `response` is what the server said. */
export class HttpStatusError extends Error {
  constructor(readonly response: HttpResponse, readonly method: string) {
    super(`${method}: HTTP ${response.getStatus()}`);
    this.name = 'HttpStatusError';
  }
}

export interface GuardOptions {
  /** 0 turns stall detection off. */
  stallTimeoutMs: number;
  /** A bodyless `req` was answered 401: true once a fresh token is on it and it may go again. */
  retryUnauthorized?: (req: GuardedRequest, response: HttpResponse) => Promise<boolean>;
}

export class GuardedHttpStack implements HttpStack {
  constructor(
    private readonly inner: HttpStack,
    private readonly options: GuardOptions,
  ) {}

  createRequest(method: string, url: string): GuardedRequest {
    return new GuardedRequest(this.inner, method, url, this.options);
  }

  getName(): string {
    return `haul(${this.inner.getName()})`;
  }
}

type Body = unknown;

function destroyBody(body: Body): void {
  const stream = body as { destroy?: unknown; pipe?: unknown } | null;
  if (stream && typeof stream.destroy === 'function' && typeof stream.pipe === 'function') {
    (stream.destroy as () => void).call(stream);
  }
}

export class GuardedRequest implements HttpRequest {
  private readonly headers = new Map<string, { name: string; value: string }>();
  private progressHandler: (bytesSent: number) => void = () => {};
  /** The platform request being (or next to be) sent. */
  private current: HttpRequest;
  /** Whether `current` was sent: a second send (after a 401) needs a new one. */
  private sent = false;
  private fail: ((error: Error) => void) | null = null;
  private readonly abortController = new AbortController();
  /** Aborts when tus aborts the request (pause, abort): work done before sending it can stop too. */
  readonly signal = this.abortController.signal;

  constructor(
    private readonly inner: HttpStack,
    private readonly method: string,
    private readonly url: string,
    private readonly options: GuardOptions,
  ) {
    // Created now, as tus-js-client's own stacks do, so that `getUnderlyingObject()` works in
    // onBeforeRequest (Uppy sets the XHR's `withCredentials` there).
    this.current = inner.createRequest(method, url);
  }

  getMethod(): string {
    return this.method;
  }

  getURL(): string {
    return this.url;
  }

  setHeader(header: string, value: string): void {
    this.headers.set(header.toLowerCase(), { name: header, value });
  }

  getHeader(header: string): string | undefined {
    return this.headers.get(header.toLowerCase())?.value;
  }

  setProgressHandler(handler: (bytesSent: number) => void): void {
    this.progressHandler = handler;
  }

  async send(body: Body = null): Promise<HttpResponse> {
    let response = await this.sendOnce(body);
    const bodyless = body === null || body === undefined;
    if (response.getStatus() === 401 && bodyless && (await this.options.retryUnauthorized?.(this, response))) {
      response = await this.sendOnce(body);
    }
    const status = response.getStatus();
    if (this.method === 'HEAD' && status >= 400 && status < 500 && status !== 404 && status !== 410) {
      throw new HttpStatusError(response, this.method);
    }
    return response;
  }

  private sendOnce(body: Body): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      if (this.signal.aborted) {
        reject(new RequestAbortedError());
        return;
      }
      const request = this.sent ? this.inner.createRequest(this.method, this.url) : this.current;
      this.sent = true;
      for (const { name, value } of this.headers.values()) request.setHeader(name, value);
      this.current = request;
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeoutMs = this.options.stallTimeoutMs;
      const settle = () => {
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        this.fail = null;
      };
      const fail = (error: Error) => {
        if (settled) return;
        settle();
        request.abort().catch(() => {});
        destroyBody(body);
        reject(error);
      };
      const arm = () => {
        if (timeoutMs <= 0) return;
        if (timer !== undefined) clearTimeout(timer);
        timer = setTimeout(() => fail(new StallError(this.method, this.url, timeoutMs)), timeoutMs);
      };
      this.fail = fail;
      request.setProgressHandler((bytesSent) => {
        if (settled) return;
        arm();
        this.progressHandler(bytesSent);
      });
      arm();
      request.send(body).then(
        (response) => {
          if (settled) return;
          settle();
          resolve(response);
        },
        (error: unknown) => {
          if (settled) return;
          settle();
          destroyBody(body);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  abort(): Promise<void> {
    this.abortController.abort(new RequestAbortedError());
    this.fail?.(new RequestAbortedError());
    return Promise.resolve();
  }

  getUnderlyingObject(): unknown {
    return this.current.getUnderlyingObject();
  }
}
