import { HaulError, type UploadJson } from '@haul/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createWatchPool } from './watch-pool.js';

const record = (id: string, status: UploadJson['status']) => ({ id, status }) as UploadJson;

/** A watch whose outcome the test decides, per upload. */
function fakeWatch() {
  const pending = new Map<string, { resolve: (u: UploadJson) => void; reject: (e: unknown) => void; signal: AbortSignal }>();
  const watch = vi.fn((id: string, { signal }: { signal: AbortSignal }) =>
    new Promise<UploadJson>((resolve, reject) => {
      pending.set(id, { resolve, reject, signal });
      signal.addEventListener('abort', () => reject(new HaulError('ABORTED', 'aborted', { cause: signal.reason })));
    }),
  );
  return { watch, pending };
}

afterEach(() => vi.useRealTimers());

describe('createWatchPool', () => {
  it('follows at most `concurrency` uploads and starts the next when one ends', async () => {
    const { watch, pending } = fakeWatch();
    const onStatus = vi.fn();
    const pool = createWatchPool({ watch, onStatus, onGone: vi.fn(), concurrency: 2 });
    for (const id of ['a', 'b', 'c']) pool.add(id);
    expect(watch.mock.calls.map(([id]) => id)).toEqual(['a', 'b']);
    pending.get('a')!.resolve(record('a', 'ready'));
    await vi.waitFor(() => expect(watch).toHaveBeenCalledTimes(3));
    expect(onStatus).toHaveBeenCalledWith(record('a', 'ready'));
    pool.close();
  });

  it('gives a slow upload a turn, then puts it at the back of the queue', async () => {
    vi.useFakeTimers();
    const { watch } = fakeWatch();
    const pool = createWatchPool({ watch, onStatus: vi.fn(), onGone: vi.fn(), concurrency: 1, sliceMs: 1000 });
    pool.add('stuck');
    pool.add('next');
    await vi.advanceTimersByTimeAsync(1000);
    expect(watch.mock.calls.map(([id]) => id)).toEqual(['stuck', 'next']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(watch.mock.calls.map(([id]) => id)).toEqual(['stuck', 'next', 'stuck']);
    pool.close();
  });

  it('reports an upload that is gone, and never follows a deleted one again', async () => {
    const { watch, pending } = fakeWatch();
    const onGone = vi.fn();
    const onStatus = vi.fn();
    const pool = createWatchPool({ watch, onStatus, onGone, concurrency: 2 });
    pool.add('gone');
    pool.add('deleted');
    pending.get('gone')!.reject(new HaulError('UPLOAD_NOT_FOUND', 'Upload not found', { status: 404 }));
    pool.delete('deleted');
    await vi.waitFor(() => expect(onGone).toHaveBeenCalledWith('gone'));
    expect(pending.get('deleted')!.signal.aborted).toBe(true);
    expect(onStatus).not.toHaveBeenCalled();
    pool.close();
  });
});
