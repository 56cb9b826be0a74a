import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyDigest, request } from './http-client.js';

/**
 * The benchmark body: what `request` sends must be what `bodyDigest` hashes, for any start and
 * length, and consecutive PATCHes (start + offset) must add up to the whole upload's bytes —
 * bench/scale-out.ts checks every stored object against exactly that.
 */

const MiB = 2 ** 20;
const BLOCK = 8 * MiB; // http-client's block, repeated

describe('benchmark request bodies', () => {
  let server: http.Server;
  let url: string;
  const received: Buffer[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push(Buffer.concat(chunks));
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const send = async (length: number, start?: number) => {
    await request(url, { method: 'PATCH', bodyLength: length, bodyStart: start });
    return received.at(-1)!;
  };
  const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('base64');

  it('sends the bytes bodyDigest hashes, also across the end of the block', async () => {
    for (const [length, start] of [[3 * MiB, undefined], [3 * MiB + 5, BLOCK - MiB], [BLOCK + 17, 12_345], [2 * MiB, 3 * BLOCK + 7]] as const) {
      const body = await send(length, start);
      expect(body.length).toBe(length);
      expect(sha256(body)).toBe(bodyDigest('sha256', length, start));
    }
  });

  it('PATCHes sent from start + offset add up to the whole upload; other starts give other bytes', async () => {
    const start = 5 * 1_000_003;
    const parts = [await send(2 * MiB, start), await send(2 * MiB, start + 2 * MiB), await send(MiB + 3, start + 4 * MiB)];
    expect(sha256(Buffer.concat(parts))).toBe(bodyDigest('sha256', 5 * MiB + 3, start));
    expect(bodyDigest('sha256', 5 * MiB + 3, start + 1_000_003)).not.toBe(bodyDigest('sha256', 5 * MiB + 3, start));
    // The first and second PATCH of one upload differ (a swapped chunk would be caught).
    expect(parts[0]!.equals(parts[1]!)).toBe(false);
  });
});

describe('benchmark request errors', () => {
  it('name the request a connection error ended and how long its reused keep-alive connection had been idle', async () => {
    // Answers the first request on a connection, then closes it when the next one arrives: what a
    // proxy's client sees when the proxy's idle connection to a server was closed under it.
    const server = http.createServer((req, res) => {
      if (req.url === '/first') res.end('ok');
      else req.socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await request(`${origin}/first`, { agent })).status).toBe(200);
      await sleep(200);
      const error = await request(`${origin}/second`, { method: 'HEAD', agent }).catch((e: unknown) => e as Error);
      expect(error).toBeInstanceOf(Error);
      const match = /^HEAD \/second: (socket hang up|read ECONNRESET) \(on a keep-alive connection idle (\d+) ms before\)$/.exec((error as Error).message);
      expect(match, (error as Error).message).not.toBeNull();
      expect(Number(match![2])).toBeGreaterThanOrEqual(190);
      expect(Number(match![2])).toBeLessThan(5000);
    } finally {
      agent.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
