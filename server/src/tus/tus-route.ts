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
import { applyMethodOverride, checkTusResumable } from './protocol-guards.js';
import { bindTusContext } from './request-context.js';
import { TUS_PATH } from './tus-server.js';

export interface TusRouteDeps {
  config: Config;
  tus: Server;
  verifier: TokenVerifier;
  repository: UploadRepository;
  lifecycle: UploadLifecycle;
  offsets: OffsetTracker;
  inflight: InflightRequests;
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
 * Everything under /files. Haul decides who may do what before a byte reaches @tus/server:
 * authentication, ownership (another user's upload is indistinguishable from a missing one),
 * metadata validation and the per-user cap. tus then handles the request on Node's own
 * request/response, which also wires client disconnects to its abort handling.
 */
export function createTusRoute(deps: TusRouteDeps) {
  const { config, tus, verifier, repository, lifecycle, offsets, inflight } = deps;
  const route = new Hono<AppEnv>();

  const findOwnUpload = async (id: string, userId: string): Promise<UploadRecord> => {
    const upload = isUploadId(id) ? await repository.find(id) : undefined;
    if (!upload || upload.ownerId !== userId) throw new HaulError('UPLOAD_NOT_FOUND');
    // tus 1.0: the Server SHOULD answer 404 Not Found or 410 Gone for expired/removed uploads.
    if (upload.status === 'expired' || upload.status === 'terminated') throw new HaulError('UPLOAD_GONE');
    return upload;
  };

  route.all(`${TUS_PATH}/*`, async (c) => {
    const { incoming, outgoing } = c.env;
    const target = parseTusPath(c.req.path);
    if (!target) throw new HaulError('NOT_FOUND');
    applyMethodOverride(incoming);
    const method = incoming.method ?? 'GET';

    let upload: UploadRecord | undefined;
    // OPTIONS is capability discovery and CORS preflight: no auth, tus answers.
    if (method !== 'OPTIONS') {
      // GET is not part of tus, so it carries no Tus-Resumable; it is answered below.
      if (method !== 'GET') checkTusResumable(c.req.header('tus-resumable'));
      const user = await authenticate(c, verifier);
      const logger = c.get('logger').child({ userId: user.id });
      if (target.id === null) {
        if (method !== 'POST') throw new HaulError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${TUS_PATH}`, { headers: { Allow: 'POST, OPTIONS' } });
        const raw = parseUploadMetadata(c.req.header('upload-metadata'));
        const fields = validateUploadMetadata(raw);
        if ((await repository.countUnfinished(user.id)) >= config.uploads.maxConcurrentPerUser) {
          throw new HaulError('TOO_MANY_UPLOADS', undefined, { headers: { 'Retry-After': '30' } });
        }
        bindTusContext(incoming, { user, logger, metadata: { fields, raw } });
      } else {
        if (method === 'POST') throw new HaulError('METHOD_NOT_ALLOWED', 'POST creates uploads on the collection URL', { headers: { Allow: 'HEAD, PATCH, DELETE, OPTIONS' } });
        upload = await findOwnUpload(target.id, user.id);
        if (method === 'GET') {
          throw new HaulError('METHOD_NOT_ALLOWED', 'Upload URLs do not serve content; download finished files through the files API', {
            headers: { Allow: 'HEAD, PATCH, DELETE, OPTIONS' },
          });
        }
        bindTusContext(incoming, { user, logger, upload });
      }
    }

    await inflight.track(incoming, outgoing, tus.handle(incoming, outgoing));

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
