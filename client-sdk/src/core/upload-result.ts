import { HEADERS, type UploadJson } from '@haul/api';
import type { HttpResponse } from 'tus-js-client';
import { outcomeError, waitForTerminal } from './processing-wait.js';
import { lastSegment } from './tus-endpoint.js';
import type { UploadContext, UploadOptions } from './upload-types.js';

/**
 * After the last byte: which upload the server made of it, and what processing concluded.
 */

/**
 * The upload's id: from `Haul-Upload` (the files-API path the completing response names — for
 * a parallel upload, the assembled one), else the upload URL's last segment.
 */
export function uploadIdOf(url: string, lastResponse: HttpResponse | null): string {
  const apiPath = lastResponse?.getHeader(HEADERS.haulUpload);
  return apiPath ? lastSegment(apiPath) : lastSegment(url);
}

/**
 * The record `result` resolves with: once processing made it `ready` (rejects with the outcome's
 * HaulError otherwise), or as soon as it is stored with `waitForProcessing: false`.
 */
export async function uploadResult(ctx: UploadContext, id: string, options: UploadOptions, signal: AbortSignal, onProcessing: () => void): Promise<UploadJson> {
  if (options.waitForProcessing === false) {
    const upload = await ctx.api.get(id, signal);
    options.onStatus?.(upload);
    return upload;
  }
  onProcessing();
  const upload = await waitForTerminal(ctx, id, { signal, onStatus: options.onStatus, timeoutMs: options.processingTimeoutMs });
  if (upload.status !== 'ready') throw outcomeError(upload);
  return upload;
}
