import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { TUS_PATH, TUS_RESUMABLE } from '@haul/api';
import type { Locker } from '@tus/utils';
import type { TokenVerifier } from '../auth/tokens.js';
import type { Config } from '../config.js';
import { HaulError } from '../errors.js';
import type { AppEnv } from '../http/app-env.js';
import { authenticate } from '../http/authenticate.js';
import type { AuthorizeCreation } from '../http/create-policy.js';
import type { InflightRequests } from '../http/inflight.js';
import type { HaulMetrics } from '../metrics/metrics.js';
import type { Storage } from '../storage/storage.js';
import type { FinalUploads } from '../uploads/final-upload.js';
import type { OffsetTracker } from '../uploads/offset-tracker.js';
import type { UploadLifecycle } from '../uploads/upload-lifecycle.js';
import { isUploadId } from '../uploads/upload-id.js';
import type { UploadRecord, UploadRepository } from '../uploads/upload-repository.js';
import { createBodyIdleTimeout } from './body-idle-timeout.js';
import { createContentCheckStage } from './content-check.js';
import { createBodyWriter } from './body-writer.js';
import { checksumStage } from './checksum.js';
import { createConcatenation } from './concatenation.js';
import { createUnassembledFinalHandlers, isUnassembledFinal } from './concatenation-unfinished.js';
import { createCreationHandler } from './create.js';
import { createHeadHandler } from './head.js';
import type { IetfResponse } from './ietf/ietf-length.js';
import { createIetfRoute } from './ietf/ietf-route.js';
import { createOptionsHandler } from './options.js';
import { createPatchHandler } from './patch.js';
import { applyMethodOverride, checkTusHeaders, checkTusResumable, publicOrigin } from './protocol-guards.js';
import { createRecentUploads } from './recent-uploads.js';
import { CLOSE_CONNECTION, type TusRequest, type TusResponse } from './request-context.js';
import { createTerminationHandler } from './terminate.js';
import { toHaulError } from './tus-errors.js';
import type { BodyStage } from './upload-body.js';
import type { Quotas } from '../uploads/quota.js';
import type { StoredContents } from '../uploads/stored-contents.js';
import { createUploadRequestCap } from './upload-request-cap.js';
import { checkDeclaredFile, type DeclaredFile, effectiveMaxSize } from '../uploads/declared-file.js';

export interface TusRouteDeps {
  config: Config;
  storage: Storage;
  locker: Locker;
  verifier: TokenVerifier;
  repository: UploadRepository;
  lifecycle: UploadLifecycle;
  offsets: OffsetTracker;
  inflight: InflightRequests;
  finalUploads: FinalUploads;
  /** Per-request stages every upload body passes through (upload-body.ts); none by default. */
  bodyStages?: readonly BodyStage[];
  /** How long a request holding an upload may finish its body once another asks for the lock. */
  lockDrainMs?: number;
  /** Scope membership and the application's pre-create hook (http/create-policy.ts). */
  authorizeCreation: AuthorizeCreation;
  metrics?: Pick<HaulMetrics, 'bytesReceived'>;
  /** Per-user storage quotas (uploads/quota.ts). */
  quotas: Quotas;
  /** Deduplication: termination lets go of a processed file's shared stored copy (uploads/stored-contents.ts). */
  contents: Pick<StoredContents, 'release'>;
}

/** `/files` → collection, `/files/<id>` → that upload; anything else → undefined. */
function parseTusPath(path: string): { id: string | null } | undefined {
  const rest = path.slice(TUS_PATH.length).replace(/\/$/, '');
  if (rest === '') return { id: null };
  const match = /^\/([^/]+)$/.exec(rest);
  return match ? { id: match[1]! } : undefined;
}

const ON_UPLOAD = { Allow: 'HEAD, PATCH, DELETE, OPTIONS' };
/**
 * How long a request holding an upload may go on once another asks for the lock (as
 * @tus/server's lockDrainTimeout): long enough for a live PATCH to finish its chunk, short
 * enough that a client reconnecting past its own dead connection is not kept waiting.
 */
const LOCK_DRAIN_MS = 3000;
const ON_COLLECTION = { Allow: 'POST, OPTIONS' };

const headerOf = (incoming: { headers: Record<string, string | string[] | undefined> }, name: string) => {
  const value = incoming.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/**
 * Everything under /files: Haul's own tus 1.0 server. The route decides who may do what —
 * version, authentication, header syntax, ownership (another user's upload is
 * indistinguishable from a missing one) — then hands the request, as a value, to the handler of
 * its method: options.ts, create.ts, head.ts, patch.ts, terminate.ts (concatenation.ts for
 * Upload-Concat). Errors are thrown as HaulError and answered by the app's one error handler.
 */
export function createTusRoute(deps: TusRouteDeps) {
  const { config, storage, locker, verifier, repository, lifecycle, offsets, inflight, finalUploads } = deps;
  const { uploads } = config;
  // The largest file that can end up ready (MAX_UPLOAD_SIZE, type limits, the scanner's): Tus-Max-Size.
  const maxSize = effectiveMaxSize(config);
  const checkDeclared = (file: DeclaredFile) => checkDeclaredFile(file, config);
  const lockDrainMs = deps.lockDrainMs ?? LOCK_DRAIN_MS;
  const recent = createRecentUploads();
  const forget = (id: string) => recent.forget(id);
  const concatenation = createConcatenation({ capabilities: storage.capabilities, maxPartials: uploads.maxConcatPartials, finalUploads });
  // The checksum stage is always there (it does nothing for a body without a checksum), first,
  // so that it sees the bytes exactly as they arrived. Then reject early: the first bytes of every
  // upload are checked against the file policy as they arrive.
  const stages = [checksumStage, createBodyIdleTimeout(uploads.bodyIdleTimeoutMs), createContentCheckStage(config.processing), ...(deps.bodyStages ?? [])];
  const writeBody = createBodyWriter({ storage, offsets, maxSize, stages, metrics: deps.metrics });
  const requestCap = createUploadRequestCap(uploads.maxConcurrentRequestsPerUser);
  const options = createOptionsHandler({ maxSize, capabilities: storage.capabilities });
  const create = createCreationHandler({
    limits: { maxSize, maxConcurrentPerUser: uploads.maxConcurrentPerUser, expirySeconds: uploads.expirySeconds, lockDrainMs, encryptedUploads: uploads.encryptedUploads },
    checkDeclared, storage, locker, repository, quotas: deps.quotas, lifecycle, concatenation, writeBody, authorizeCreation: deps.authorizeCreation,
  });
  const head = createHeadHandler({ storage, locker, lifecycle, concatenation });
  const patch = createPatchHandler({ maxSize, checkDeclared, lockDrainMs, storage, locker, quotas: deps.quotas, lifecycle, writeBody, onFinished: forget });
  const terminate = createTerminationHandler({ storage, contents: deps.contents, locker, lifecycle, markPurged: (id) => repository.markPurged(id), onTerminated: forget });
  const unassembledFinal = createUnassembledFinalHandlers({ finalUploads });
  const ietf = createIetfRoute({ ...deps, lockDrainMs, writeBody, onFinished: forget });

  const findOwnUpload = async (id: string, userId: string, method: string): Promise<UploadRecord> => {
    const cached = method === 'PATCH' ? recent.get(id) : undefined;
    if (cached?.ownerId === userId) return cached;
    const upload = isUploadId(id) ? await repository.find(id) : undefined;
    if (upload) recent.remember(upload);
    if (!upload || upload.ownerId !== userId) throw new HaulError('UPLOAD_NOT_FOUND');
    // tus 1.0: the Server SHOULD answer 404 Not Found or 410 Gone for expired/removed uploads.
    if (upload.status === 'expired' || upload.status === 'terminated' || upload.deletedAt) throw new HaulError('UPLOAD_GONE');
    // Refused from its first bytes (content-check.ts): gone, and why.
    if (upload.status === 'rejected' && upload.finishedAt === null) throw new HaulError('UPLOAD_GONE', `This upload was refused: ${upload.statusReason ?? 'not accepted'}`);
    // A partial consumed by a final upload is gone too: its storage is removed right after
    // assembly (or by the purge retry), so storage would answer 404 — or, while a failed removal
    // awaits its retry, still serve bytes that now belong to the final upload.
    if (upload.status === 'concatenated') {
      throw new HaulError('UPLOAD_GONE', 'This partial upload was concatenated into a final upload and removed');
    }
    return upload;
  };

  /** Runs a handler; whatever it throws becomes a HaulError for the app's error handler. */
  async function run<R extends TusRequest, A extends TusResponse | IetfResponse>(request: R, handler: (request: R) => Promise<A>): Promise<A> {
    try {
      return await handler(request);
    } catch (error) {
      throw toHaulError(error);
    }
  }

  /**
   * Runs a handler that reads the request body: counted against the user's cap of open upload
   * requests, tracked for shutdown (which ends the body where it is, keeping its bytes), and if
   * it fails before the body was read to its end the connection is not kept alive for another
   * request.
   */
  async function runWithBody<R extends TusRequest, A extends TusResponse | IetfResponse>(
    request: R, handler: (request: R) => Promise<A>, outgoing: ServerResponse,
  ): Promise<A> {
    try {
      const release = requestCap.acquire(request.user.id);
      const work = run(request, handler).finally(release);
      await inflight.track(request.incoming, outgoing, work);
      return await work;
    } catch (error) {
      const haul = toHaulError(error);
      if (request.incoming.complete) throw haul;
      throw new HaulError(haul.code, haul.message, { headers: { ...haul.headers, ...CLOSE_CONNECTION }, cause: haul.cause });
    }
  }

  // tus 1.0: "The Tus-Resumable header MUST be included in every request and response except for
  // OPTIONS requests." Clients expect it on OPTIONS answers too, and errors get it in app.ts.
  const respond = (c: Context<AppEnv>, { status, headers }: TusResponse) =>
    c.body(null, status, { ...headers, 'Tus-Resumable': TUS_RESUMABLE });

  return new Hono<AppEnv>().all(`${TUS_PATH}/*`, async (c) => {
    const { incoming, outgoing } = c.env;
    const target = parseTusPath(c.req.path);
    if (!target) throw new HaulError('NOT_FOUND');
    applyMethodOverride(incoming);
    const method = incoming.method ?? 'GET';
    const header = (name: string) => headerOf(incoming, name);
    /** The request as a value for the handlers, once its user is known. */
    const requestOf = (user: TusRequest['user']): TusRequest => {
      const gone = new AbortController();
      // Only a request that has not been answered has anything left to stop (aborting costs a DOMException).
      outgoing.once('close', () => {
        if (!outgoing.writableFinished) gone.abort();
      });
      return {
        header, incoming, user, signal: gone.signal,
        logger: c.get('logger').child({ userId: user.id }),
        origin: publicOrigin(c.req.raw, config.trustProxy),
      };
    };
    // The IETF resumable-upload draft names itself with Upload-Draft-Interop-Version (ietf/).
    if (header('upload-draft-interop-version') !== undefined) {
      return ietf(c, {
        target, method, header, request: requestOf, findOwnUpload, checkAccess: concatenation.checkAccess,
        run, runWithBody: (request, handler) => runWithBody(request, handler, outgoing), tusHead: head, tusTerminate: terminate,
      }, options, outgoing);
    }
    // OPTIONS is capability discovery and CORS preflight: no token, no Tus-Resumable.
    if (method === 'OPTIONS') return respond(c, options());
    // GET is not part of tus, so it carries no Tus-Resumable; it is answered below.
    if (method !== 'GET') checkTusResumable(header('tus-resumable'));
    const user = await authenticate(c, verifier);
    checkTusHeaders(method, header);
    const request = requestOf(user);
    if (target.id === null) {
      if (method !== 'POST') throw new HaulError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${TUS_PATH}`, { headers: ON_COLLECTION });
      return respond(c, await runWithBody(request, create, outgoing));
    }
    if (method === 'POST') throw new HaulError('METHOD_NOT_ALLOWED', 'POST creates uploads on the collection URL', { headers: ON_UPLOAD });
    const upload = await findOwnUpload(target.id, user.id, method);
    if (method === 'GET') {
      throw new HaulError('METHOD_NOT_ALLOWED', 'Upload URLs do not serve content; download finished files through the files API', { headers: ON_UPLOAD });
    }
    concatenation.checkAccess(upload, method);
    const uploadRequest = { ...request, upload };
    // A final upload not assembled yet has no bytes in storage for the handlers below to read.
    if (isUnassembledFinal(upload)) return respond(c, await run(uploadRequest, method === 'HEAD' ? unassembledFinal.head : unassembledFinal.terminate));
    switch (method) {
      case 'HEAD':
        return respond(c, await run(uploadRequest, head));
      case 'PATCH':
        return respond(c, await runWithBody(uploadRequest, patch, outgoing));
      case 'DELETE':
        return respond(c, await run(uploadRequest, terminate));
      default:
        throw new HaulError('METHOD_NOT_ALLOWED', `${method} is not a tus method`, { headers: ON_UPLOAD });
    }
  });
}
