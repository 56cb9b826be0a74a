import type { UploadJson } from '@haul/client';
import type { Client } from './haul.js';

/** Long enough for the browser to start the download; a link outlives nothing it was made for. */
const LINK_SECONDS = 120;

/** Hands a URL to the browser's download manager under `filename` (same origin, so `download` is honoured). */
function startDownload(href: string, filename: string): void {
  const anchor = document.createElement('a');
  anchor.href = href;
  anchor.download = filename;
  anchor.rel = 'noopener';
  anchor.style.display = 'none';
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
}

/**
 * An end-to-end encrypted upload, decrypted in the page (each record verified by the SDK before
 * its bytes are used) and handed to the browser as a blob. The whole file passes through the
 * page's memory: a demo's shortcut (an app would stream it to disk, e.g. with the File System
 * Access API).
 */
export async function downloadDecrypted(client: Client, upload: UploadJson, key: CryptoKey): Promise<void> {
  const stream = await client.download(upload.id, { encryption: { key } });
  const blob = await new Response(stream).blob();
  const url = URL.createObjectURL(new Blob([blob], { type: upload.declaredType ?? 'application/octet-stream' }));
  try {
    startDownload(url, upload.filename ?? upload.id);
  } finally {
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}

/**
 * A real browser download of a ready upload, under its own filename. The content URL needs a
 * bearer header, which a plain link cannot send; reading the file into the page first would
 * hold all of it in memory. So the browser's download manager streams it from a short-lived
 * signed link instead (on S3 straight from the bucket, via the server's redirect).
 */
export async function downloadUpload(client: Client, upload: UploadJson): Promise<void> {
  const { url } = await client.createLink(upload.id, { expiresIn: LINK_SECONDS });
  // `download`: served as an attachment, so images and PDFs are saved, not opened in place of
  // the page — also on S3, where the link redirects to another origin and `<a download>` is ignored.
  const link = new URL(url);
  link.searchParams.set('download', '1');
  startDownload(link.toString(), upload.filename ?? upload.id);
}
