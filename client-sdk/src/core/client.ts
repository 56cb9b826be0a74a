import { contentPath } from '@haul/api';
import { defaultOptions as tusDefaults, type HttpStack } from 'tus-js-client';
import { HaulApi } from './api.js';
import { TokenSource } from './auth.js';
import { alwaysOnline } from './connectivity.js';
import { downloadDecrypted, previewDecrypted } from './encryption/encrypted-download.js';
import { HaulError } from './errors.js';
import { createHttpClient, type FetchFunction } from './http-client.js';
import type { Platform } from './platform.js';
import { outcomeError, waitForTerminal } from './processing-wait.js';
import { ResumeIndex } from './resume-storage.js';
import { webCryptoSha256 } from './checksum-http-stack.js';
import { retryPolicy } from './retry-policy.js';
import { createTusEndpoint } from './tus-endpoint.js';
import { haulTusOptions } from './tus-options.js';
import { UploadController } from './upload-controller.js';
import type { UploadContext } from './upload-types.js';
import type { HaulClient, HaulClientOptions } from './client-types.js';

export type { HaulClient, HaulClientOptions } from './client-types.js';

/** Resolves the tus endpoint (relative URLs against the page) and the API base. */
function resolveEndpoints(endpoint: string, apiBaseUrl: string | undefined): { endpoint: string; apiBaseUrl: string } {
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  let url: URL;
  try {
    url = new URL(endpoint, base);
  } catch (error) {
    throw new HaulError('INVALID_INPUT', `endpoint ${JSON.stringify(endpoint)} is not a URL`, { cause: error, retryable: false });
  }
  const api = apiBaseUrl === undefined ? url.origin : new URL(apiBaseUrl, base).toString();
  return { endpoint: url.toString(), apiBaseUrl: api.replace(/\/+$/, '') };
}

const DAY_MS = 24 * 3600 * 1000;

/** The platform-independent client; the entries (browser, node) pass their platform. */
export function createClient<Input>(options: HaulClientOptions, platform: Platform<Input>): HaulClient<Input> {
  const { endpoint, apiBaseUrl } = resolveEndpoints(options.endpoint, options.apiBaseUrl);
  const policy = retryPolicy(options.retry);
  const tokens = new TokenSource(options.getToken);
  const fetch: FetchFunction = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const stallTimeoutMs = options.stallTimeoutMs ?? 30_000;
  const storage = options.storage === false ? null : (options.storage ?? platform.defaultStorage());
  const connectivity = options.connectivity === false ? alwaysOnline : (options.connectivity ?? platform.defaultConnectivity());
  const http = createHttpClient({ fetch, tokens, policy, connectivity });
  const api = new HaulApi({ apiBaseUrl, http, requestTimeoutMs: Math.max(stallTimeoutMs, 30_000) });
  const context: UploadContext = {
    endpoint,
    api,
    http,
    tus: createTusEndpoint({ endpoint, http, api }),
    tokens,
    policy,
    stallTimeoutMs,
    index: storage ? new ResumeIndex(storage, options.resumeTtlMs ?? DAY_MS) : null,
    connectivity,
    httpStack: tusDefaults.httpStack as HttpStack,
    sha256: options.checksum === false ? null : (platform.sha256 ?? webCryptoSha256()),
    active: new Set<string>(),
  };

  const downloads = {
    engine: platform.cryptoEngine,
    get: (id: string, signal?: AbortSignal) => api.get(id, signal),
    authorizedFetch: (url: string, init?: RequestInit) => http.authorizedFetch(/^[a-z][a-z0-9+.-]*:/i.test(url) ? url : api.url(url), init),
  };

  return {
    endpoint,
    apiBaseUrl,
    upload(input, uploadOptions = {}) {
      const controller = new UploadController(context, platform, input, uploadOptions);
      controller.run();
      return controller;
    },
    async waitForReady(id, waitOptions) {
      const upload = await waitForTerminal(context, id, waitOptions);
      if (upload.status !== 'ready') throw outcomeError(upload);
      return upload;
    },
    get: (id, o) => api.get(id, o?.signal),
    list: (o) => api.list(o),
    listAll(o = {}) {
      return {
        async *[Symbol.asyncIterator]() {
          let cursor: string | undefined;
          do {
            const page = await api.list({ ...o, cursor });
            yield* page.items;
            cursor = page.nextCursor ?? undefined;
          } while (cursor);
        },
      };
    },
    delete: (id, o) => api.delete(id, o?.signal),
    downloadUrl: (id) => api.url(contentPath(id)),
    createLink: (id, o) => api.createLink(id, o),
    watch: (id, o) => waitForTerminal(context, id, o),
    authorizedFetch(url, init) {
      // Absolute URLs as they are; paths (a thumbnail's `url`) against the API base.
      const target = /^[a-z][a-z0-9+.-]*:/i.test(url) ? url : api.url(url.startsWith('/') ? url : `/${url}`);
      return http.authorizedFetch(target, init);
    },
    serverConfig: (o) => api.serverConfig(o?.signal),
    download: (id, o) => downloadDecrypted(downloads, id, o),
    preview: (id, o) => previewDecrypted(downloads, id, o),
    tusOptions: (request) => haulTusOptions(context, request),
  };
}
