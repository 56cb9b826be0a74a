import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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
