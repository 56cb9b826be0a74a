import net from 'node:net';
import { mulberry32 } from '../../bench/lib/seeded-random.js';

/**
 * A TCP proxy on 127.0.0.1 that makes a network bad on purpose, for the SDK tests: it drops a
 * share of connections in the middle of a request body, stalls others (stops forwarding either
 * way without closing, as a dead NAT mapping or a hung middlebox does), throttles, and can answer
 * a connection's first request itself (a 429 from a gateway, a rewritten OPTIONS), and corrupts
 * request bodies (a broken middlebox: one byte of every n-th PATCH body flipped, the rest intact).
 * Fates are drawn from a seeded PRNG, so a failing run can be repeated. It can also play an outage
 * of any TCP service (S3, PostgreSQL): `refuse()` closes its port (ECONNREFUSED), `accept()` reopens it;
 * `freeze()` plays a hung one (connections stay open, nothing moves either way) until `thaw()`.
 * (A little over 300 lines: one proxy for every kind of bad network, rather than one per test.)
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
  /** Flip one byte in the body of every n-th PATCH through the proxy (counted over all connections). */
  corruptEveryNthPatch?: number | null;
  seed?: number;
  /** Port to listen on (default: any free one); fixed, a refused port reopens on the same address. */
  port?: number;
}

export interface FlakyProxyStats {
  connections: number;
  dropped: number;
  stalled: number;
  injected: number;
  /** Client→server bytes forwarded. */
  bytesUp: number;
  /** PATCH requests seen, and those whose body had a byte flipped. */
  patches: number;
  corrupted: number;
  /** Responses with status 460 (Checksum Mismatch) passed back to clients. */
  answered460: number;
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
  /** Cuts every connection and stops listening: connecting is refused until `accept()`. */
  refuse(): Promise<void>;
  accept(): Promise<void>;
  /** Nothing moves on any connection, open or new, until `thaw()`, which cuts them all. */
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
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

/** Where in a PATCH body the flipped byte sits: past any chunked-coding size line, inside the data. */
const CORRUPT_AT = 100;
/** How much of the stream is kept to find request heads and status lines across TCP segments. */
const WINDOW = 64 * 1024;

/**
 * Finds PATCH request heads in a client→server byte stream (the bodies here are files and random
 * bytes with no "PATCH /" in them) and flips one byte CORRUPT_AT bytes into the body of those that
 * `choose` picks. Returns the bytes to forward (a copy where a byte was flipped).
 */
function bodyCorrupter(choose: () => boolean, onCorrupted: () => void): (data: Buffer) => Buffer {
  let window = '';
  let windowStart = 0; // stream position of window[0]
  let position = 0; // stream position of the next data's first byte
  let inHead = false;
  let searchFrom = 0;
  const flips: number[] = [];
  return (data) => {
    window += data.toString('latin1');
    for (;;) {
      const index = window.indexOf(inHead ? '\r\n\r\n' : 'PATCH /', searchFrom);
      if (index === -1) break;
      if (inHead && choose()) flips.push(windowStart + index + 4 + CORRUPT_AT);
      searchFrom = index + 4;
      inHead = !inHead;
    }
    let out = data;
    for (const at of flips.filter((p) => p >= position && p < position + data.length)) {
      if (out === data) out = Buffer.from(data);
      out[at - position] = out[at - position]! ^ 0x20;
      onCorrupted();
    }
    position += data.length;
    flips.splice(0, flips.length, ...flips.filter((p) => p >= position));
    if (window.length > WINDOW) {
      const cut = window.length - WINDOW;
      window = window.slice(cut);
      windowStart += cut;
      searchFrom = Math.max(0, searchFrom - cut);
    }
    return out;
  };
}

/** Counts responses with `status` in a server→client byte stream. */
function statusCounter(status: number, onSeen: () => void): (data: Buffer) => void {
  const line = `HTTP/1.1 ${status} `;
  let tail = '';
  return (data) => {
    const text = tail + data.toString('latin1');
    for (let i = text.indexOf(line); i !== -1; i = text.indexOf(line, i + 1)) onSeen();
    tail = text.slice(-(line.length - 1));
  };
}

export async function startFlakyProxy(initial: FlakyProxyOptions): Promise<FlakyProxy> {
  const target = new URL(initial.target);
  const options: FlakyProxyOptions = { ...initial };
  const random = mulberry32(initial.seed ?? 1);
  const stats: FlakyProxyStats = { connections: 0, dropped: 0, stalled: 0, injected: 0, bytesUp: 0, patches: 0, corrupted: 0, answered460: 0 };
  const sockets = new Set<net.Socket>();
  let frozen = false;
  const budget = () => {
    const [min, max] = options.budgetBytes ?? [256 * 1024, 4 * 2 ** 20];
    return Math.floor(min + random() * (max - min));
  };

  const server = net.createServer((client) => {
    stats.connections++;
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    if (frozen) [client, upstream].forEach((socket) => socket.pause());
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

    const corrupt = bodyCorrupter(() => {
      stats.patches++;
      const every = options.corruptEveryNthPatch;
      return every ? stats.patches % every === 0 : false;
    }, () => stats.corrupted++);
    const statuses = statusCounter(460, () => stats.answered460++);

    upstream.on('data', (data: Buffer) => {
      statuses(data);
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
          if (!stalled && !frozen && !client.destroyed) client.resume();
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
      forward(corrupt(data));
    });
  });

  const listen = (at: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at, '127.0.0.1', () => resolve(void server.off('error', reject)));
    });
  const cutAll = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  /** Resolves once every connection is cut and the port closed (also when it was closed already). */
  const stop = () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    cutAll();
    return closed;
  };
  await listen(initial.port ?? 0);
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats,
    set: (changes) => void Object.assign(options, changes),
    cutAll,
    refuse: stop,
    accept: () => listen(port),
    freeze() {
      frozen = true;
      for (const socket of sockets) socket.pause();
    },
    thaw() {
      frozen = false;
      cutAll();
    },
    close: stop,
  };
}
