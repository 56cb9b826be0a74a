import { isHaulError, type UploadJson } from '@haul/client';

export interface WatchPoolOptions {
  /** Follows one upload until a terminal status (the SDK's `client.watch`). */
  watch: (id: string, options: { onStatus: (upload: UploadJson) => void; signal: AbortSignal }) => Promise<UploadJson>;
  onStatus: (upload: UploadJson) => void;
  /** The upload is gone on the server (deleted, 404). */
  onGone: (id: string) => void;
  /** Streams open at once. Default 2. */
  concurrency?: number;
  /** A stream is given up after this long and the upload goes to the back of the queue. Default 30 s. */
  sliceMs?: number;
  /** Wait before following an upload again after an error. Default 5 s. */
  retryMs?: number;
}

export interface WatchPool {
  add(id: string): void;
  delete(id: string): void;
  close(): void;
}

const SLICE_ENDED = Symbol('slice ended');

/**
 * Follows uploads being processed, a few at a time. Each follow is an open event stream, and a
 * browser has only six connections per origin over HTTP/1.1 — shared with the uploads
 * themselves. Taking turns in slices keeps one upload stuck in processing (say, the virus
 * scanner is down) from starving the others.
 */
export function createWatchPool(options: WatchPoolOptions): WatchPool {
  const { concurrency = 2, sliceMs = 30_000, retryMs = 5_000 } = options;
  /** Uploads still to be followed to a terminal status (queued, running or waiting to retry). */
  const wanted = new Set<string>();
  const queue = new Set<string>();
  const running = new Map<string, AbortController>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let closed = false;

  const later = (fn: () => void, ms: number) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const pump = () => {
    while (!closed && running.size < concurrency && queue.size > 0) {
      const id = queue.values().next().value as string;
      queue.delete(id);
      start(id);
    }
  };

  const start = (id: string) => {
    const controller = new AbortController();
    running.set(id, controller);
    const slice = setTimeout(() => controller.abort(SLICE_ENDED), sliceMs);
    options
      .watch(id, { onStatus: options.onStatus, signal: controller.signal })
      .then((final) => {
        // Deleted, closed or restarted meanwhile: this follow no longer speaks for the upload.
        if (running.get(id) !== controller || !wanted.delete(id)) return;
        options.onStatus(final);
      })
      .catch((error: unknown) => {
        if (running.get(id) !== controller || !wanted.has(id)) return;
        if (controller.signal.reason === SLICE_ENDED) {
          queue.add(id);
        } else if (isHaulError(error) && (error.status === 404 || error.code === 'UPLOAD_NOT_FOUND')) {
          wanted.delete(id);
          options.onGone(id);
        } else {
          later(() => {
            if (wanted.has(id) && !running.has(id)) queue.add(id);
            pump();
          }, retryMs);
        }
      })
      .finally(() => {
        clearTimeout(slice);
        if (running.get(id) === controller) running.delete(id);
        pump();
      });
  };

  const pool: WatchPool = {
    add(id) {
      if (closed || wanted.has(id)) return;
      wanted.add(id);
      queue.add(id);
      pump();
    },
    delete(id) {
      wanted.delete(id);
      queue.delete(id);
      running.get(id)?.abort();
      running.delete(id);
      pump();
    },
    close() {
      closed = true;
      wanted.clear();
      queue.clear();
      for (const controller of running.values()) controller.abort();
      running.clear();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
  return pool;
}
