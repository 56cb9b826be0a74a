import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Requests handed to @tus/server that have not finished, so shutdown can let them complete,
 * then cut the stragglers off and wait until tus has stored what they sent.
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
      // Destroying the socket makes tus stop reading the body and persist the bytes received
      // so far, so the client's next HEAD reports an offset that matches storage.
      for (const incoming of stragglers) incoming.destroy();
      await Promise.race([all(), timeout(settleMs)]);
      return { aborted: stragglers.length };
    },
  };
}

export type InflightRequests = ReturnType<typeof createInflightRequests>;
