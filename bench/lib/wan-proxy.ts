import net from 'node:net';
import { mulberry32 } from './seeded-random.js';

/**
 * A long or a mobile network path, emulated in userspace on 127.0.0.1 (this machine has no netem):
 * a TCP proxy that delays every byte by half the round-trip time in each direction, caps each
 * connection's bytes in flight at a window, and can cut connections.
 *
 * The window is what limits one TCP stream on a real long path: a sender may have at most a
 * window of unacknowledged bytes out, and an acknowledgement comes back one RTT after the byte
 * left, so one connection moves at most window / RTT (256 KiB over 80 ms ≈ 3.1 MiB/s; 64 KiB over
 * 300 ms ≈ 0.2 MiB/s), whatever the bandwidth. Here a byte read from one side counts as in flight
 * until it was handed to the other side (after RTT/2) and its "acknowledgement" came back (RTT/2
 * later); while the window is full the proxy stops reading, and the sender's own socket buffers
 * fill up as they would. A new connection pays one RTT for the handshake before its first byte.
 * Parallel streams each get their own window — which is why they help on such paths.
 *
 * Cutting: every `cutEvery`-th connection (if set) is reset (RST, both sides) once a random number
 * of client bytes in [cutMinBytes, cutMaxBytes) has passed; connections that carry fewer bytes
 * (a HEAD, a small POST) end normally. Random with a fixed seed, so runs are repeatable.
 */

export interface WanProfile {
  /** Round-trip time added, ms. */
  rttMs: number;
  /** Bytes in flight per connection and direction. */
  windowBytes: number;
}

export interface CutPolicy {
  /** Cut one connection in this many (10: 10 % of connections), counted in order of arrival. */
  every: number;
  minBytes: number;
  maxBytes: number;
  seed?: number;
}

export interface WanProxy {
  /** http://127.0.0.1:<port>: the target's address through the path. */
  readonly url: string;
  readonly stats: { connections: number; cut: number; bytesUp: number; bytesDown: number };
  close(): Promise<void>;
}

/** Delivery in pieces no larger than this, so a window is filled and drained smoothly. */
const SEGMENT = 16 * 1024;

/**
 * One direction of one connection: reads `from`, writes `to` RTT/2 later, with at most `window`
 * bytes unacknowledged; what the window cannot take yet waits here, and `from` is paused.
 */
function delayLine(from: net.Socket, to: net.Socket, { rttMs, windowBytes }: WanProfile, notBefore: number, onBytes: (n: number) => void) {
  const oneWay = rttMs / 2;
  const waiting: Buffer[] = [];
  let inFlight = 0;
  let lastDelivery = notBefore;
  let pending = 0;
  let ended = false;

  const maybeEnd = () => {
    if (ended && pending === 0 && waiting.length === 0 && !to.destroyed) to.end();
  };
  // Segments on their way, in order. One timer for the head: timers of different durations
  // that fall due together may fire in any order, and a byte stream must not be reordered.
  const onTheWay: Array<{ at: number; segment: Buffer }> = [];
  let timer: NodeJS.Timeout | undefined;
  const deliver = () => {
    timer = undefined;
    while (onTheWay.length > 0 && onTheWay[0]!.at <= performance.now()) {
      const { segment } = onTheWay.shift()!;
      pending--;
      if (to.destroyed) continue;
      // Acknowledged RTT/2 after the receiving side took it (its socket accepted the write).
      to.write(segment, () => setTimeout(() => acknowledge(segment.length), oneWay));
    }
    if (onTheWay.length > 0) timer = setTimeout(deliver, Math.max(0, onTheWay[0]!.at - performance.now()));
    maybeEnd();
  };
  const send = (segment: Buffer) => {
    inFlight += segment.length;
    pending++;
    // Never earlier than RTT/2 after it left (nor before the handshake is done), never before the one ahead.
    lastDelivery = Math.max(lastDelivery, performance.now() + oneWay);
    onTheWay.push({ at: lastDelivery, segment });
    timer ??= setTimeout(deliver, Math.max(0, lastDelivery - performance.now()));
  };
  /** Sends what the window allows, a segment at a time; pauses the reader while anything waits. */
  const pump = () => {
    while (waiting.length > 0 && inFlight < windowBytes) {
      const head = waiting[0]!;
      const take = Math.min(SEGMENT, windowBytes - inFlight, head.length);
      send(head.subarray(0, take));
      if (take === head.length) waiting.shift();
      else waiting[0] = head.subarray(take);
    }
    if (waiting.length > 0) from.pause();
    else if (from.isPaused() && !from.destroyed) from.resume();
    maybeEnd();
  };
  const acknowledge = (bytes: number) => {
    inFlight -= bytes;
    pump();
  };

  from.on('data', (chunk: Buffer) => {
    onBytes(chunk.length);
    waiting.push(chunk);
    pump();
  });
  from.once('end', () => {
    ended = true;
    maybeEnd();
  });
}

/** Starts the proxy in front of `target` (e.g. http://127.0.0.1:3000). */
export async function startWanProxy(target: string, profile: WanProfile, cut?: CutPolicy): Promise<WanProxy> {
  const { hostname, port } = new URL(target);
  // Seeded: cut points are the same run after run.
  const random = mulberry32(cut?.seed ?? 1);
  const stats = { connections: 0, cut: 0, bytesUp: 0, bytesDown: 0 };
  const sockets = new Set<net.Socket>();

  // Half-open on both sides: each direction ends when its delay line has delivered everything.
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const index = ++stats.connections;
    const upstream = net.connect({ host: hostname, port: Number(port), allowHalfOpen: true });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.once('close', () => sockets.delete(socket));
    }
    // The first request byte reaches the target 1.5 RTT after connecting: SYN, SYN-ACK, then the data.
    const handshakeDone = performance.now() + 1.5 * profile.rttMs;
    const cutAt = cut && index % cut.every === 0 ? cut.minBytes + Math.floor(random() * (cut.maxBytes - cut.minBytes)) : undefined;
    let up = 0;
    const reset = () => {
      for (const socket of [client, upstream]) if (!socket.destroyed) socket.resetAndDestroy();
    };
    delayLine(client, upstream, profile, handshakeDone, (n) => {
      up += n;
      stats.bytesUp += n;
      if (cutAt !== undefined && up >= cutAt && !client.destroyed) {
        stats.cut++;
        reset();
      }
    });
    delayLine(upstream, client, profile, 0, (n) => (stats.bytesDown += n));
    // A side that fails takes the other with it, as a broken path would; a normal end (FIN)
    // travels through its delay line instead.
    client.on('error', reset);
    upstream.on('error', reset);
  });
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    stats,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

/** The most one connection can move through `profile`, in MiB/s. */
export const windowLimitMiBps = ({ rttMs, windowBytes }: WanProfile) => windowBytes / 2 ** 20 / (rttMs / 1000);
