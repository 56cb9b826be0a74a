import type { UploadContext } from './upload-types.js';

/** What an aborted upload left on the server and in the resume index. */
export interface UploadRemains {
  /** Its resume-index entry, if it has one. */
  fingerprint: string | null;
  /** Set once every byte was stored: the files API deletes it (tus refuses to terminate a complete upload). */
  uploadedId: string | null;
  /** Every upload URL it created or continued (partials, final, single). */
  urls: readonly string[];
}

/**
 * Removes an aborted upload: forgets it for resuming, then deletes it on the server — through
 * the files API once complete, else tus termination of every URL it had. Best effort, never
 * rejects: what is left behind expires on the server.
 */
export async function terminateUpload(ctx: UploadContext, remains: UploadRemains): Promise<void> {
  if (remains.fingerprint && ctx.index) await ctx.index.remove(remains.fingerprint);
  if (remains.uploadedId) {
    await ctx.api.delete(remains.uploadedId).catch(() => {});
    return;
  }
  await Promise.all(remains.urls.map((url) => ctx.tus.terminate(url)));
}
