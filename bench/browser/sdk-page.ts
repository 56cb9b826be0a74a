import { createHaulClient } from '@haul/client';

/**
 * The SDK in Chromium, for bench/e2e-upload.ts: bundled (IIFE, `HaulBench`) and injected into a
 * page of the Haul server under test (same origin). `upload()` makes a random Blob of `sizeMiB`,
 * uploads it plain or encrypted with the browser build of the SDK, and reports the time (the
 * Blob is made before the clock starts).
 */

export interface BrowserUpload {
  endpoint: string;
  token: string;
  sizeMiB: number;
  mode: 'plain' | 'encrypted';
}

const MiB = 2 ** 20;

function randomBlob(sizeMiB: number): Blob {
  const parts: Uint8Array<ArrayBuffer>[] = [];
  for (let i = 0; i < sizeMiB; i++) {
    const chunk = new Uint8Array(MiB);
    for (let at = 0; at < MiB; at += 65_536) crypto.getRandomValues(chunk.subarray(at, at + 65_536));
    parts.push(chunk);
  }
  return new Blob(parts);
}

export async function upload({ endpoint, token, sizeMiB, mode }: BrowserUpload): Promise<{ ms: number; url: string; heapMiB: number | null }> {
  const client = createHaulClient({ endpoint, getToken: () => token, storage: false, retry: false });
  const blob = randomBlob(sizeMiB);
  const key = crypto.getRandomValues(new Uint8Array(32));
  const started = performance.now();
  const handle = client.upload(blob, { waitForProcessing: false, ...(mode === 'encrypted' ? { encryption: { key, preview: false } } : {}) });
  const { uploadUrl } = await handle.uploaded;
  const ms = performance.now() - started;
  const memory = (performance as { memory?: { usedJSHeapSize: number } }).memory;
  return { ms, url: uploadUrl, heapMiB: memory ? memory.usedJSHeapSize / MiB : null };
}
