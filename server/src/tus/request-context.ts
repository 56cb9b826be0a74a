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
}

// Keyed by Node's request: @tus/server wraps it in a new Request object of its own.
const contexts = new WeakMap<IncomingMessage, TusRequestContext>();

export function bindTusContext(incoming: IncomingMessage, context: TusRequestContext): void {
  contexts.set(incoming, context);
}

export function tusContextOf(req: TusRequest): TusRequestContext {
  const incoming = req.runtime?.node?.req;
  const context = incoming && contexts.get(incoming as IncomingMessage);
  if (!context) throw new HaulError('INTERNAL', 'tus request reached a hook without Haul context');
  return context;
}
