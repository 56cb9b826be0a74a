import { describe, expect, it } from 'vitest';
import { MIN_PART_SIZE } from './parallel.js';
import type { PreparedInput } from './platform.js';
import { memoryStorage, ResumeIndex } from './resume-storage.js';
import { planUpload, storedUrls } from './upload-plan.js';
import type { UploadContext } from './upload-types.js';

/** Only what planning reads of the client's context. */
function context(concatenation = true): UploadContext {
  const index = new ResumeIndex(memoryStorage(), 60_000);
  const tus = { supportsConcatenation: async () => concatenation, isComplete: async () => false, offset: async () => null, terminate: async () => {} };
  return { endpoint: 'http://h/files/', index, active: new Set<string>(), tus } as Partial<UploadContext> as UploadContext;
}

const file = (size: number, extra: Partial<PreparedInput> = {}): PreparedInput => ({ source: new Blob([]), size, name: 'a.bin', type: 'application/octet-stream', identity: `file:${size}`, sliceable: true, ...extra });

describe('planUpload', () => {
  it('metadata from the input, overridden by the options; one part unless parallel is asked and offered', async () => {
    const ctx = context();
    const plan = await planUpload(ctx, file(100), { metadata: { filename: 'b.bin', scope: 's', skip: undefined } });
    expect(plan.metadata).toEqual({ filename: 'b.bin', filetype: 'application/octet-stream', scope: 's' });
    expect(plan.parts).toEqual([{ start: 0, end: 100 }]);
    expect(plan.chunkSize).toBe(Number.POSITIVE_INFINITY);

    const big = 3 * MIN_PART_SIZE;
    expect((await planUpload(context(), file(big), { parallel: 4 })).parts).toHaveLength(3);
    expect((await planUpload(context(false), file(big), { parallel: 4 })).parts).toHaveLength(1);
    expect((await planUpload(context(), file(big, { sliceable: false }), { parallel: 4 })).parts).toHaveLength(1);
  });

  it('a fingerprint (reserved while uploading) only for stable inputs with resuming on; the same input twice at once gets none', async () => {
    const ctx = context();
    const first = await planUpload(ctx, file(10), {});
    expect(first.fingerprint).toMatch(/^haul1\|file:10\|/);
    expect(first.storageKey).toBe(first.fingerprint);
    expect(ctx.active.has(first.fingerprint!)).toBe(true);
    const twin = await planUpload(ctx, file(10), {});
    expect(twin.fingerprint).toBeNull();
    expect(twin.storageKey).toMatch(/^ephemeral\|/);
    expect((await planUpload(context(), file(10), { resume: false })).fingerprint).toBeNull();
    expect((await planUpload(context(), file(10, { identity: null }), {})).fingerprint).toBeNull();
  });

  it('streams: 8 MiB chunks, deferred length; what an earlier run stored is found', async () => {
    const stream = await planUpload(context(), file(0, { size: null, needsChunkSize: true, identity: null, sliceable: false }), {});
    expect(stream).toMatchObject({ chunkSize: 8 * 2 ** 20, uploadLengthDeferred: true });

    const ctx = context();
    const { fingerprint } = await planUpload(ctx, file(10), {});
    ctx.active.clear();
    await ctx.index!.save(fingerprint!, { uploadUrl: 'http://h/files/u1', parallelUploadUrls: null, finalUrl: null, size: 10, metadata: {} });
    const again = await planUpload(ctx, file(10), {});
    expect(again.previous?.uploadUrl).toBe('http://h/files/u1');
    expect(storedUrls(again.previous)).toEqual(['http://h/files/u1']);
  });
});
