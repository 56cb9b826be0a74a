import { NO_MEDIA, type UploadJson } from '@haul/api';
import { HaulApi } from '../core/api.js';
import { TokenSource } from '../core/auth.js';
import { alwaysOnline, type Connectivity } from '../core/connectivity.js';
import { createHttpClient, type FetchFunction } from '../core/http-client.js';
import { type ProcessingWaitDeps, waitForTerminal, type WaitOptions } from '../core/processing-wait.js';
import { retryPolicy } from '../core/retry-policy.js';

/** Test fixtures (not part of the package): upload records, JSON answers, and an API over a scripted fetch. */

export const record = (status: UploadJson['status'], extra: Partial<UploadJson> = {}): UploadJson => ({
  id: 'abc',
  status,
  reason: null,
  filename: 'a.txt',
  declaredType: null,
  detectedType: null,
  size: 3,
  offset: 3,
  sha256: null,
  encrypted: false,
  encryption: null,
  activeContent: null,
  scanned: null,
  scope: null,
  thumbnails: [],
  media: { ...NO_MEDIA },
  contentUrl: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  finishedAt: null,
  processedAt: null,
  eventsUrl: '/api/uploads/abc/events',
  ...extra,
});

export const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

type Scripted = Response | Error | ((url: string, init?: RequestInit) => Response | Promise<Response>);

/** A HaulApi whose fetch answers with `responses` in order; `calls` records the requests, `asked` each getToken's forceRefresh. */
export function scriptedApi(responses: Scripted[], tokens: string[] = ['t'], connectivity: Connectivity = alwaysOnline) {
  const calls: Array<{ url: string; init: RequestInit | undefined }> = [];
  const fetch: FetchFunction = async (url, init) => {
    calls.push({ url, init });
    const next = responses.shift();
    if (!next) throw new Error(`unexpected request ${url}`);
    if (next instanceof Error) throw next;
    return typeof next === 'function' ? next(url, init) : next;
  };
  const asked: boolean[] = [];
  const source = new TokenSource(({ forceRefresh }) => {
    asked.push(forceRefresh);
    return tokens.shift() ?? 'last';
  });
  const policy = retryPolicy({ initialDelayMs: 1, maxDelayMs: 5, maxAttempts: 4, maxRetryAfterMs: 2_000 });
  const http = createHttpClient({ fetch, tokens: source, policy, connectivity });
  const client = new HaulApi({ apiBaseUrl: 'http://h', http, requestTimeoutMs: 5_000 });
  const deps: ProcessingWaitDeps = { api: client, http, policy, connectivity };
  const wait = (id: string, options?: WaitOptions) => waitForTerminal(deps, id, options);
  return { client, http, wait, calls, asked };
}

/** The bearer token a recorded request carried. */
export const authOf = (init: RequestInit | undefined) => new Headers(init?.headers).get('authorization');

/** A connectivity signal the test switches. */
export class FakeConnectivity implements Connectivity {
  online = true;
  private listeners = new Set<(online: boolean) => void>();
  isOnline = () => this.online;
  subscribe(listener: (online: boolean) => void) {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  set(online: boolean) {
    this.online = online;
    for (const listener of this.listeners) listener(online);
  }
}
