import { HaulError } from '../errors.js';

/**
 * At most `max` upload requests (PATCH, POST with a body) open at once per user on this instance
 * (MAX_CONCURRENT_UPLOAD_REQUESTS_PER_USER; issue 13, item 5), so one account cannot hold hundreds
 * of sockets, upload locks and file descriptors. Over the cap: 429 with Retry-After, which
 * clients treat as "back off and retry" (the upload itself is untouched).
 */
export function createUploadRequestCap(max: number) {
  const open = new Map<string, number>();
  return {
    /** Counts a request of `userId` until the returned release is called (exactly once). */
    acquire(userId: string): () => void {
      const count = open.get(userId) ?? 0;
      if (count >= max) {
        throw new HaulError('TOO_MANY_UPLOAD_REQUESTS', `At most ${max} upload requests may be open at once per account`, { headers: { 'Retry-After': '1' } });
      }
      open.set(userId, count + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (open.get(userId) ?? 1) - 1;
        if (left > 0) open.set(userId, left);
        else open.delete(userId);
      };
    },
  };
}

export type UploadRequestCap = ReturnType<typeof createUploadRequestCap>;
