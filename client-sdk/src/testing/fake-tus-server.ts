import { NO_MEDIA, type UploadJson } from '@haul/api';
import type { HttpRequest, HttpResponse, HttpStack } from 'tus-js-client';

/**
 * An in-memory tus server behind tus-js-client's HttpStack interface, with faults injected per
 * request (`fault`): hangs, connection resets, any status. Test support, not part of the package.
 */

export type Fault = 'hang' | 'reset' | { status: number; headers?: Record<string, string>; body?: string } | undefined;

export interface Seen {
  method: string;
  url: string;
  headers: Record<string, string>;
}

export class FakeTusServer implements HttpStack {
  readonly uploads = new Map<string, { length: number; data: Buffer }>();
  readonly seen: Seen[] = [];
  fault: (req: Seen, index: number) => Fault = () => undefined;
  private next = 1;

  createRequest(method: string, url: string): HttpRequest {
    const headers: Record<string, string> = {};
    let progress: (bytes: number) => void = () => {};
    let aborted: (() => void) | null = null;
    return {
      getMethod: () => method,
      getURL: () => url,
      setHeader: (name, value) => void (headers[name] = value),
      getHeader: (name) => headers[name],
      setProgressHandler: (handler) => void (progress = handler),
      send: (body: unknown) =>
        new Promise<HttpResponse>((resolve, reject) => {
          const req = { method, url, headers: { ...headers } };
          this.seen.push(req);
          const fault = this.fault(req, this.seen.length - 1);
          if (fault === 'hang') {
            aborted = () => reject(new Error('aborted'));
            return;
          }
          if (fault === 'reset') {
            reject(new Error('ECONNRESET'));
            return;
          }
          setTimeout(() => {
            if (fault) resolve(response(fault.status, fault.headers ?? {}, fault.body ?? ''));
            else {
              const bytes = body ? (body as Buffer).length : 0;
              if (bytes) progress(bytes);
              resolve(this.handle(method, url, headers, body as Buffer | null));
            }
          }, 1);
        }),
      abort: () => {
        aborted?.();
        return Promise.resolve();
      },
      getUnderlyingObject: () => null,
    };
  }

  getName() {
    return 'fake';
  }

  private handle(method: string, url: string, headers: Record<string, string>, body: Buffer | null): HttpResponse {
    if (method === 'POST') {
      const location = `http://fake/files/u${this.next++}`;
      this.uploads.set(location, { length: Number(headers['Upload-Length']), data: Buffer.alloc(0) });
      return response(201, { location });
    }
    const upload = this.uploads.get(url);
    if (!upload) return response(404, {}, '{"code":"UPLOAD_NOT_FOUND","message":"gone"}');
    if (method === 'HEAD') return response(200, { 'upload-offset': String(upload.data.length), 'upload-length': String(upload.length) });
    if (method === 'DELETE') {
      this.uploads.delete(url);
      return response(204);
    }
    if (Number(headers['Upload-Offset']) !== upload.data.length) return response(409, {}, '{"code":"OFFSET_MISMATCH","message":"x"}');
    upload.data = Buffer.concat([upload.data, body ?? Buffer.alloc(0)]);
    const done = upload.data.length === upload.length;
    const id = url.slice(url.lastIndexOf('/') + 1);
    return response(204, { 'upload-offset': String(upload.data.length), ...(done ? { 'haul-upload': `/api/uploads/${id}` } : {}) });
  }
}

export function response(status: number, headers: Record<string, string> = {}, body = ''): HttpResponse {
  return { getStatus: () => status, getHeader: (name) => headers[name.toLowerCase()], getBody: () => body, getUnderlyingObject: () => null };
}

export const ready = (id: string, size: number): UploadJson => ({
  id, status: 'ready', reason: null, filename: null, declaredType: null, detectedType: 'text/plain', size, offset: size, sha256: null, scanned: false, encrypted: false, encryption: null,
  activeContent: null, scope: null, thumbnails: [], media: { ...NO_MEDIA }, contentUrl: `/api/uploads/${id}/content`, createdAt: '2026-01-01T00:00:00.000Z', finishedAt: null, processedAt: null, eventsUrl: '',
});
