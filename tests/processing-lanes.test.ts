import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asciiText, imageBombs } from './helpers/fixtures.js';
import type { FlakyProxy } from './helpers/flaky-proxy.js';
import { processingWithOwnClamd, type ProcessingWithOwnClamd } from './helpers/own-clamd.js';
import { uploadBuffer } from './helpers/tus.js';
import { fetchUpload, waitForUpload } from './helpers/uploads-api.js';

/**
 * Issue 13, item 3: no head-of-line blocking. Slow files (17 MiB each, over the default
 * WORKER_EXPRESS_MAX_SIZE of 16 MiB, scanned through a link to clamd throttled to 3 MiB/s: ~6 s
 * each) hold the only ordinary worker slot (WORKER_CONCURRENCY=1), and bombs arrive with them; an
 * ordinary small file sent at the same time is still ready within seconds, and the bombs rejected
 * — they have the express lane to themselves.
 */
describe('processing lanes', () => {
  let haul: ProcessingWithOwnClamd<FlakyProxy>;

  beforeAll(async () => {
    haul = await processingWithOwnClamd({ proxy: { bytesPerSecond: 3 * 2 ** 20 }, env: { WORKER_CONCURRENCY: '1' } });
  });
  afterAll(() => haul?.close());

  it('slow large files and bombs arriving together do not keep an ordinary file waiting', async () => {
    const { server, proxy } = haul;
    const token = await server.token('alice');
    const pngBomb = await imageBombs.fullPng();
    const large = await Promise.all(
      [1, 2].map((n) => uploadBuffer(server.tusEndpoint, token, asciiText(17 * 2 ** 20), { filename: `big-${n}.txt`, filetype: 'text/plain' })),
    );
    const [small, ...bombs] = await Promise.all([
      uploadBuffer(server.tusEndpoint, token, asciiText(2048), { filename: 'small.txt', filetype: 'text/plain' }),
      uploadBuffer(server.tusEndpoint, token, pngBomb, { filename: 'bomb.png', filetype: 'image/png' }),
      uploadBuffer(server.tusEndpoint, token, imageBombs.gif(), { filename: 'bomb.gif', filetype: 'image/gif' }),
    ]);
    const ready = await waitForUpload(server, token, small!.id, { timeoutMs: 15_000 });
    expect(ready.status).toBe('ready');
    expect(Date.now() - small!.finishedAt).toBeLessThan(5_000);
    for (const bomb of bombs) expect((await waitForUpload(server, token, bomb.id, { timeoutMs: 10_000 })).status).toBe('rejected');
    // The large files are still being worked through, one at a time, behind each other.
    const statuses = await Promise.all(large.map(async (l) => (await fetchUpload(server, token, l.id)).status));
    expect(statuses.filter((s) => s === 'ready').length).toBeLessThanOrEqual(1);
    proxy.set({ bytesPerSecond: null });
    for (const l of large) expect((await waitForUpload(server, token, l.id, { timeoutMs: 60_000 })).status).toBe('ready');
  });
});
