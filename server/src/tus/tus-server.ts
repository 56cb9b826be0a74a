import { HEADERS, haulUploadHeaders, TUS_PATH } from '@haul/api';
import { MemoryLocker, Server, type ServerOptions } from '@tus/server';
import { ERRORS, EVENTS, type Locker, type Upload } from '@tus/utils';
import { userStorageKey } from '../auth/user.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/storage.js';
import { metadataForStorage, uploadMetadataHeader } from '../uploads/metadata.js';
import type { OffsetTracker } from '../uploads/offset-tracker.js';
import type { UploadLifecycle } from '../uploads/upload-lifecycle.js';
import { newUploadId } from '../uploads/upload-id.js';
import { toTusError } from './tus-errors.js';
import { tusContextOf } from './request-context.js';

/** Headers a browser tus client must be able to read, beyond @tus/server's own list. */
export const EXTRA_EXPOSED_HEADERS = [HEADERS.uploadExpires, HEADERS.requestId, HEADERS.retryAfter, HEADERS.haulUpload, HEADERS.haulUploadEvents];

/**
 * @tus/server with Haul's hooks. Authorization already happened in the Hono route (tus-route.ts),
 * which put the caller and the upload it addresses on the request context; the hooks only
 * translate between public upload ids and storage keys and keep the database in step.
 */
export function createTusServer({ config, storage, lifecycle, offsets, logger, locker = new MemoryLocker() }: {
  config: Config;
  storage: Storage;
  lifecycle: UploadLifecycle;
  offsets: OffsetTracker;
  logger: Logger;
  locker?: Locker;
}): Server {
  const { layout } = storage;
  // Termination is recorded before the 204 goes out, not after it from the POST_TERMINATE event:
  // a client that terminates and then creates at once must find its slot free (MAX_CONCURRENT_
  // UPLOADS_PER_USER), whichever connection of the pool runs its next query.
  const datastore = new Proxy(storage.store, {
    get(store, property) {
      if (property === 'remove') {
        return async (key: string) => {
          await store.remove(key);
          await lifecycle.terminated(layout.uploadIdOf(key)).catch((err: unknown) => {
            // The bytes are gone; the row stays `uploading` until the expiry sweep marks it expired.
            logger.error('could not record termination', { err, key });
          });
        };
      }
      const value: unknown = Reflect.get(store, property, store);
      return typeof value === 'function' ? value.bind(store) : value;
    },
  });
  const options: ServerOptions & { datastore: Storage['store'] } = {
    path: TUS_PATH,
    datastore,
    locker,
    maxSize: config.uploads.maxSize,
    respectForwardedHeaders: config.trustProxy,
    allowedOrigins: config.corsOrigins === '*' ? undefined : config.corsOrigins,
    exposedHeaders: EXTRA_EXPOSED_HEADERS,
    allowedHeaders: ['X-Request-Id'],
    // Our offset tracker batches anyway; a shorter interval keeps listings fresher.
    postReceiveInterval: Math.min(1000, config.uploads.offsetFlushIntervalMs),

    namingFunction: (req) => layout.keyFor(userStorageKey(tusContextOf(req).user.id), newUploadId()),
    generateUrl: (_req, { proto, host, path, id }) => `${proto}://${host}${path}/${layout.uploadIdOf(id)}`,
    // The route resolved the URL's upload id to the caller's own upload (or answered 404).
    getFileIdFromRequest: (req) => tusContextOf(req).upload?.storageKey,

    async onUploadCreate(req, upload) {
      const context = tusContextOf(req);
      const raw = context.metadata?.raw ?? new Map();
      await lifecycle.created({
        id: layout.uploadIdOf(upload.id),
        ownerId: context.user.id,
        storageKey: upload.id,
        filename: context.metadata?.fields.filename,
        filetype: context.metadata?.fields.filetype,
        metadata: metadataForStorage(raw),
        size: upload.size,
        expiresAt: new Date(Date.now() + config.uploads.expirySeconds * 1000),
        concatRole: context.concatRole,
      });
      return {};
    },

    async onUploadFinish(_req, upload) {
      const id = layout.uploadIdOf(upload.id);
      await lifecycle.finished(id, upload.size ?? upload.offset);
      return { headers: haulUploadHeaders(id) };
    },

    onResponseError: (_req, error) => toTusError(error, logger),
  };
  const server = new Server(options);

  // HEAD, adjusted in two ways from the database row the route loaded into the request context:
  // - tus keeps metadata values as UTF-8 text, so it would return a binary value mangled (U+FFFD
  //   for each invalid byte). tus 1.0: HEAD MUST return Upload-Metadata "as specified by the
  //   Client during the creation". The row keeps every value losslessly: answer from it.
  // - tus applies the expiry period to finished uploads as well and answers 410 for them; but
  //   only unfinished uploads expire (the row of a received upload has no expires_at, its bytes
  //   stay), and a client resuming a finished upload must learn it is complete, not start over.
  const head = server.handlers.HEAD;
  const sendHead = head.send.bind(head);
  head.send = async (req, context, headers = new Headers()) => {
    const { upload } = tusContextOf(req);
    let res: Response;
    try {
      res = await sendHead(req, context, headers);
    } catch (error) {
      const expired = (error as { body?: unknown }).body === ERRORS.FILE_NO_LONGER_EXISTS.body;
      if (!expired || upload?.status !== 'received' || upload.size === null) throw error;
      res = new Response('', { status: 200, headers });
      res.headers.set('Cache-Control', 'no-store');
      res.headers.set('Upload-Offset', String(upload.size));
      res.headers.set('Upload-Length', String(upload.size));
      const metadata = uploadMetadataHeader(upload.metadata);
      if (metadata) res.headers.set('Upload-Metadata', metadata);
      return res;
    }
    const fromTus = res.headers.get('upload-metadata');
    if (fromTus !== null && upload) {
      const keys = fromTus.split(',').map((pair) => pair.trim().split(' ')[0]!);
      res.headers.set('Upload-Metadata', uploadMetadataHeader(upload.metadata, keys));
    }
    return res;
  };
  server.on(EVENTS.POST_RECEIVE, (_stream: unknown, upload: Upload) => {
    offsets.note(layout.uploadIdOf(upload.id), upload.offset);
  });
  return server;
}
