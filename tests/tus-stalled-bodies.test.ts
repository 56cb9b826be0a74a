import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type FreshDatabase, freshDatabase } from './helpers/database.js';
import { asciiText } from './helpers/fixtures.js';
import { type HaulServer, startHaul } from './helpers/haul-server.js';
import { createUpload, head, offsetOf, patch } from './helpers/tus.js';
import { partialPatch } from './helpers/tus-interrupted.js';

/**
 * Issue 13, item 5: a body that sends nothing for BODY_IDLE_TIMEOUT_SECONDS is ended — its bytes
 * kept, its lock released — and one account cannot hold more than
 * MAX_CONCURRENT_UPLOAD_REQUESTS_PER_USER upload requests open at once.
 */
describe('stalled bodies and the per-user cap on open upload requests', () => {
  let database: FreshDatabase;
  let server: HaulServer;

  beforeAll(async () => {
    database = await freshDatabase(inject('databaseUrl'));
    server = await startHaul({ env: { DATABASE_URL: database.url, BODY_IDLE_TIMEOUT_SECONDS: '2', MAX_CONCURRENT_UPLOAD_REQUESTS_PER_USER: '3' } });
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  it('a PATCH that stops sending is ended after the idle timeout: its bytes kept, the upload resumable at once', async () => {
    const token = await server.token('alice');
    const data = asciiText(200_000);
    const { url } = await createUpload(server.tusEndpoint, token, { length: data.length, metadata: { filename: 'stalled.txt' } });
    const startedAt = Date.now();
    // 70 000 bytes, then silence with 130 000 still promised (Content-Length).
    const stalled = await partialPatch(url, token, data, { offset: 0, send: 70_000, declared: data.length });
    const outcome = await stalled.done;
    const took = Date.now() - startedAt;
    expect(outcome.status).toBe(204);
    expect(took).toBeGreaterThanOrEqual(1_900);
    expect(took).toBeLessThan(8_000);
    // The lock is released: HEAD answers at once (no 423) with every byte that arrived.
    const headAt = Date.now();
    const answer = await head(url, token);
    expect(answer.status).toBe(200);
    expect(Date.now() - headAt).toBeLessThan(1_000);
    expect(answer.offset).toBe(70_000);
    const rest = await patch(url, token, 70_000, data.subarray(70_000));
    expect(rest.status).toBe(204);
    expect(await offsetOf(url, token)).toBe(data.length);
  });

  it('a body that sends one byte and then nothing is ended too, that byte kept', async () => {
    const token = await server.token('alice');
    const data = asciiText(1000);
    const { url } = await createUpload(server.tusEndpoint, token, { length: data.length });
    // One byte, then nothing for longer than the idle timeout.
    const trickle = await partialPatch(url, token, data.subarray(0, 1), { offset: 0, send: 1, declared: data.length });
    expect((await trickle.done).status).toBe(204);
    expect(await offsetOf(url, token)).toBe(1);
  });

  it('over MAX_CONCURRENT_UPLOAD_REQUESTS_PER_USER open upload requests: 429 with Retry-After; other accounts are not affected', async () => {
    const token = await server.token('mallory');
    const uploads = [];
    for (let i = 0; i < 4; i++) uploads.push(await createUpload(server.tusEndpoint, token, { length: 10_000 }));
    const open = await Promise.all(uploads.slice(0, 3).map((u) => partialPatch(u.url, token, asciiText(100), { offset: 0, send: 100, declared: 10_000 })));
    await new Promise((r) => setTimeout(r, 300)); // the three are being read
    const refused = await patch(uploads[3]!.url, token, 0, asciiText(10_000));
    expect(refused.status).toBe(429);
    expect(refused.header('retry-after')).toBe('1');
    expect(refused.json().code).toBe('TOO_MANY_UPLOAD_REQUESTS');
    // Someone else uploads meanwhile.
    const other = await server.token('bob');
    const { url } = await createUpload(server.tusEndpoint, other, { length: 100 });
    expect((await patch(url, other, 0, asciiText(100))).status).toBe(204);
    // Once the stalled ones are ended (idle timeout), mallory may upload again.
    for (const request of open) expect((await request.done).status).toBe(204);
    expect((await patch(uploads[3]!.url, token, 0, asciiText(10_000))).status).toBe(204);
  });
});
