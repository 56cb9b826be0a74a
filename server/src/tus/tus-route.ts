import type { ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Server } from '@tus/server';
import { Hono } from 'hono';
import type { Config } from '../config.js';
import { HaulError } from '../errors.js';
import type { AppEnv } from '../http/app-env.js';
import { authenticate } from '../http/authenticate.js';
import type { TokenVerifier } from '../auth/tokens.js';
import { parseUploadMetadata, validateUploadMetadata } from '../uploads/metadata.js';
import type { OffsetTracker } from '../uploads/offset-tracker.js';
import type { UploadLifecycle } from '../uploads/upload-lifecycle.js';
import type { UploadRecord, UploadRepository } from '../uploads/upload-repository.js';
import { isUploadId } from '../uploads/upload-id.js';
import type { InflightRequests } from '../http/inflight.js';
import type { FinalUploads } from '../uploads/final-upload.js';
import { applyMethodOverride, checkTusHeaders, checkTusResumable, publicOrigin } from './protocol-guards.js';
import { finalConcatHeader, parseUploadConcat, removeUploadConcatHeader } from './upload-concat.js';
import { createRecentUploads } from './recent-uploads.js';
import { bindTusContext, type TusRequestContext } from './request-context.js';
import { haulUploadHeaders, TUS_PATH } from '@haul/api';
import type { AuthorizeCreation } from '../http/create-policy.js';

export interface TusRouteDeps {
  config: Config;
  tus: Server;
  verifier: TokenVerifier;
  repository: UploadRepository;
  lifecycle: UploadLifecycle;
  offsets: OffsetTracker;
  inflight: InflightRequests;
  finalUploads: FinalUploads;
  /** Scope membership and the application's pre-create hook (http/create-policy.ts). */
  authorizeCreation: AuthorizeCreation;
}

/** `/files` → collection, `/files/<id>` → that upload; anything else → undefined. */
function parseTusPath(path: string): { id: string | null } | undefined {
  const rest = path.slice(TUS_PATH.length).replace(/\/$/, '');
  if (rest === '') return { id: null };
  const match = /^\/([^/]+)$/.exec(rest);
  return match ? { id: match[1]! } : undefined;
}

const header = (value: string | number | string[] | undefined) => (value === undefined ? undefined : String(value));

/**
 * tus.handle() answers through srvx, which ends the response with `res.end(callback)` and waits
 * for that callback. Node only calls it on 'finish', which a response whose client has gone
 * (a PATCH aborted mid-body) never emits: tus.handle() would stay pending forever after tus has
 * stored the bytes — one leaked request per client abort, and a shutdown that always waits out
 * its whole grace period for them. The callback also runs on 'close' (nothing left to send).
 */
function endCallbackOnClose(outgoing: ServerResponse): void {
  const end = outgoing.end;
  outgoing.end = function (this: ServerResponse, ...args: unknown[]) {
    const callback = args.at(-1);
    if (typeof callback !== 'function') return end.apply(this, args as Parameters<typeof end>);
    let called = false;
    const once = () => {
      if (called) return;
      called = true;
      (callback as () => void)();
    };
    if (this.destroyed) process.nextTick(once);
    else this.once('close', once);
    return end.apply(this, [...args.slice(0, -1), once] as unknown as Parameters<typeof end>);
  } as typeof outgoing.end;
}

/**
 * Everything under /files. Haul decides who may do what before a byte reaches @tus/server:
 * authentication, ownership (another user's upload is indistinguishable from a missing one),
 * metadata validation and the per-user cap. tus then handles the request on Node's own
 * request/response, which also wires client disconnects to its abort handling.
 */
export function createTusRoute(deps: TusRouteDeps) {
  const { config, tus, verifier, repository, lifecycle, offsets, inflight, finalUploads, authorizeCreation } = deps;
  const route = new Hono<AppEnv>();

  const recent = createRecentUploads();
  const findOwnUpload = async (id: string, userId: string, method: string): Promise<UploadRecord> => {
    const cached = method === 'PATCH' ? recent.get(id) : undefined;
    if (cached?.ownerId === userId) return cached;
    const upload = isUploadId(id) ? await repository.find(id) : undefined;
    if (upload) recent.remember(upload);
    if (!upload || upload.ownerId !== userId) throw new HaulError('UPLOAD_NOT_FOUND');
    // tus 1.0: the Server SHOULD answer 404 Not Found or 410 Gone for expired/removed uploads.
    if (upload.status === 'expired' || upload.status === 'terminated' || upload.deletedAt) throw new HaulError('UPLOAD_GONE');
    // A partial consumed by a final upload is gone too: its storage is removed right after
    // assembly (or by the purge retry), so tus would answer 404 — or, while a failed removal
    // awaits its retry, still serve bytes that now belong to the final upload.
    if (upload.status === 'concatenated') {
      throw new HaulError('UPLOAD_GONE', 'This partial upload was concatenated into a final upload and removed');
    }
    return upload;
  };

  route.all(`${TUS_PATH}/*`, async (c) => {
    const { incoming, outgoing } = c.env;
    const target = parseTusPath(c.req.path);
    if (!target) throw new HaulError('NOT_FOUND');
    applyMethodOverride(incoming);
    const method = incoming.method ?? 'GET';

    let upload: UploadRecord | undefined;
    let context: TusRequestContext | undefined;
    // OPTIONS is capability discovery and CORS preflight: no auth, tus answers.
    if (method !== 'OPTIONS') {
      // GET is not part of tus, so it carries no Tus-Resumable; it is answered below.
      if (method !== 'GET') checkTusResumable(c.req.header('tus-resumable'));
      const user = await authenticate(c, verifier);
      checkTusHeaders(method, (name) => c.req.header(name));
      const logger = c.get('logger').child({ userId: user.id });
      if (target.id === null) {
        if (method !== 'POST') throw new HaulError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${TUS_PATH}`, { headers: { Allow: 'POST, OPTIONS' } });
        const metadataHeader = c.req.header('upload-metadata');
        const raw = parseUploadMetadata(metadataHeader);
        const metadata = { fields: validateUploadMetadata(raw), raw };
        const concat = parseUploadConcat(c.req.header('upload-concat'), { maxPartials: config.uploads.maxConcatPartials });
        if (concat?.kind === 'final') {
          // tus 1.0: "The Client MUST NOT include the Upload-Length header in the final upload creation."
          if (c.req.header('upload-length') !== undefined || c.req.header('upload-defer-length') !== undefined) {
            throw new HaulError('INVALID_CONCAT', 'A final upload takes no Upload-Length: it is the sum of its partials');
          }
          // [access] The creation-time decision (scope membership, pre-create hook): one call, before anything is stored.
          await authorizeCreation({ user, metadata, uploadLength: null, concat: { kind: 'final', partialIds: concat.partialIds } });
          const final = await finalUploads.create({ user, partialIds: concat.partialIds, metadataHeader, metadata });
          return c.body(null, 201, {
            Location: new URL(`${TUS_PATH}/${final.id}`, publicOrigin(c.req.raw, config.trustProxy)).toString(),
            'Tus-Resumable': '1.0.0',
            // A final upload is finished on creation: this is the only response that could say where it went.
            ...haulUploadHeaders(final.id),
          });
        }
        if ((await repository.countUnfinished(user.id)) >= config.uploads.maxConcurrentPerUser) {
          throw new HaulError('TOO_MANY_UPLOADS', undefined, { headers: { 'Retry-After': '30' } });
        }
        // [access] The creation-time decision (scope membership, pre-create hook): one call, before a byte is stored.
        const declaredLength = c.req.header('upload-length');
        await authorizeCreation({ user, metadata, uploadLength: declaredLength === undefined ? null : Number(declaredLength), concat: concat?.kind === 'partial' ? { kind: 'partial' } : undefined });
        if (concat?.kind === 'partial') removeUploadConcatHeader(incoming);
        context = { user, logger, metadata, concatRole: concat?.kind };
      } else {
        if (method === 'POST') throw new HaulError('METHOD_NOT_ALLOWED', 'POST creates uploads on the collection URL', { headers: { Allow: 'HEAD, PATCH, DELETE, OPTIONS' } });
        upload = await findOwnUpload(target.id, user.id, method);
        if (method === 'DELETE') recent.forget(upload.id);
        if (method === 'GET') {
          throw new HaulError('METHOD_NOT_ALLOWED', 'Upload URLs do not serve content; download finished files through the files API', {
            headers: { Allow: 'HEAD, PATCH, DELETE, OPTIONS' },
          });
        }
        // tus 1.0: "The Server MUST respond with the 403 Forbidden status to PATCH requests against a final upload URL"
        if (upload.concatRole === 'final' && method === 'PATCH') throw new HaulError('FINAL_UPLOAD_READ_ONLY');
        // A final upload is in storage only once assembled; until then it cannot be seen.
        if (upload.status === 'assembling') throw new HaulError('UPLOAD_LOCKED', 'This final upload is still being assembled');
        // tus 1.0: "The response to a HEAD request for a final upload SHOULD NOT contain the
        // Upload-Offset header unless the concatenation has been successfully finished." It has;
        // the Upload-Concat header says what the upload is, for partials and finals alike.
        if (upload.concatRole === 'partial') outgoing.setHeader('Upload-Concat', 'partial');
        if (upload.concatRole === 'final') outgoing.setHeader('Upload-Concat', finalConcatHeader(upload.partialIds ?? []));
        context = { user, logger, upload };
      }
    }

    if (method === 'HEAD') {
      // Hono answers HEAD by re-wrapping the GET route's response, which breaks a response
      // already written to Node (RESPONSE_ALREADY_SENT). HEAD has no body and nothing to abort,
      // so tus answers it as a web Response instead.
      const request = new Request(c.req.url, { method: 'HEAD', headers: c.req.raw.headers });
      if (context) bindTusContext(request, context);
      const response = await tus.handleWeb(request);
      if (upload?.status === 'uploading') await afterTus(method, upload.id, response.status, (name) => response.headers.get(name) ?? undefined);
      return response;
    }

    if (context) bindTusContext(incoming, context);
    endCallbackOnClose(outgoing);
    await inflight.track(incoming, outgoing, tus.handle(incoming, outgoing));

    // onUploadFinish marks the response of the PATCH that completed the upload.
    if (outgoing.hasHeader('haul-upload') && upload) recent.forget(upload.id);
    if (upload?.status === 'uploading') {
      await afterTus(method, upload.id, outgoing.statusCode, (name) => header(outgoing.getHeader(name)));
    }
    return RESPONSE_ALREADY_SENT;
  });

  /** Keeps the database in step with what tus just did. */
  async function afterTus(method: string, id: string, status: number, get: (name: string) => string | undefined) {
    const offset = Number(get('upload-offset'));
    const length = get('upload-length');
    if (method === 'PATCH' && status === 204 && Number.isSafeInteger(offset)) offsets.note(id, offset);
    // A client whose final PATCH response was lost learns completion from HEAD; if finishing
    // failed then (database blip), this is where the upload is recorded as received after all.
    if (method === 'HEAD' && status === 200 && length !== undefined && Number(length) === offset) {
      await lifecycle.finished(id, offset);
    }
  }

  return route;
}
