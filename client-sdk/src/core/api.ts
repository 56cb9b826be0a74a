import {
  API_PATHS,
  createLinkRequestSchema,
  HEADERS,
  type LinkJson,
  linkSchema,
  linksPath,
  serverConfigSchema,
  type ServerConfigJson,
  uploadApiPath,
  type UploadJson,
  type UploadList,
  uploadListSchema,
  uploadSchema,
  type UploadStatus,
} from '@haul/api';
import type { ZodType } from 'zod';
import { errorFromResponse, HaulError } from './errors.js';
import type { HttpClient } from './http-client.js';

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

export interface ApiContext {
  /** Origin (and path prefix) of the JSON API, without a trailing slash. */
  apiBaseUrl: string;
  http: HttpClient;
  /** Bound on one JSON request (connect to last byte). */
  requestTimeoutMs: number;
}

interface RequestOptions<T> {
  schema?: ZodType<T>;
  body?: unknown;
  signal?: AbortSignal;
}

/** The JSON API (/api/…): requests through the SDK's HTTP client, responses validated with @haul/api's schemas. */
export class HaulApi {
  constructor(private readonly ctx: ApiContext) {}

  /** An absolute URL for an API path (from @haul/api's paths). */
  url(path: string): string {
    return `${this.ctx.apiBaseUrl}${path}`;
  }

  /** The record `schema` describes; rejects with a HaulError for error answers and invalid bodies. */
  async request<T>(method: string, path: string, options: RequestOptions<T> & { schema: ZodType<T> }): Promise<T>;
  async request(method: string, path: string, options?: RequestOptions<unknown>): Promise<void>;
  async request<T>(method: string, path: string, options: RequestOptions<T> = {}): Promise<T | void> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const { response, text } = await this.ctx.http.send(this.url(path), { method, headers, body }, { signal: options.signal, timeoutMs: this.ctx.requestTimeoutMs });
    if (!response.ok) throw errorFromResponse(response.status, text, response.headers.get(HEADERS.retryAfter));
    if (!options.schema) return;
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

  get(id: string, signal?: AbortSignal): Promise<UploadJson> {
    return this.request('GET', uploadApiPath(id), { schema: uploadSchema, signal });
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
    return this.request('GET', `${API_PATHS.uploads}${search ? `?${search}` : ''}`, { schema: uploadListSchema, signal: options.signal });
  }

  delete(id: string, signal?: AbortSignal): Promise<void> {
    return this.request('DELETE', uploadApiPath(id), { signal });
  }

  createLink(id: string, options: CreateLinkOptions = {}): Promise<LinkJson> {
    const parsed = createLinkRequestSchema.safeParse(options.expiresIn === undefined ? {} : { expiresIn: options.expiresIn });
    if (!parsed.success) {
      return Promise.reject(new HaulError('INVALID_INPUT', `createLink: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`, { retryable: false }));
    }
    return this.request('POST', linksPath(id), { schema: linkSchema, body: parsed.data, signal: options.signal });
  }

  serverConfig(signal?: AbortSignal): Promise<ServerConfigJson> {
    return this.request('GET', API_PATHS.config, { schema: serverConfigSchema, signal });
  }
}
