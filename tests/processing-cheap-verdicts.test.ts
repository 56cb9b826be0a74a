import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asciiText, decompressionBombPng, imageBombs } from './helpers/fixtures.js';
import type { FlakyProxy } from './helpers/flaky-proxy.js';
import { processingWithOwnClamd, type ProcessingWithOwnClamd } from './helpers/own-clamd.js';
import { createUpload, patch, uploadBuffer } from './helpers/tus.js';
import { expectHistory, waitForUpload } from './helpers/uploads-api.js';

/**
 * Issue 13, items 1 and 2: what can be refused from a file's headers is refused before clamd or a
 * decoder sees a byte of it, and a file clamd cannot finish is a definite `rejected`, not a retry.
 * clamd here is a clamd of this file's own, reached through a TCP proxy that counts every byte
 * Haul sends it — "never sent to clamd" is measured, not assumed.
 */
describe('cheap verdicts before the scanner', () => {
  let haul: ProcessingWithOwnClamd<FlakyProxy>;
  let token: string;

  beforeAll(async () => {
    // The proxy passes everything on and counts it.
    haul = await processingWithOwnClamd({ proxy: {} });
    token = await haul.server.token('alice');
  });
  afterAll(() => haul?.close());

  it('PNG, GIF, TIFF and WebP bombs with SCAN_MODE=required → rejected within seconds, never sent to clamd, while a text file sent at the same moment is ready within seconds', async () => {
    const { server, proxy, database } = haul;
    const bombs = [
      { name: 'bomb.png', type: 'image/png', data: await imageBombs.fullPng() }, // 20000×20000, 1.1 MB
      { name: 'tiny-bomb.png', type: 'image/png', data: decompressionBombPng(200_000, 200_000) },
      { name: 'bomb.gif', type: 'image/gif', data: imageBombs.gif() },
      { name: 'bomb.tiff', type: 'image/tiff', data: imageBombs.tiff() },
      { name: 'bomb.webp', type: 'image/webp', data: imageBombs.webp() },
    ];
    const text = asciiText(4096);
    const sentBefore = proxy.stats.bytesUp;
    const [textUpload, ...bombUploads] = await Promise.all([
      uploadBuffer(server.tusEndpoint, token, text, { filename: 'notes.txt', filetype: 'text/plain' }),
      ...bombs.map((b) => uploadBuffer(server.tusEndpoint, token, b.data, { filename: b.name, filetype: b.type })),
    ]);
    const ready = await waitForUpload(server, token, textUpload!.id, { timeoutMs: 10_000 });
    expect(ready).toMatchObject({ status: 'ready', scanned: true, detectedType: 'text/plain' });
    expect(Date.now() - textUpload!.finishedAt).toBeLessThan(5_000);

    for (const [i, upload] of bombUploads.entries()) {
      const done = await waitForUpload(server, token, upload.id, { timeoutMs: 10_000 });
      expect(done, bombs[i]!.name).toMatchObject({ status: 'rejected', scanned: false, detectedType: bombs[i]!.type });
      expect(done.reason).toMatch(/exceed 100000000 pixels: \d+×\d+/);
      expect(Date.now() - upload.finishedAt).toBeLessThan(10_000);
      await expectHistory(database.sql, upload.id, 'rejected', /decompression bomb/);
    }
    // Only the text file (plus INSTREAM framing) went to clamd: not one bomb's bytes.
    const sent = proxy.stats.bytesUp - sentBefore;
    expect(sent).toBeGreaterThanOrEqual(text.length);
    expect(sent).toBeLessThan(text.length + 1024);
  });

  it('an ELF named .txt is refused from its first bytes, without a scan', async () => {
    const { server, proxy } = haul;
    const elf = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(2_000_000, 1)]);
    const sentBefore = proxy.stats.bytesUp;
    // Refused while its first bytes arrive (tus/content-check.ts), before processing could see it.
    const { id, url } = await createUpload(server.tusEndpoint, token, { length: elf.length, metadata: { filename: 'notes.txt', filetype: 'text/plain' } });
    const refused = await patch(url, token, 0, elf);
    expect([refused.status, refused.json().code]).toEqual([415, 'FILE_NOT_ACCEPTED']);
    const upload = await waitForUpload(server, token, id, { timeoutMs: 10_000 });
    expect(upload).toMatchObject({ status: 'rejected', scanned: false, detectedType: 'application/x-elf' });
    expect(proxy.stats.bytesUp - sentBefore).toBeLessThan(1024);
  });
});

describe('a file clamd cannot finish', () => {
  let haul: ProcessingWithOwnClamd;

  beforeAll(async () => {
    // MaxScanTime of 1 ms: every non-trivial file runs out of scan time (what a pathological file
    // does under the 30 s the project's configuration sets).
    haul = await processingWithOwnClamd({ clamdEnv: { CLAMD_MAX_SCAN_TIME: '1' }, env: { PROCESSING_MAX_ATTEMPTS: '5' } });
  });
  afterAll(() => haul?.close());

  it('→ rejected with the reason after one attempt, never retried', async () => {
    const { server, database } = haul;
    const token = await server.token('alice');
    const { id } = await uploadBuffer(server.tusEndpoint, token, asciiText(20 * 2 ** 20), { filename: 'huge-log.txt', filetype: 'text/plain' });
    const upload = await waitForUpload(server, token, id, { timeoutMs: 20_000 });
    expect(upload).toMatchObject({ status: 'rejected', scanned: true });
    expect(upload.reason).toMatch(/time limit \(Heuristics\.Limits\.Exceeded\.MaxScanTime\)/);
    await expectHistory(database.sql, id, 'rejected', /MaxScanTime/);
    expect(server.logs()).not.toMatch(new RegExp(`will retry","uploadId":"${id}"`));
    expect(server.logs().match(new RegExp(`"upload processed","uploadId":"${id}"`, 'g'))).toHaveLength(1);
  });
});

describe('a scan clamd sits on', () => {
  let haul: ProcessingWithOwnClamd<FlakyProxy>;

  beforeAll(async () => {
    // Every connection to clamd goes silent after 256 KiB (a hung scan, as clamd under a file it
    // cannot finish); a PING, a few bytes, still gets through: clamd is up, the file is the problem.
    haul = await processingWithOwnClamd({ proxy: { stallRate: 1, budgetBytes: [256 * 1024, 256 * 1024] }, env: { CLAMD_TIMEOUT_MS: '1500' } });
  });
  afterAll(() => haul?.close());

  it('past CLAMD_TIMEOUT_MS, with clamd still answering PING → rejected after one attempt', async () => {
    const { server, proxy } = haul;
    const token = await server.token('alice');
    const { id } = await uploadBuffer(server.tusEndpoint, token, asciiText(2 * 2 ** 20), { filename: 'stuck.txt', filetype: 'text/plain' });
    const upload = await waitForUpload(server, token, id, { timeoutMs: 20_000 });
    expect(upload).toMatchObject({ status: 'rejected', scanned: true });
    expect(upload.reason).toMatch(/^the virus scanner could not finish checking this file: clamd timed out/);
    expect(proxy.stats.stalled).toBe(1);
    expect(server.logs()).not.toMatch(new RegExp(`will retry","uploadId":"${id}"`));
  });
});
