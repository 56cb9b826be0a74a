import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Upload requests (tus PATCH, POST) that have not finished, so shutdown can let them complete,
 * then cut the stragglers off and wait until what they sent is stored.
 */
export function createInflightRequests() {
  const active = new Map<IncomingMessage, Promise<unknown>>();
  return {
    async track(incoming: IncomingMessage, _outgoing: ServerResponse, work: Promise<unknown>): Promise<void> {
      const settled = work.then(() => undefined, () => undefined);
      active.set(incoming, settled);
      try {
        await work;
      } finally {
        active.delete(incoming);
      }
    },
    get size(): number {
      return active.size;
    },
    /** Waits up to `graceMs` for in-flight requests, then aborts the rest and waits for tus to settle them. */
    async drain(graceMs: number, settleMs = 10_000): Promise<{ aborted: number }> {
      const all = () => Promise.all(active.values());
      const timeout = (ms: number) => new Promise<'timeout'>((resolve) => setTimeout(resolve, ms, 'timeout').unref());
      if ((await Promise.race([all(), timeout(graceMs)])) !== 'timeout') return { aborted: 0 };
      const stragglers = [...active.keys()];
      // Destroying the socket ends the body where it is (tus/upload-body.ts) and the bytes
      // received so far are stored, so the client's next HEAD reports an offset that matches.
      for (const incoming of stragglers) incoming.destroy();
      await Promise.race([all(), timeout(settleMs)]);
      return { aborted: stragglers.length };
    },
  };
}

export type InflightRequests = ReturnType<typeof createInflightRequests>;
