import type http from 'node:http';
import { request } from './http-client.js';

/** Just enough tus 1.0 client (creation + core PATCH + termination) to drive an ingest benchmark. */

const TUS = { 'Tus-Resumable': '1.0.0' };

export interface TusUpload {
  endpoint: string;
  size: number;
  /** Bytes per PATCH: the whole upload in one PATCH when >= size. */
  chunkSize: number;
  headers?: Record<string, string>;
  agent?: http.Agent;
  timeoutMs?: number;
  /** Extra headers of the PATCH that sends `length` bytes at `offset` (e.g. Upload-Checksum). */
  patchHeaders?: (offset: number, length: number) => Record<string, string>;
}

/** Creates an upload and sends it; returns its URL and the wall time from the POST to the end of the last response. */
export async function tusUpload({ endpoint, size, chunkSize, headers = {}, agent, timeoutMs, patchHeaders }: TusUpload) {
  const started = performance.now();
  const created = await request(endpoint, {
    method: 'POST',
    agent,
    timeoutMs: Math.max(timeoutMs ?? 0, 30_000),
    headers: {
      ...TUS,
      ...headers,
      'Upload-Length': String(size),
      'Upload-Metadata': `filename ${Buffer.from('bench.bin').toString('base64')},filetype ${Buffer.from('application/octet-stream').toString('base64')}`,
    },
  });
  const location = created.headers.location;
  if (created.status !== 201 || !location) throw new Error(`POST ${endpoint}: ${created.status} ${created.body.slice(0, 500)}`);
  const url = new URL(location, endpoint).href;
  let offset = 0;
  let patches = 0;
  while (offset < size) {
    const length = Math.min(chunkSize, size - offset);
    const res = await request(url, {
      method: 'PATCH',
      agent,
      timeoutMs,
      bodyLength: length,
      headers: { ...TUS, ...headers, ...patchHeaders?.(offset, length), 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset) },
    });
    const next = Number(res.headers['upload-offset']);
    if (res.status !== 204 || next !== offset + length) {
      throw new Error(`PATCH ${url} @${offset}+${length}: ${res.status} offset=${res.headers['upload-offset']} ${res.body.slice(0, 500)}`);
    }
    offset = next;
    patches++;
  }
  return { url, ms: performance.now() - started, patches };
}

/** HEAD: the upload's offset and length, which must both be `size`. */
export async function expectComplete(url: string, size: number, headers: Record<string, string> = {}): Promise<void> {
  const head = await request(url, { method: 'HEAD', headers: { ...TUS, ...headers } });
  const offset = Number(head.headers['upload-offset']);
  const length = Number(head.headers['upload-length']);
  if (head.status !== 200 || offset !== size || length !== size) {
    throw new Error(`HEAD ${url}: ${head.status}, offset ${offset}, length ${length}; expected ${size}`);
  }
}

/** DELETE (tus termination); false when the server did not confirm. */
export async function tusDelete(url: string, { headers = {}, agent }: { headers?: Record<string, string>; agent?: http.Agent } = {}): Promise<boolean> {
  try {
    const res = await request(url, { method: 'DELETE', agent, timeoutMs: 30_000, headers: { ...TUS, ...headers } });
    return res.status === 204;
  } catch {
    return false;
  }
}
