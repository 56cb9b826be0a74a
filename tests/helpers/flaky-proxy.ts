import net from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 that makes a network bad on purpose, for the SDK tests: it drops a
 * share of connections in the middle of a request body, stalls others (stops forwarding either
 * way without closing, as a dead NAT mapping or a hung middlebox does), throttles, and can answer
 * a connection's first request itself (a 429 from a gateway, a rewritten OPTIONS). Fates are
 * drawn from a seeded PRNG, so a failing run can be repeated.
 */

export interface RequestHead {
  method: string;
  path: string;
  /** Lower-case header names. */
  headers: Record<string, string>;
  raw: string;
}

export interface FlakyProxyOptions {
  /** Upstream base URL, e.g. http://127.0.0.1:41234 */
  target: string;
  /** Chance, at each fate draw, that the connection is cut (both sides destroyed). */
  dropRate?: number;
  /** Chance, at each fate draw, that the connection stalls until the client gives up. */
  stallRate?: number;
  /** Client→server bytes between fate draws: [min, max]. Default 256 KiB – 4 MiB. */
  budgetBytes?: [number, number];
  /** Throttle client→server to this many bytes per second (null: unthrottled). */
  bytesPerSecond?: number | null;
  /** Connections whose first request this returns a raw HTTP response for are answered by the proxy. */
  inject?: (head: RequestHead) => string | undefined;
  seed?: number;
}

export interface FlakyProxyStats {
  connections: number;
  dropped: number;
  stalled: number;
  injected: number;
  /** Client→server bytes forwarded. */
  bytesUp: number;
}

export interface FlakyProxy {
  /** e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  stats: FlakyProxyStats;
  /** Change the behaviour for new draws (and the throttle at once). */
  set(options: Partial<Omit<FlakyProxyOptions, 'target'>>): void;
  /** Destroys every open connection (as a network outage would). */
  cutAll(): void;
  close(): Promise<void>;
}

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function parseHead(raw: string): RequestHead {
  const [requestLine = '', ...lines] = raw.split('\r\n');
  const [method = '', path = ''] = requestLine.split(' ');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { method, path, headers, raw };
}

/** A raw HTTP/1.1 response with a JSON body, closing the connection. */
export function rawResponse(status: number, reason: string, headers: Record<string, string>, body = ''): string {
  const lines = [`HTTP/1.1 ${status} ${reason}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close'];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

export async function startFlakyProxy(initial: FlakyProxyOptions): Promise<FlakyProxy> {
  const target = new URL(initial.target);
  const options: FlakyProxyOptions = { ...initial };
  const random = prng(initial.seed ?? 1);
  const stats: FlakyProxyStats = { connections: 0, dropped: 0, stalled: 0, injected: 0, bytesUp: 0 };
  const sockets = new Set<net.Socket>();
  const budget = () => {
    const [min, max] = options.budgetBytes ?? [256 * 1024, 4 * 2 ** 20];
    return Math.floor(min + random() * (max - min));
  };

  const server = net.createServer((client) => {
    stats.connections++;
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const destroy = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', destroy);
    upstream.on('error', destroy);
    client.on('close', destroy);
    upstream.on('close', destroy);
    client.setNoDelay(true);
    upstream.setNoDelay(true);

    let stalled = false;
    let nextDraw = budget();
    let forwarded = 0;
    let head: Buffer | null = options.inject ? Buffer.alloc(0) : null;
    // Token bucket for the throttle.
    let allowance = 0;
    let refilledAt = Date.now();

    upstream.on('data', (data: Buffer) => {
      if (!stalled && !client.destroyed) client.write(data);
    });

    const forward = (data: Buffer) => {
      let chunk = data;
      while (chunk.length > 0 && !stalled && !client.destroyed) {
        const untilDraw = nextDraw - forwarded;
        const piece = chunk.subarray(0, Math.max(1, untilDraw));
        upstream.write(piece);
        forwarded += piece.length;
        stats.bytesUp += piece.length;
        chunk = chunk.subarray(piece.length);
        if (forwarded >= nextDraw) {
          const roll = random();
          const drop = options.dropRate ?? 0;
          const stall = options.stallRate ?? 0;
          if (roll < drop) {
            stats.dropped++;
            // Let the bytes written so far reach the server first: a cut mid-body, not before it.
            setTimeout(destroy, 20);
            stalled = true;
            client.pause();
            return;
          }
          if (roll < drop + stall) {
            stats.stalled++;
            stalled = true;
            client.pause();
            upstream.pause();
            return;
          }
          nextDraw = forwarded + budget();
        }
      }
    };

    const throttle = (length: number) => {
      const rate = options.bytesPerSecond;
      if (!rate) return;
      const now = Date.now();
      allowance = Math.min(rate, allowance + ((now - refilledAt) / 1000) * rate);
      refilledAt = now;
      allowance -= length;
      if (allowance < 0) {
        client.pause();
        setTimeout(() => {
          if (!stalled && !client.destroyed) client.resume();
        }, Math.ceil((-allowance / rate) * 1000));
      }
    };

    client.on('data', (data: Buffer) => {
      if (head !== null) {
        head = Buffer.concat([head, data]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1 && head.length < 64 * 1024) return;
        const buffered = head;
        head = null;
        const response = end === -1 ? undefined : options.inject?.(parseHead(buffered.subarray(0, end).toString('latin1')));
        if (response !== undefined) {
          stats.injected++;
          upstream.destroy();
          client.end(response);
          return;
        }
        data = buffered;
      }
      throttle(data.length);
      forward(data);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats,
    set(changes) {
      Object.assign(options, changes);
    },
    cutAll() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    close() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
