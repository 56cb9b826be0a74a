import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWanProxy, windowLimitMiBps } from './wan-proxy.js';

/** A sink that answers each POST with the byte count it read. */
let sink: http.Server;
let target: string;
beforeAll(async () => {
  sink = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => res.end(String(bytes)));
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  target = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => sink.close(() => resolve())));

async function post(url: string, bytes: number, agent = new http.Agent({ keepAlive: false })): Promise<{ ms: number; answer: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/`, { method: 'POST', agent, headers: { 'Content-Length': bytes } }, (res) => {
      let answer = '';
      res.on('data', (c: Buffer) => (answer += c.toString()));
      res.on('end', () => resolve({ ms: performance.now() - started, answer }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(Buffer.alloc(bytes, 1));
  });
}

describe('the WAN proxy', () => {
  it('adds the round trip (handshake + request/response) to a small request', async () => {
    const proxy = await startWanProxy(target, { rttMs: 100, windowBytes: 256 * 1024 });
    try {
      const { ms, answer } = await post(proxy.url, 10);
      expect(answer).toBe('10');
      // Handshake (1 RTT) + request there and answer back (1 RTT); generous on a loaded machine.
      expect(ms).toBeGreaterThanOrEqual(195);
      expect(ms).toBeLessThan(1000);
    } finally {
      await proxy.close();
    }
  });

  it('caps one connection at window / RTT, and two connections move twice as much', async () => {
    const profile = { rttMs: 50, windowBytes: 64 * 1024 }; // 1.25 MiB/s per connection
    const proxy = await startWanProxy(target, profile);
    const bytes = 768 * 1024;
    try {
      const one = await post(proxy.url, bytes);
      expect(one.answer).toBe(String(bytes));
      const mibps = bytes / 2 ** 20 / (one.ms / 1000);
      expect(mibps).toBeLessThanOrEqual(windowLimitMiBps(profile) * 1.1);
      expect(mibps).toBeGreaterThan(windowLimitMiBps(profile) * 0.4);
      const started = performance.now();
      const two = await Promise.all([post(proxy.url, bytes), post(proxy.url, bytes)]);
      expect(two.map((r) => r.answer)).toEqual([String(bytes), String(bytes)]);
      expect(performance.now() - started).toBeLessThan(one.ms * 1.6);
    } finally {
      await proxy.close();
    }
  });

  it('resets every n-th connection after a cut point, and only those', async () => {
    const proxy = await startWanProxy(target, { rttMs: 10, windowBytes: 256 * 1024 }, { every: 2, minBytes: 1000, maxBytes: 2000 });
    try {
      const first = await post(proxy.url, 100_000);
      expect(first.answer).toBe('100000');
      await expect(post(proxy.url, 100_000)).rejects.toThrow(/ECONNRESET|socket hang up/);
      expect((await post(proxy.url, 500)).answer).toBe('500');
      // The 4th connection is marked, but a request smaller than its cut point goes through.
      expect((await post(proxy.url, 500)).answer).toBe('500');
      expect(proxy.stats).toMatchObject({ connections: 4, cut: 1 });
    } finally {
      await proxy.close();
    }
  });
});
