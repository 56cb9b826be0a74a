/**
 * Fingerprints: what makes "the same upload" for resuming. tus-js-client's defaults are too
 * loose for some inputs (every anonymous Blob of one size and type looks the same to it), so
 * the SDK computes its own, from the input plus everything that shapes the upload on the server.
 */

/** cyrb53: a fast 53-bit non-cryptographic hash (collisions only cost a failed resume). */
export function hash53(input: string | Uint8Array, seed = 0): string {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  const length = input.length;
  for (let i = 0; i < length; i++) {
    const ch = typeof input === 'string' ? input.charCodeAt(i) : input[i]!;
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

const SAMPLE = 64 * 1024;

/** Hash of the first and last 64 KiB and the size: cheap, and tells different contents apart. */
export function sampleHash(bytes: Uint8Array): string {
  const head = bytes.subarray(0, SAMPLE);
  const tail = bytes.length > SAMPLE ? bytes.subarray(Math.max(SAMPLE, bytes.length - SAMPLE)) : new Uint8Array(0);
  return `${hash53(head)}.${hash53(tail, 1)}.${bytes.length}`;
}

/** The same for a Blob, reading only the two samples. */
export async function blobSampleHash(blob: Blob): Promise<string> {
  const head = new Uint8Array(await blob.slice(0, SAMPLE).arrayBuffer());
  const tail = blob.size > SAMPLE ? new Uint8Array(await blob.slice(Math.max(SAMPLE, blob.size - SAMPLE)).arrayBuffer()) : new Uint8Array(0);
  return `${hash53(head)}.${hash53(tail, 1)}.${blob.size}`;
}

/**
 * The full fingerprint: the input's identity, the endpoint, the part layout (a parallel upload
 * resumes only with the same partials) and the metadata (same bytes under another name is
 * another upload).
 */
export function uploadFingerprint(input: string, endpoint: string, parts: number, metadata: Record<string, string>): string {
  const meta = Object.keys(metadata)
    .sort()
    .map((key) => `${key}=${metadata[key]}`)
    .join('&');
  return `haul1|${input}|${endpoint}|p${parts}|m${hash53(meta)}`;
}
