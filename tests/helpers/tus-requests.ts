import fs from 'node:fs';
import http from 'node:http';

/** Raw tus requests, for tests that need control a tus client library does not give. */
export interface TusSession {
  endpoint: string;
  token: string;
}

const base = (token: string) => ({ 'Tus-Resumable': '1.0.0', Authorization: `Bearer ${token}` });
export const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64');

export async function createUpload(
  { endpoint, token }: TusSession,
  { length, metadata = {}, headers = {} }: { length?: number; metadata?: Record<string, string>; headers?: Record<string, string> } = {},
): Promise<{ url: string; id: string; response: Response }> {
  const meta = Object.entries(metadata).map(([k, v]) => `${k} ${b64(v)}`).join(',');
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      ...base(token),
      ...(length === undefined ? { 'Upload-Defer-Length': '1' } : { 'Upload-Length': String(length) }),
      ...(meta ? { 'Upload-Metadata': meta } : {}),
      ...headers,
    },
  });
  if (response.status !== 201) throw new Error(`create: ${response.status} ${await response.text()}`);
  const url = new URL(response.headers.get('location')!, endpoint).toString();
  return { url, id: url.slice(url.lastIndexOf('/') + 1), response };
}

export async function headUpload(url: string, token: string): Promise<{ status: number; offset: number; length: number | undefined; headers: Headers }> {
  const response = await fetch(url, { method: 'HEAD', headers: base(token) });
  const length = response.headers.get('upload-length');
  return {
    status: response.status,
    offset: Number(response.headers.get('upload-offset')),
    length: length === null ? undefined : Number(length),
    headers: response.headers,
  };
}

/**
 * PATCHes bytes [start, end) of `file`. With `abortAfter`, the request is destroyed once that
 * many body bytes were written (a client losing its connection mid-body) and resolves with
 * status 0.
 */
export function patchFromFile(
  url: string,
  token: string,
  file: string,
  { start, end, abortAfter, headers = {} }: { start: number; end: number; abortAfter?: number; headers?: Record<string, string> },
): Promise<{ status: number; offset: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'PATCH',
      headers: {
        ...base(token),
        'Upload-Offset': String(start),
        'Content-Type': 'application/offset+octet-stream',
        'Content-Length': String(end - start),
        ...headers,
      },
    });
    let settled = false;
    const finish = (value: { status: number; offset: number; body: string }) => {
      if (!settled) {
        settled = true;
        resolve(value);
      }
    };
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => finish({ status: res.statusCode ?? 0, offset: Number(res.headers['upload-offset'] ?? -1), body }));
      res.on('error', () => finish({ status: 0, offset: -1, body }));
    });
    req.on('error', (error) => (abortAfter === undefined ? reject(error) : finish({ status: 0, offset: -1, body: '' })));
    if (end === start) {
      req.end();
      return;
    }
    const stream = fs.createReadStream(file, { start, end: end - 1, highWaterMark: 256 * 1024 });
    let sent = 0;
    stream.on('data', (chunk) => {
      const buffer = chunk as Buffer;
      if (abortAfter !== undefined && sent + buffer.length >= abortAfter) {
        req.write(buffer.subarray(0, abortAfter - sent), () => {
          // Give the server a moment to receive the bytes, then drop the connection.
          setTimeout(() => {
            req.destroy();
            finish({ status: 0, offset: -1, body: '' });
          }, 100);
        });
        stream.destroy();
        return;
      }
      sent += buffer.length;
      if (!req.write(buffer)) {
        stream.pause();
        req.once('drain', () => stream.resume());
      }
    });
    stream.on('end', () => req.end());
    stream.on('error', reject);
  });
}

/** Uploads [offset, size) of `file` in `chunkSize` PATCHes; returns the final offset. */
export async function patchRemaining(url: string, token: string, file: string, size: number, chunkSize: number): Promise<number> {
  let { offset } = await headUpload(url, token);
  while (offset < size) {
    const end = Math.min(size, offset + chunkSize);
    const result = await patchFromFile(url, token, file, { start: offset, end });
    if (result.status !== 204) throw new Error(`PATCH ${offset}-${end}: ${result.status} ${result.body}`);
    offset = result.offset;
  }
  return offset;
}
