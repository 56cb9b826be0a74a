import { Hono } from 'hono';
import type { Locker } from '@tus/utils';
import { toUploadJson } from './upload-json.js';
import { createLinkRequestSchema, type LinkJson, updateUploadRequestSchema, type UploadJson, type UploadList, uploadListQuerySchema } from '@haul/api';
import type { LinkSigner } from '../auth/link-signer.js';
import type { TokenVerifier } from '../auth/tokens.js';
import type { Config } from '../config.js';
import { HaulError } from '../errors.js';
import type { ProcessingRepository } from '../processing/processing-repository.js';
import type { Storage } from '../storage/storage.js';
import type { StoredContents } from '../uploads/stored-contents.js';
import type { UploadLifecycle } from '../uploads/upload-lifecycle.js';
import type { UploadRecord, UploadRepository } from '../uploads/upload-repository.js';
import type { User } from '../auth/user.js';
import type { Access } from './access.js';
import type { AppEnv } from './app-env.js';
import type { Audit, AuditAction } from './audit.js';
import { authenticate } from './authenticate.js';
import { parseJsonBody } from './json-body.js';
import { assertDownloadable, serveFile } from './serve-file.js';
import { publicOrigin } from '../tus/protocol-guards.js';

/** A page's end: the last upload's exact created_at (microseconds, see the repository's list) and id. */
const encodeCursor = (position: string, id: string) => Buffer.from(`${position}|${id}`).toString('base64url');
const POSITION = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
function decodeCursor(cursor: string | undefined) {
  if (!cursor) return undefined;
  const [position, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (!id || !position || !POSITION.test(position) || Number.isNaN(Date.parse(position))) {
    throw new HaulError('INVALID_REQUEST', 'cursor: not a cursor from a previous page');
  }
  return { position, id };
}

/**
 * The files API: list (own uploads, a scope's, an owner's), download, share, move, delete. Every
 * decision about who may do it is access.ts's.
 */
export function createFilesRoutes({ config, verifier, access, audit, uploads, processing, storage, contents, links, locker, lifecycle }: {
  config: Config;
  verifier: TokenVerifier;
  access: Access;
  audit: Audit;
  uploads: UploadRepository;
  processing: Pick<ProcessingRepository, 'thumbnailsOf'>;
  storage: Storage;
  /** Deduplication: the upload lets go of a stored copy it shares; the copy goes only with its last reference. */
  contents: Pick<StoredContents, 'release'>;
  links: LinkSigner;
  locker: Locker;
  lifecycle: Pick<UploadLifecycle, 'terminated'>;
}) {
  const { downloadsPerMinute, linksPerMinute } = config.files;
  const toJson = async (upload: UploadRecord): Promise<UploadJson> => toUploadJson(upload, await processing.thumbnailsOf(upload.id));
  /** Per-user limits; services (the application's own backend) are not limited. */
  const limit = (user: User, action: AuditAction, perMinute: number) => (user.service ? Promise.resolve() : audit.limit(user.id, [action], perMinute));

  return new Hono<AppEnv>()
    .get('/api/uploads', async (c) => {
      const user = await authenticate(c, verifier);
      const parsed = uploadListQuerySchema.safeParse(c.req.query());
      if (!parsed.success) throw new HaulError('INVALID_REQUEST', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      const { status, cursor, limit: pageSize, scope, owner } = parsed.data;
      if (scope !== undefined) await access.scope(scope, user, 'list');
      if (owner !== undefined) await access.ownerUploads(owner, user);
      // Without a scope, the caller's own uploads unless another owner is named.
      const ownerId = owner ?? (scope === undefined ? user.id : undefined);
      const page = await uploads.list({ ownerId, scope, status, after: decodeCursor(cursor), limit: pageSize + 1 });
      const items = await Promise.all(page.slice(0, pageSize).map(toJson));
      const last = page.length > pageSize ? page[pageSize - 1] : undefined;
      return c.json({ items, nextCursor: last ? encodeCursor(last.position, last.id) : null } satisfies UploadList);
    })

    .get('/api/uploads/:id/content', async (c) => {
      const user = await authenticate(c, verifier);
      const upload = await access.upload(c.req.param('id'), user, 'read');
      assertDownloadable(upload);
      await limit(user, 'download', downloadsPerMinute);
      await audit.record(c, 'download', upload.id, { range: c.req.header('range') ?? null });
      return serveFile(c, upload, storage);
    })

    .post('/api/uploads/:id/links', async (c) => {
      const user = await authenticate(c, verifier);
      const upload = await access.upload(c.req.param('id'), user, 'link');
      assertDownloadable(upload);
      const { expiresIn } = await parseJsonBody(c, createLinkRequestSchema, { optional: true });
      await limit(user, 'link_create', linksPerMinute);
      const link = links.create(upload.id, expiresIn);
      await audit.record(c, 'link_create', upload.id, { expiresAt: link.expiresAt.toISOString() });
      const url = new URL(link.path, publicOrigin(c.req.raw, config.trustProxy)).toString();
      return c.json({ url, expiresAt: link.expiresAt.toISOString() } satisfies LinkJson, 201);
    })

    /**
     * Re-scoping (forwarding a file to another conversation): `{ "scope": "conv:2" }`, or null for
     * none. Services; or the owner, into a scope they belong to. The upload's metadata keeps what
     * the client sent; its `scope` (what access is decided by) changes.
     */
    .patch('/api/uploads/:id', async (c) => {
      const user = await authenticate(c, verifier);
      const upload = await access.upload(c.req.param('id'), user, 'rescope');
      const { scope } = await parseJsonBody(c, updateUploadRequestSchema);
      if (scope !== null) await access.scope(scope, user, 'add');
      if (!(await uploads.setScope(upload.id, scope))) throw new HaulError('UPLOAD_NOT_FOUND');
      await audit.record(c, 'rescope', upload.id, { from: upload.scope, to: scope });
      return c.json(await toJson({ ...upload, scope }));
    })

    /**
     * The owner (or a service). The row is soft-deleted (kept for the audit trail) and every stored byte goes:
     * the file, its previews, and an unfinished upload's multipart data — after taking the
     * upload's tus lock, which ends a PATCH still writing to it.
     */
    .delete('/api/uploads/:id', async (c) => {
      const user = await authenticate(c, verifier);
      const upload = await access.upload(c.req.param('id'), user, 'delete');
      const lock = locker.newLock(upload.storageKey);
      await lock.lock(AbortSignal.timeout(30_000), () => {});
      try {
        if (!(await uploads.markDeleted(upload.id))) throw new HaulError('UPLOAD_NOT_FOUND');
        if (upload.status === 'uploading') await lifecycle.terminated(upload.id);
        // Gone for every purpose from here on; a removal that fails is retried by the expiry sweep.
        await contents
          .release(upload.id)
          .then(() => storage.remove(upload.storageKey))
          .then(() => uploads.markPurged(upload.id))
          .catch((err: unknown) => c.get('logger').warn('could not remove a deleted upload; will retry', { err, uploadId: upload.id }));
      } finally {
        await lock.unlock();
      }
      await audit.record(c, 'delete', upload.id);
      return c.body(null, 204);
    })

    /** A shared link: no login, until it expires or the upload is deleted. */
    .get('/api/links/:id/:expires/:signature', async (c) => {
      const { id, expires, signature } = c.req.param();
      const verdict = links.verify(id, expires, signature);
      if (verdict === 'invalid') throw new HaulError('LINK_INVALID');
      if (verdict === 'expired') throw new HaulError('LINK_EXPIRED');
      const upload = await uploads.find(id);
      if (!upload || upload.deletedAt) throw new HaulError('UPLOAD_NOT_FOUND');
      assertDownloadable(upload);
      await audit.record(c, 'link_download', upload.id, { owner: upload.ownerId, range: c.req.header('range') ?? null });
      return serveFile(c, upload, storage);
    });
}
