import { Transform, type TransformCallback } from 'node:stream';
import type { BodyStage } from './upload-body.js';

/**
 * Stalled bodies are ended (issue 13, item 5): a PATCH (or a POST with a body) that sends nothing
 * for `idleMs` (BODY_IDLE_TIMEOUT_SECONDS) is stopped where it is. As for any body ended early
 * (upload-body.ts), the bytes that arrived are stored, the answer carries the new Upload-Offset
 * and `Connection: close`, and the upload's lock is released with the request — so the client's
 * next HEAD sees the bytes and it can resume at once. Without this, a body trickling at 1 byte/s
 * holds a lock and a socket for ever (Node's requestTimeout is off for uploads: haul-server.ts).
 *
 * Idle means the client's silence, not ours: while bytes wait here for a slow store (this stage's
 * output is not drained), the timer starts over instead of ending the body.
 */
export function createBodyIdleTimeout(idleMs: number): BodyStage {
  return ({ stop }) => new BodyIdleTimeout(idleMs, () => stop('idle-timeout'));
}

class BodyIdleTimeout extends Transform {
  #timer: NodeJS.Timeout | undefined;
  /** When the last chunk came: chunks only note the time; the one timer looks at it when it fires. */
  #lastChunkAt = performance.now();

  constructor(
    private readonly idleMs: number,
    private readonly onIdle: () => void,
  ) {
    super();
    this.#arm(idleMs);
  }

  #arm(ms: number): void {
    this.#timer = setTimeout(() => {
      const quietFor = performance.now() - this.#lastChunkAt;
      if (quietFor < this.idleMs) this.#arm(this.idleMs - quietFor);
      else if (this.readableLength > 0 || this.writableLength > 0) {
        // Waiting on the store, not the client: the client's idle time starts when we can take bytes again.
        this.#lastChunkAt = performance.now();
        this.#arm(this.idleMs);
      }
      else this.onIdle();
    }, Math.max(1, Math.ceil(ms)));
    this.#timer.unref();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#lastChunkAt = performance.now();
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    clearTimeout(this.#timer);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#timer);
    callback(error);
  }
}
