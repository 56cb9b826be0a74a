// Just enough tus 1.0 client (creation + core PATCH + termination) to drive an ingest benchmark.
import { request } from './http-client.mjs';

const TUS = { 'Tus-Resumable': '1.0.0' };

/**
 * Creates an upload of `size` bytes and sends it in PATCHes of `chunkSize` bytes (one PATCH
 * when chunkSize >= size). Returns the upload URL and the wall time from the POST to the end of
 * the last response.
 */
export async function tusUpload({ endpoint, size, chunkSize, headers = {}, agent, timeoutMs }) {
  const started = process.hrtime.bigint();
  const created = await request(endpoint, {
    method: 'POST',
    agent,
    timeoutMs: 30_000,
    headers: {
      ...TUS,
      ...headers,
      'Upload-Length': String(size),
      'Upload-Metadata': `filename ${Buffer.from('bench.bin').toString('base64')},filetype ${Buffer.from('application/octet-stream').toString('base64')}`,
    },
  });
  if (created.status !== 201 || !created.headers.location) {
    throw new Error(`POST ${endpoint}: ${created.status} ${created.body.slice(0, 500)}`);
  }
  const location = new URL(created.headers.location, endpoint).href;

  let offset = 0;
  let patches = 0;
  while (offset < size) {
    const length = Math.min(chunkSize, size - offset);
    const res = await request(location, {
      method: 'PATCH',
      agent,
      timeoutMs,
      bodyLength: length,
      headers: {
        ...TUS,
        ...headers,
        'Content-Type': 'application/offset+octet-stream',
        'Upload-Offset': String(offset),
      },
    });
    const next = Number(res.headers['upload-offset']);
    if (res.status !== 204 || next !== offset + length) {
      throw new Error(`PATCH ${location} @${offset}+${length}: ${res.status} offset=${res.headers['upload-offset']} ${res.body.slice(0, 500)}`);
    }
    offset = next;
    patches++;
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  return { location, ms, patches };
}

/** DELETE (tus termination); false when the server did not confirm. */
export async function tusDelete({ location, headers = {}, agent }) {
  try {
    const res = await request(location, { method: 'DELETE', agent, timeoutMs: 30_000, headers: { ...TUS, ...headers } });
    return res.status === 204;
  } catch {
    return false;
  }
}
