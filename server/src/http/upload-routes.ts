import { storedBody } from './serve-file.js';
import { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { toUploadJson } from './upload-json.js';
import { isTerminalStatus } from '@haul/api';
import type { TokenVerifier } from '../auth/tokens.js';
import { HaulError } from '../errors.js';
import type { ProcessingRepository } from '../processing/processing-repository.js';
import type { StatusEvents } from '../processing/status-events.js';
import type { Storage } from '../storage/storage.js';
import type { UploadRecord } from '../uploads/upload-repository.js';
import type { Access } from './access.js';
import type { AppEnv } from './app-env.js';
import { authenticate } from './authenticate.js';

const HEARTBEAT_MS = 15_000;
/** SSE listeners also re-read on this timer, so a lost notification only delays them. */
const RECHECK_MS = 5_000;


export function createUploadRoutes({ verifier, access, processing, events, storage }: {
  verifier: TokenVerifier;
  access: Access;
  processing: Pick<ProcessingRepository, 'thumbnailsOf'>;
  events: StatusEvents;
  storage: Pick<Storage, 'read'>;
}) {
  const toJson = async (upload: UploadRecord) => toUploadJson(upload, await processing.thumbnailsOf(upload.id));

  return new Hono<AppEnv>()
    .get('/api/uploads/:id', async (c) => {
      const user = await authenticate(c, verifier);
      return c.json(await toJson(await access.upload(c.req.param('id'), user, 'read')));
    })
    /** A WebP preview: content never changes for a given URL, so it may be cached for good. */
    .get('/api/uploads/:id/thumbnails/:size', async (c) => {
      const user = await authenticate(c, verifier);
      const upload = await access.upload(c.req.param('id'), user, 'read');
      if (upload.status !== 'ready') throw new HaulError('NOT_FOUND', 'No thumbnails: the upload is not ready');
      const thumbnail = (await processing.thumbnailsOf(upload.id)).find((t) => String(t.size) === c.req.param('size'));
      if (!thumbnail) throw new HaulError('NOT_FOUND', 'No thumbnail of that size');
      const body = await storedBody(storage, thumbnail.storageKey, thumbnail.bytes);
      return c.body(body, 200, {
        'Content-Type': 'image/webp',
        'Content-Length': String(thumbnail.bytes),
        'Cache-Control': 'private, max-age=31536000, immutable',
        'X-Content-Type-Options': 'nosniff',
        'Content-Security-Policy': "default-src 'none'; sandbox",
      });
    })
    /**
     * Server-Sent Events: `status` events carrying the upload record, first the current one,
     * then on every change, ending after a terminal status. EventSource cannot send headers,
     * so the token may also come as `?access_token=`.
     */
    .get('/api/uploads/:id/events', async (c) => {
      const user = await authenticate(c, verifier, { allowQueryToken: true });
      const first = await access.upload(c.req.param('id'), user, 'read');
      return streamSSE(c, async (stream) => {
        let changed: () => void = () => {};
        const unsubscribe = events.subscribe(first.id, () => changed());
        stream.onAbort(unsubscribe);
        stream.onAbort(() => changed());
        // One keep-alive timer for the whole stream, cleared when it ends. (It used to be created
        // per wait and cleared only on a change: every quiet 5 s re-check leaked an interval that
        // kept writing to the stream, and holding it, for as long as the process ran.)
        const heartbeat = setInterval(() => void stream.write(': keep-alive\n\n'), HEARTBEAT_MS);
        try {
          let last = '';
          for (let upload: UploadRecord | undefined = first; upload && !stream.aborted; ) {
            const json = await toJson(upload);
            const data = JSON.stringify(json);
            if (data !== last) await stream.writeSSE({ event: 'status', data, id: String(Date.now()) });
            last = data;
            if (isTerminalStatus(json.status)) break;
            await new Promise<void>((resolve) => {
              const recheck = setTimeout(resolve, RECHECK_MS);
              changed = () => {
                clearTimeout(recheck);
                resolve();
              };
            });
            // Access is decided again on every change: a member who left the conversation (or an
            // upload moved out of it, or deleted) ends the stream.
            upload = await access.upload(first.id, user, 'read').catch(() => undefined);
          }
        } finally {
          clearInterval(heartbeat);
          unsubscribe();
        }
      });
    });
}
