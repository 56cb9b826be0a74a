import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { storageStallMs, untilStalled } from './storage-stalls.js';

const stalled = (what: string) => new Error(`stalled: ${what}`);

describe('reads that storage stops answering', () => {
  it('fail once the source brings nothing for the limit while bytes are wanted', async () => {
    const source = new PassThrough();
    source.write(Buffer.from('first bytes'));
    const guarded = untilStalled(source, 200, stalled);
    const read: Buffer[] = [];
    const started = Date.now();
    const outcome = await (async () => {
      for await (const chunk of guarded) read.push(chunk as Buffer);
    })().catch((error: unknown) => error);
    expect(Buffer.concat(read).toString()).toBe('first bytes');
    expect((outcome as Error).message).toBe('stalled: in the middle of the file');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(source.destroyed).toBe(true); // the connection under it is given back
  });

  it('do not fail while their reader is the slow one (backpressure): bytes are only awaited when wanted', async () => {
    let sent = 0;
    const source = new Readable({ read() { this.push(sent++ < 8 ? Buffer.alloc(64 * 1024, 97) : null); } });
    const guarded = untilStalled(source, 200, stalled);
    let bytes = 0;
    const started = Date.now();
    for await (const chunk of guarded) {
      bytes += (chunk as Buffer).length;
      if (Date.now() - started < 900) await sleep(300); // longer than the limit, more than once
    }
    expect(bytes).toBe(8 * 64 * 1024);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('pass the source’s own errors through', async () => {
    const source = new PassThrough();
    const guarded = untilStalled(source, 1_000, stalled);
    setTimeout(() => source.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })), 10);
    await expect((async () => {
      for await (const _ of guarded) void _;
    })()).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it('limit: half CLAMD_TIMEOUT_MS, between 5 and 30 s', () => {
    expect(storageStallMs(60_000)).toBe(30_000);
    expect(storageStallMs(20_000)).toBe(10_000);
    expect(storageStallMs(1_000)).toBe(5_000);
    expect(storageStallMs(600_000)).toBe(30_000);
  });
});
