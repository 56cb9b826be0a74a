import type { IncomingMessage } from 'node:http';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { HaulError } from '../errors.js';

/**
 * The body of a PATCH (or a POST with creation-with-upload) on its way to storage, on Node
 * streams only:
 *
 *   IncomingMessage ─pipe─► limiter ─► stage … stage ─► store.write(stream, key, offset)
 *
 * The request is piped, not handed to a pipeline, so nothing downstream can destroy the socket
 * under a response still to be written. The limiter counts bytes (the one place offsets are
 * reported while bytes arrive) and fails the body past its limit. Stages are per-request
 * transforms added by features that must see the bytes as they arrive — a body idle timeout, a
 * digest of the chunk, sniffing the first bytes — created by `BodyStage` factories.
 *
 * tus 1.0: "The Server SHOULD always attempt to store as much of the received data as
 * possible." A body that stops early — the client went away, another request asked for the
 * lock, a stage called `stop()` — is *ended*, not failed: the store keeps every byte that
 * arrived and returns the offset after them. A checksummed body is the exception: it can only be
 * verified whole, so one that ends early fails its checksum and is discarded (checksum.ts).
 */

export type BodyStopReason = 'client-gone' | 'lock-released' | 'idle-timeout';

/** What a stage knows about the body it sees. */
export interface BodyStageContext {
  /** Public upload id. */
  readonly uploadId: string;
  /** Upload offset of the body's first byte. */
  readonly offset: number;
  /** The upload's length, if declared. */
  readonly size: number | undefined;
  /** What the upload says it is (its metadata), and whether it is a part of a parallel upload. */
  readonly upload?: { readonly filename: string | null; readonly filetype: string | null; readonly partial: boolean; readonly encrypted: boolean };
  /** A request header (lower-case name), e.g. a digest header. */
  header(name: string): string | undefined;
  /** A trailer of the request (lower-case name); known once the body has ended (e.g. in a stage's flush). */
  trailer(name: string): string | undefined;
  /** Ends the body here, keeping every byte that already passed (e.g. a stalled body). */
  stop(reason: BodyStopReason): void;
  /** Why the body was ended early, if it was. */
  stopReason(): BodyStopReason | undefined;
}

/**
 * A per-request stage of the body: a Transform the bytes pass through in order, or undefined if
 * it has nothing to do for this request. To refuse the body, fail the stream with a HaulError:
 * the request is answered with that error. Bytes already handed on stay stored unless the body
 * is written all-or-nothing (`Storage.writeVerified`, chosen by body-writer.ts for checksummed
 * bodies), which discards the whole body when it fails.
 */
export type BodyStage = (context: BodyStageContext) => Transform | undefined;

/**
 * How a body is ended early. Created before the upload's lock is requested, because a release
 * request can arrive before the body starts (then it ends as soon as it starts).
 */
export class BodyStop {
  #reason: BodyStopReason | undefined;
  #end: (() => void) | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();

  get reason(): BodyStopReason | undefined {
    return this.#reason;
  }

  request(reason: BodyStopReason): void {
    if (this.#reason) return;
    this.#reason = reason;
    this.#end?.();
  }

  /** `request(reason)` in `ms` (a lock holder's grace to finish what it is writing). */
  after(ms: number, reason: BodyStopReason): void {
    const timer = setTimeout(() => this.request(reason), ms);
    timer.unref();
    this.#timers.add(timer);
  }

  /** @internal The running body's way to end itself; undefined once it is over. */
  bind(end: (() => void) | undefined): void {
    this.#end = end;
    if (end && this.#reason) end();
  }

  dispose(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#end = undefined;
  }
}

/** Counts the body's bytes, reports the offset after each chunk, and fails past `limit`. */
class BodyLimiter extends Transform {
  received = 0;

  constructor(
    private readonly limit: number,
    private readonly start: number,
    private readonly onProgress: (offset: number) => void,
    private readonly overLimit: () => HaulError,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.received + chunk.length > this.limit) {
      callback(this.overLimit());
      return;
    }
    this.received += chunk.length;
    this.onProgress(this.start + this.received);
    callback(null, chunk);
  }
}

/** Where the body goes: a store's write (or the all-or-nothing one); resolves to the new offset. */
export type WriteBody = (body: Readable, key: string, offset: number) => Promise<number>;

export interface ReceiveBodyOptions {
  source: IncomingMessage;
  write: WriteBody;
  /** Storage key of the upload. */
  key: string;
  /** The upload's current offset: where the body's first byte goes. */
  offset: number;
  /** At most this many bytes may arrive (else `overLimit()`, by default a 413 UPLOAD_TOO_LARGE). */
  limit: number;
  overLimit?: () => HaulError;
  stop: BodyStop;
  stages: readonly BodyStage[];
  context: Omit<BodyStageContext, 'stop' | 'stopReason' | 'trailer'>;
  onProgress(offset: number): void;
}

/** Streams the body into the store; returns the upload's new offset. */
export async function receiveBody(options: ReceiveBodyOptions): Promise<number> {
  const { source, write, key, offset, limit, stop, stages, context, onProgress } = options;
  const overLimit = options.overLimit ?? (() => new HaulError('UPLOAD_TOO_LARGE', `The body exceeds the ${limit} bytes this request may still add`));
  const limiter = new BodyLimiter(limit, offset, onProgress, overLimit);
  const stageContext: BodyStageContext = {
    ...context,
    // Node fills `trailers` when the request's 'end' is emitted, before the body's last stage flushes.
    trailer: (name) => source.trailers[name],
    stop: (reason) => stop.request(reason),
    stopReason: () => stop.reason,
  };
  const chain: Transform[] = [limiter, ...stages.flatMap((stage) => stage(stageContext) ?? [])];

  // A refusal by the limiter or a stage (a HaulError) is the answer; the store would report it
  // as a write error of its own.
  let refusal: HaulError | undefined;
  chain.forEach((stream, index) => {
    const next = chain[index + 1];
    stream.on('error', (error) => {
      if (error instanceof HaulError) refusal ??= error;
      next?.destroy(error);
    });
    if (next) stream.pipe(next);
  });
  const body: Readable = chain.at(-1)!;

  const end = () => {
    source.unpipe(limiter);
    if (limiter.writableEnded || limiter.destroyed) return;
    // Bytes that arrived but were not read yet (the store was busy) are received data too; a
    // request that is gone still hands them out.
    for (let chunk: Buffer | null; (chunk = source.read() as Buffer | null) !== null; ) limiter.write(chunk);
    limiter.end();
  };
  const onSourceGone = () => {
    if (!source.complete) stop.request('client-gone');
  };
  source.on('error', onSourceGone);
  source.on('close', onSourceGone);
  stop.bind(end);
  if (source.destroyed) {
    // Gone while the request waited for the lock: nothing more can be read from it.
    onSourceGone();
    end();
  } else source.pipe(limiter);

  try {
    return await write(body, key, offset);
  } catch (error) {
    throw refusal ?? error;
  } finally {
    stop.bind(undefined);
    source.unpipe(limiter);
    source.off('error', onSourceGone);
    source.off('close', onSourceGone);
    for (const stream of chain) if (!stream.destroyed) stream.destroy();
  }
}
