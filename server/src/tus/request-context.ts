import type { IncomingMessage } from 'node:http';
import type { ServerOptions } from '@tus/server';
import type { User } from '../auth/user.js';
import { HaulError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { UploadMetadata, RawMetadata } from '../uploads/metadata.js';
import type { UploadRecord } from '../uploads/upload-repository.js';

/** The request object @tus/server hands to its hooks (srvx's Request on Node). */
export type TusRequest = Parameters<NonNullable<ServerOptions['onUploadCreate']>>[0];

/** What Haul decided about a request before tus saw it: who is calling, and about which upload. */
export interface TusRequestContext {
  user: User;
  logger: Logger;
  /** The caller's upload addressed by the URL (HEAD, PATCH, DELETE). */
  upload?: UploadRecord;
  /** Validated Upload-Metadata (POST). */
  metadata?: { fields: UploadMetadata; raw: RawMetadata };
  /** POST with Upload-Concat: partial. */
  concatRole?: 'partial';
}

// Keyed by Node's request (@tus/server.handle wraps it in a Request object of its own), or by
// the web Request given to @tus/server.handleWeb.
const contexts = new WeakMap<object, TusRequestContext>();

export function bindTusContext(request: IncomingMessage | Request, context: TusRequestContext): void {
  contexts.set(request, context);
}

export function tusContextOf(req: TusRequest): TusRequestContext {
  const context = contexts.get((req.runtime?.node?.req as IncomingMessage | undefined) ?? req);
  if (!context) throw new HaulError('INTERNAL', 'tus request reached a hook without Haul context');
  return context;
}
