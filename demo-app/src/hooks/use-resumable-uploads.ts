import { useCallback, useEffect, useState } from 'react';
import { readResumableUploads, forgetResumableUpload, type ResumableUpload } from '../lib/resumable-uploads.js';
import type { HaulUppy } from '../lib/uppy.js';

const sameKeys = (a: ResumableUpload[], b: ResumableUpload[]) => a.length === b.length && a.every((upload, i) => upload.key === b[i]?.key);

/**
 * Unfinished uploads remembered in localStorage from an earlier visit (or before a reload), minus
 * those whose file is in the uploader again — those are continuing.
 */
export function useResumableUploads(uppy: HaulUppy, endpoint: string): { uploads: ResumableUpload[]; forget(key: string): void } {
  const read = useCallback(() => {
    const inUploader = new Set(uppy.getFiles().map((file) => file.id));
    return readResumableUploads(localStorage, { instanceId: uppy.getID(), endpoint }).filter((upload) => !inUploader.has(upload.fileId));
  }, [uppy, endpoint]);
  const [uploads, setUploads] = useState(read);

  useEffect(() => {
    const refresh = () => {
      const next = read();
      setUploads((current) => (sameKeys(current, next) ? current : next));
    };
    // tus-js-client writes its entry once the upload exists and removes it on success.
    const events = ['file-added', 'file-removed', 'upload-success', 'upload-error', 'upload-pause', 'complete'] as const;
    for (const event of events) uppy.on(event, refresh);
    window.addEventListener('storage', refresh);
    // Entries also go away without an event (after a termination's DELETE answered): look again now and then.
    const timer = setInterval(refresh, 3000);
    refresh();
    return () => {
      clearInterval(timer);
      for (const event of events) uppy.off(event, refresh);
      window.removeEventListener('storage', refresh);
    };
  }, [uppy, read]);

  const forget = useCallback(
    (key: string) => {
      forgetResumableUpload(localStorage, key);
      setUploads(read());
    },
    [read],
  );
  return { uploads, forget };
}
