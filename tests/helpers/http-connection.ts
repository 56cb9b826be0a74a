import { once } from 'node:events';
import net from 'node:net';

/**
 * One TCP connection speaking HTTP/1.1, one request at a time, never reopened or retried: how a
 * keep-alive client (or a proxy reusing an idle connection) uses it, so a test sees exactly when
 * the server closes it.
 */
export interface HttpConnection {
  /** GET `path` on this connection: the status and headers once the whole response has arrived; rejects if the connection closes first. */
  get(path: string): Promise<{ status: number; headers: Record<string, string> }>;
  /** Settles with `performance.now()` when the connection has closed (the server ended it, or `destroy()`). */
  closed: Promise<number>;
  destroy(): void;
}

export async function openHttpConnection(url: string): Promise<HttpConnection> {
  const { hostname, port, host } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  socket.on('error', () => {}); // a reset shows as 'close'
  await once(socket, 'connect');
  let received = Buffer.alloc(0);
  let isClosed = false;
  let wake: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    wake?.();
  });
  const closed = new Promise<number>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      wake?.();
      resolve(performance.now());
    }),
  );

  async function get(path: string) {
    if (isClosed) throw new Error(`GET ${path}: the connection is closed`);
    received = Buffer.alloc(0);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    for (;;) {
      const end = received.indexOf('\r\n\r\n');
      if (end >= 0) {
        const [statusLine, ...lines] = received.subarray(0, end).toString('latin1').split('\r\n');
        const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).trim().toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
        if (received.length >= end + 4 + Number(headers['content-length'] ?? 0)) return { status: Number(statusLine!.split(' ')[1]), headers };
      }
      if (isClosed) throw new Error(`GET ${path}: the connection closed before a whole response (${received.length} bytes)`);
      await new Promise<void>((resolve) => (wake = resolve));
    }
  }

  return { get, closed, destroy: () => socket.destroy() };
}
