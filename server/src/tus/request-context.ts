import type { IncomingMessage } from 'node:http';
import type { User } from '../auth/user.js';
import type { Logger } from '../logger.js';
import type { UploadRecord } from '../uploads/upload-repository.js';

/**
 * What the tus route decided about a request before a handler runs — who is calling, from
 * where, and (for `/files/<id>`) which of their uploads — passed to the handler as a value.
 */
export interface TusRequest {
  /** Lower-case header name → value (the first, if repeated). */
  header(name: string): string | undefined;
  /** Node's request: the body is read from it as a Node stream, never converted. */
  readonly incoming: IncomingMessage;
  readonly user: User;
  readonly logger: Logger;
  /** The origin clients reach us at (Location). */
  readonly origin: string;
  /** Aborted when the client goes away: stops waiting for an upload's lock. */
  readonly signal: AbortSignal;
}

/** A request addressed to one upload the caller owns (HEAD, PATCH, DELETE). */
export interface TusUploadRequest extends TusRequest {
  readonly upload: UploadRecord;
}

/** A handler's answer: tus answers carry headers only (errors are thrown as HaulError). */
export interface TusResponse {
  status: 200 | 201 | 204;
  headers: Record<string, string>;
}

/** A body cut short by a release request, shutdown or the client: the connection is not reused. */
export const CLOSE_CONNECTION = { Connection: 'close' } as const;
