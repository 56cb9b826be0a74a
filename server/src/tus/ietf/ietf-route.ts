import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';
import type { Locker } from '@tus/utils';
import type { TokenVerifier } from '../../auth/tokens.js';
import type { Config } from '../../config.js';
import { HaulError } from '../../errors.js';
import type { AppEnv } from '../../http/app-env.js';
import { authenticate } from '../../http/authenticate.js';
import type { AuthorizeCreation } from '../../http/create-policy.js';
import type { Storage } from '../../storage/storage.js';
import { checkDeclaredFile, type DeclaredFile, effectiveMaxSize } from '../../uploads/declared-file.js';
import type { Quotas } from '../../uploads/quota.js';
import type { UploadLifecycle } from '../../uploads/upload-lifecycle.js';
import type { UploadRecord, UploadRepository } from '../../uploads/upload-repository.js';
import type { BodyWriter } from '../body-writer.js';
import type { TusRequest, TusResponse, TusUploadRequest } from '../request-context.js';
import { toHaulError } from '../tus-errors.js';
import { createIetfAppendHandler, type IetfUploadRequest } from './ietf-append.js';
import { createIetfCreationHandler, type IetfRequest } from './ietf-create.js';
import type { IetfResponse } from './ietf-length.js';
import { completeHeader, type InteropVersion, PARTIAL_UPLOAD, parseInteropVersion, PROBLEM_TYPES, secondsLeft, uploadLimit } from './interop.js';

/** What the tus route lends the IETF side: its checks and its way of running handlers. */
export interface TusRouteTools {
  target: { id: string | null };
  method: string;
  header(name: string): string | undefined;
  request(user: TusRequest['user']): TusRequest;
  findOwnUpload(id: string, userId: string, method: string): Promise<UploadRecord>;
  /** Whatever a final upload or partial does not allow (tus concatenation.ts). */
  checkAccess(upload: UploadRecord, method: string): void;
  run<R extends TusRequest>(request: R, handler: (request: R) => Promise<TusResponse | IetfResponse>): Promise<TusResponse | IetfResponse>;
  runWithBody<R extends TusRequest>(request: R, handler: (request: R) => Promise<TusResponse | IetfResponse>): Promise<TusResponse | IetfResponse>;
  /** tus HEAD (offset from storage, reconciliation) and DELETE: the IETF answers are built on them. */
  tusHead(request: TusUploadRequest): Promise<TusResponse>;
  tusTerminate(request: TusUploadRequest): Promise<TusResponse>;
}

/**
 * The IETF resumable-upload draft at /files/, beside tus: a request carrying
 * Upload-Draft-Interop-Version comes here (tus-route.ts), is authenticated the same way, finds
 * its upload the same way (another user's reads as missing), and is handled on the same stores,
 * locks, limits, hooks and records. Errors are answered as problem details (RFC 9457), with the
 * draft's problem types where it defines one, Haul's error code as the `code` member.
 */
export function createIetfRoute(deps: {
  config: Config;
  storage: Storage;
  locker: Locker;
  verifier: TokenVerifier;
  repository: UploadRepository;
  quotas: Quotas;
  lifecycle: UploadLifecycle;
  writeBody: BodyWriter;
  authorizeCreation: AuthorizeCreation;
  lockDrainMs: number;
  onFinished(id: string): void;
}) {
  const { uploads } = deps.config;
  // As tus (Tus-Max-Size): the largest file that can end up ready, announced as max-size.
  const maxSize = effectiveMaxSize(deps.config);
  const checkDeclared = (file: DeclaredFile) => checkDeclaredFile(file, deps.config);
  const create = createIetfCreationHandler({
    limits: { maxSize, maxConcurrentPerUser: uploads.maxConcurrentPerUser, expirySeconds: uploads.expirySeconds, lockDrainMs: deps.lockDrainMs, encryptedUploads: uploads.encryptedUploads },
    checkDeclared, storage: deps.storage, locker: deps.locker, repository: deps.repository, quotas: deps.quotas, lifecycle: deps.lifecycle,
    writeBody: deps.writeBody, authorizeCreation: deps.authorizeCreation,
  });
  const append = createIetfAppendHandler({
    maxSize, checkDeclared, lockDrainMs: deps.lockDrainMs, storage: deps.storage, locker: deps.locker,
    quotas: deps.quotas, lifecycle: deps.lifecycle, writeBody: deps.writeBody, onFinished: deps.onFinished,
  });

  /**
   * Offset retrieval. "A successful response to a HEAD request against an upload resource MUST
   * include the offset in the Upload-Offset header field, MUST include the completeness state in
   * the Upload-Complete header field, MUST include the length in the Upload-Length header field,
   * unless the client has not supplied one, MUST indicate the limits in the Upload-Limit header
   * field, and SHOULD include the Cache-Control header field with the value no-store".
   */
  async function head(request: IetfUploadRequest, tusHead: TusRouteTools['tusHead']): Promise<IetfResponse> {
    const tus = await tusHead(request);
    const offset = tus.headers['Upload-Offset']!;
    const length = tus.headers['Upload-Length'];
    const complete = length !== undefined && offset === length;
    const lifetime = complete ? undefined : secondsLeft(request.upload.expiresAt);
    return {
      status: 204,
      headers: {
        'Upload-Offset': offset,
        ...completeHeader(complete),
        ...(length === undefined ? {} : { 'Upload-Length': length }),
        'Upload-Limit': uploadLimit(request.version, { maxSize, lifetimeSeconds: lifetime }),
        'Cache-Control': 'no-store',
      },
    };
  }

  /**
   * OPTIONS: the tus answer (CORS included) plus the draft's. "the server MUST include the
   * Accept-Patch header field in the response. … The value of the Accept-Patch header field MUST
   * include the full application/partial-upload media type" and "The Upload-Limit header field
   * SHOULD be included in the response to an OPTIONS request if limits apply."
   */
  function options(version: InteropVersion, tus: TusResponse): IetfResponse {
    return { status: 204, headers: { ...tus.headers, 'Accept-Patch': PARTIAL_UPLOAD, 'Upload-Limit': uploadLimit(version, { maxSize }) } };
  }

  /** An error as problem details; 413 carries the limits ("MUST include the Upload-Limit header"). */
  function problem(c: Context<AppEnv>, error: HaulError, version: InteropVersion | undefined, header: TusRouteTools['header']) {
    if (error.status >= 500) c.get('logger')?.error('request failed', { err: error.cause ?? error });
    const body: Record<string, unknown> = { type: 'about:blank', title: error.message, status: error.status, code: error.code };
    if (error.code === 'OFFSET_MISMATCH') {
      Object.assign(body, {
        type: PROBLEM_TYPES.mismatchingOffset, title: 'offset from request does not match offset of resource', detail: error.message,
        'expected-offset': Number(error.headers['Upload-Offset']), 'provided-offset': Number(header('upload-offset')),
      });
    } else if (error.code === 'INCONSISTENT_UPLOAD_LENGTH') {
      Object.assign(body, { type: PROBLEM_TYPES.inconsistentLength, title: 'inconsistent length values for upload', detail: error.message });
    } else if (error.code === 'UPLOAD_FINISHED') {
      Object.assign(body, { type: PROBLEM_TYPES.completedUpload, title: 'upload is already completed' });
    }
    const headers: Record<string, string> = { ...error.headers, 'Content-Type': 'application/problem+json' };
    if (error.status === 413 && version !== undefined) headers['Upload-Limit'] = uploadLimit(version, { maxSize });
    return c.body(JSON.stringify(body), error.status as 400, headers);
  }

  return async function handle(c: Context<AppEnv>, tools: TusRouteTools, tusOptions: () => TusResponse, outgoing: ServerResponse) {
    let version: InteropVersion | undefined;
    try {
      version = parseInteropVersion(tools.header('upload-draft-interop-version') ?? '');
      const { method, target } = tools;
      if (method === 'OPTIONS') return respond(c, options(version, tusOptions()));
      const user = await authenticate(c, deps.verifier);
      const request: IetfRequest = { ...tools.request(user), version, outgoing };
      if (target.id === null) {
        if (method !== 'POST') throw new HaulError('METHOD_NOT_ALLOWED', `${method} is not allowed on the upload collection`, { headers: { Allow: 'POST, OPTIONS' } });
        return respond(c, await tools.runWithBody(request, create));
      }
      const upload = await tools.findOwnUpload(target.id, user.id, method);
      tools.checkAccess(upload, method);
      // A final upload still waiting for its partials (tus concatenation-unfinished) has no offset yet.
      if (upload.status === 'assembling') throw new HaulError('UPLOAD_LOCKED', 'This final upload is still being assembled');
      const uploadRequest: IetfUploadRequest = { ...request, upload };
      switch (method) {
        case 'HEAD':
          return respond(c, await tools.run(uploadRequest, (r) => head(r, tools.tusHead)));
        case 'PATCH':
          return respond(c, await tools.runWithBody(uploadRequest, append));
        // "Upon receiving a DELETE request, the server SHOULD deactivate the upload resource."
        case 'DELETE':
          return respond(c, await tools.run(uploadRequest, tools.tusTerminate));
        default:
          throw new HaulError('METHOD_NOT_ALLOWED', `${method} is not a method of upload resources`, { headers: { Allow: 'HEAD, PATCH, DELETE, OPTIONS' } });
      }
    } catch (error) {
      return problem(c, toHaulError(error), version, tools.header);
    }
  };
}

/** IETF answers carry no Tus-Resumable: they are not tus responses. */
const respond = (c: Context<AppEnv>, { status, headers }: TusResponse | IetfResponse) => c.body(null, status, headers);
