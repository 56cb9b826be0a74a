import { useEffect, useRef, useState } from 'react';
import { uploadIdFromUrl } from '../lib/haul.js';
import { describeError, errorFromBody, type Problem } from '../lib/problems.js';
import type { HaulUppy, HaulUppyFile } from '../lib/uppy.js';
import type { Gallery } from './use-gallery.js';

/** Server upload id → Uppy file id, for uploads running in this page. */
export type LiveUploads = Readonly<Record<string, string>>;

/** The XHR tus-js-client answered with, as Uppy forwards it to `upload-error`. */
function failedRequest(response: unknown): { status: number; text: string; retryAfter: string | null } | undefined {
  const xhr = (response as { body?: { xhr?: unknown } } | undefined)?.body?.xhr;
  if (!(xhr instanceof XMLHttpRequest)) return undefined;
  return { status: xhr.status, text: xhr.responseText, retryAfter: xhr.getResponseHeader('retry-after') };
}

/**
 * Connects the uploader to the gallery: an upload shows up there as soon as the server has
 * created it (its URL is known), follows processing once its last byte is in, and the server's
 * refusals replace tus-js-client's technical error text in the uploader.
 */
export function useUppyBridge(uppy: HaulUppy, gallery: Pick<Gallery, 'track' | 'forget' | 'reload'>, onProblem: (problem: Problem) => void): LiveUploads {
  const [live, setLive] = useState<LiveUploads>({});
  const { track, forget } = gallery;
  // gallery.reload is a new function each render: read through a ref so the listeners stay put.
  const reload = useRef(gallery.reload);
  reload.current = gallery.reload;

  useEffect(() => {
    const known = new Map<string, string>(); // Uppy file id → upload id

    const learn = (file: HaulUppyFile, url: string | null | undefined) => {
      const id = uploadIdFromUrl(url);
      if (!id || known.get(file.id) === id) return;
      known.set(file.id, id);
      setLive((current) => ({ ...current, [id]: file.id }));
      track(id);
    };

    const onProgress = (file: HaulUppyFile | undefined) => {
      // The Tus plugin stores the upload URL on the file once the server created the upload.
      const latest = file && uppy.getFile(file.id);
      if (latest) learn(latest, latest.tus?.uploadUrl);
    };

    const onSuccess = (file: HaulUppyFile | undefined, response: { uploadURL?: string }) => {
      if (!file) return;
      const id = uploadIdFromUrl(response.uploadURL);
      if (id && known.get(file.id) === id) track(id); // now received: follow its processing
      else learn(file, response.uploadURL);
    };

    const onError = (file: HaulUppyFile | undefined, error: { message: string }, response: unknown) => {
      if (!file) return;
      // A file refused from its first bytes (415) may fail before any progress was reported: the
      // gallery learns of it now, so it shows the upload `rejected` with the server's reason.
      const latest = uppy.getFile(file.id);
      const id = uploadIdFromUrl(latest?.tus?.uploadUrl);
      if (latest && id) {
        learn(latest, latest.tus?.uploadUrl);
        track(id); // fetched again: its status now (rejected, with the reason)
      } else void reload.current();
      const request = failedRequest(response);
      const problem = describeError(request ? errorFromBody(request.status, request.text, request.retryAfter) : error, {
        action: `upload ${file.name}`,
      });
      uppy.setFileState(file.id, { error: problem.message });
      uppy.hideInfo();
      uppy.info(problem.message, 'error', 10_000);
      if (problem.signIn) onProblem(problem);
    };

    const onRemoved = (file: HaulUppyFile) => {
      const id = known.get(file.id);
      known.delete(file.id);
      if (!id) return;
      setLive((current) => {
        const { [id]: _removed, ...rest } = current;
        return rest;
      });
      // Removed before it finished: Uppy terminates it on the server, so it leaves the gallery too.
      if (!file.progress.uploadComplete) forget(id);
    };

    uppy.on('upload-progress', onProgress);
    uppy.on('upload-success', onSuccess);
    uppy.on('upload-error', onError);
    uppy.on('file-removed', onRemoved);
    return () => {
      uppy.off('upload-progress', onProgress);
      uppy.off('upload-success', onSuccess);
      uppy.off('upload-error', onError);
      uppy.off('file-removed', onRemoved);
    };
  }, [uppy, track, forget, onProblem]);

  return live;
}
