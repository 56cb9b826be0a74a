import type { UploadJson } from '@haul/api';
import { describe, expect, it } from 'vitest';
import { json, record, scriptedApi } from '../testing/api-fixtures.js';
import { HaulError } from './errors.js';
import { outcomeError } from './processing-wait.js';

const sse = (chunks: string[]) =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
        controller.close();
      },
    }),
    { status: 200, headers: { 'content-type': 'text/event-stream' } },
  );
const event = (upload: UploadJson) => `event: status\ndata: ${JSON.stringify(upload)}\nid: 1\n\n`;

describe('waitForTerminal', () => {
  it('follows the events stream to a terminal status, reporting each change', async () => {
    const { wait, calls } = scriptedApi([sse([': hi\n\n', event(record('received')), event(record('processing')).slice(0, 20), event(record('processing')).slice(20), event(record('ready'))])]);
    const seen: string[] = [];
    const upload = await wait('abc', { onStatus: (u) => seen.push(u.status) });
    expect(upload.status).toBe('ready');
    expect(seen).toEqual(['received', 'processing', 'ready']);
    expect(calls[0]!.url).toBe('http://h/api/uploads/abc/events');
  });

  it('reconnects when the stream ends early, and falls back to polling when streams keep failing', async () => {
    const reconnect = scriptedApi([sse([event(record('processing'))]), sse([event(record('processing')), event(record('infected', { reason: 'Eicar' }))])]);
    const seen: string[] = [];
    expect((await reconnect.wait('abc', { onStatus: (u) => seen.push(u.status) })).status).toBe('infected');
    expect(seen).toEqual(['processing', 'infected']);

    const polling = scriptedApi([new TypeError('x'), new TypeError('x'), new TypeError('x'), json(200, record('processing')), json(200, record('ready'))]);
    expect((await polling.wait('abc', { pollIntervalMs: 5 })).status).toBe('ready');
    expect(polling.calls.slice(3).map((c) => c.url)).toEqual(['http://h/api/uploads/abc', 'http://h/api/uploads/abc']);

    const noStreams = scriptedApi([new Response(null, { status: 200 }), json(200, record('ready'))]);
    expect((await noStreams.wait('abc')).status).toBe('ready');
  });

  it('gives up on a 404, on timeout and on abort', async () => {
    const missing = scriptedApi([json(404, { code: 'UPLOAD_NOT_FOUND', message: 'x' })]);
    await expect(missing.wait('abc')).rejects.toMatchObject({ code: 'UPLOAD_NOT_FOUND' });
    const slow = scriptedApi([() => new Response(new ReadableStream({ start() {} }), { status: 200 })]);
    await expect(slow.wait('abc', { timeoutMs: 50 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    const controller = new AbortController();
    const aborted = scriptedApi([() => new Response(new ReadableStream({ start() {} }), { status: 200 })]);
    const waiting = aborted.wait('abc', { signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('maps processing outcomes to error codes', () => {
    expect(outcomeError(record('rejected', { reason: 'type' }))).toMatchObject({ code: 'UPLOAD_REJECTED', message: expect.stringContaining('type') });
    expect(outcomeError(record('infected'))).toMatchObject({ code: 'UPLOAD_INFECTED' });
    expect(outcomeError(record('failed'))).toMatchObject({ code: 'PROCESSING_FAILED' });
    expect(outcomeError(record('expired'))).toMatchObject({ code: 'UPLOAD_GONE', status: 410 });
    expect(outcomeError(record('failed')).upload?.id).toBe('abc');
    expect(outcomeError(record('failed'))).toBeInstanceOf(HaulError);
  });
});
