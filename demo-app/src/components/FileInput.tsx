import type { ChangeEvent } from 'react';
import type { HaulUppy } from '../lib/uppy.js';

/**
 * A file input that is always in the page, whatever the dashboard shows (its own input exists
 * only while its "add files" panel does): for scripts and tests that add files directly. People
 * use the dashboard's drop zone and "browse files".
 */
export function FileInput({ uppy, accept }: { uppy: HaulUppy; accept: string }) {
  const add = (event: ChangeEvent<HTMLInputElement>) => {
    const files = [...(event.target.files ?? [])];
    event.target.value = ''; // the same file can be chosen again (to resume it)
    // The descriptors the dashboard makes, so a file gets the same Uppy id — and resume fingerprint — either way.
    uppy.addFiles(files.map((file) => ({ source: 'Dashboard', name: file.name, type: file.type, data: file, meta: { relativePath: null } })));
  };
  return <input type="file" multiple hidden accept={accept} data-testid="file-input" onChange={add} />;
}
