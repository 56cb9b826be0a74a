import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadSchema } from '@haul/api';
import { csvFile, orientedJpegWithGps } from './helpers/fixtures.js';
import { type HaulServer, type ProcessingHaul, startProcessingHaul } from './helpers/haul-server.js';
import { localS3 } from './helpers/s3.js';
import { createUpload, patch, uploadBuffer } from './helpers/tus.js';
import { fetchUpload, getUpload, readSse, waitForUpload } from './helpers/uploads-api.js';

/**
 * Following an upload through processing, on disk and on S3 (Swift): the final PATCH's pointers to
 * the upload and its events, the record seen only by its owner, and the SSE stream of its status.
 * What processing makes of the files themselves: processing-files.test.ts.
 */

const s3 = localS3();
const s3Prefix = `t-proc-status-${Date.now().toString(36)}/`;

describe.each([
  { name: 'disk', env: () => ({}) },
  { name: 'S3 (Swift)', env: () => s3.env(s3Prefix) },
])('the status API on $name', ({ env }) => {
  let processing: ProcessingHaul;
  let server: HaulServer;
  let token: string;
  let otherToken: string;

  beforeAll(async () => {
    ({ server } = processing = await startProcessingHaul(env()));
    [token, otherToken] = await Promise.all([server.token('alice'), server.token('mallory')]);
  });
  afterAll(() => processing?.close());

  it('the final PATCH points to the upload and its events; only the owner sees them', async () => {
    const data = csvFile();
    const { url, id } = await createUpload(server.tusEndpoint, token, {
      length: data.length, metadata: { filename: 'split.csv', filetype: 'text/csv' },
    });
    const first = await patch(url, token, 0, data.subarray(0, 10));
    expect(first.status).toBe(204);
    expect(first.header('haul-upload-events')).toBeUndefined();
    const last = await patch(url, token, 10, data.subarray(10), { Origin: 'https://app.example' });
    expect(last.status).toBe(204);
    expect(last.header('haul-upload')).toBe(`/api/uploads/${id}`);
    expect(last.header('haul-upload-events')).toBe(`/api/uploads/${id}/events`);
    // A browser client may read them.
    expect(last.header('access-control-expose-headers')?.toLowerCase()).toContain('haul-upload-events');

    const upload = await waitForUpload(server, token, id);
    expect(upload.eventsUrl).toBe(last.header('haul-upload-events'));
    // Someone else's upload reads exactly like a missing one, on every route.
    const other = await getUpload(server, otherToken, id);
    expect(other.status).toBe(404);
    const missing = await getUpload(server, otherToken, 'doesnotexist000000000000');
    expect(missing.status).toBe(404);
    expect(other.body).toEqual(missing.body);
    expect((await readSse(new URL(upload.eventsUrl, server.url).toString(), { token: otherToken })).response.status).toBe(404);
    expect((await fetch(`${server.url}/api/uploads/${id}`)).status).toBe(401);
  });

  it.each([
    { auth: 'a bearer token', viaQuery: false },
    { auth: '?access_token=', viaQuery: true },
  ])('SSE with $auth streams status events from upload to terminal, then ends', async ({ viaQuery }) => {
    const jpeg = await orientedJpegWithGps(320, 240);
    const { url, id } = await createUpload(server.tusEndpoint, token, {
      length: jpeg.length, metadata: { filename: 'live.jpg', filetype: 'image/jpeg' },
    });
    const eventsUrl = new URL(`/api/uploads/${id}/events`, server.url);
    if (viaQuery) eventsUrl.searchParams.set('access_token', token);
    const started = Date.now();
    const stream = readSse(eventsUrl.toString(), { token: viaQuery ? undefined : token, timeoutMs: 20_000 });
    // Let the stream send the current state (uploading) before the bytes arrive.
    await new Promise((r) => setTimeout(r, 300));
    expect((await patch(url, token, 0, jpeg)).status).toBe(204);
    const { response, events } = await stream;
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(Date.now() - started).toBeLessThan(15_000);

    expect(events.length).toBeGreaterThanOrEqual(2);
    expect(events.every((e) => e.event === 'status')).toBe(true);
    const statuses = events.map((e) => uploadSchema.strict().parse(JSON.parse(e.data)).status);
    expect(statuses[0]).toBe('uploading');
    expect(statuses.at(-1)).toBe('ready');
    // In lifecycle order, each at most once, and nothing after the terminal status.
    const order = ['uploading', 'received', 'processing', 'ready'];
    const positions = statuses.map((s) => order.indexOf(s));
    expect(positions.every((p, i) => p >= 0 && (i === 0 || p >= positions[i - 1]!))).toBe(true);
    const final = JSON.parse(events.at(-1)!.data) as { thumbnails: unknown[]; id: string };
    expect(final.id).toBe(id);
    expect(final.thumbnails).toHaveLength(3);
    // The stream of a finished upload: its one state, then the end.
    const again = await readSse(eventsUrl.toString(), { token: viaQuery ? undefined : token, timeoutMs: 10_000 });
    expect(again.events.map((e) => JSON.parse(e.data).status)).toEqual(['ready']);
    expect(await fetchUpload(server, token, id)).toEqual(JSON.parse(again.events[0]!.data));
  });

  it('SSE without a token → 401', async () => {
    const { id } = await uploadBuffer(server.tusEndpoint, token, csvFile(), { filename: 'x.csv', filetype: 'text/csv' });
    const { response } = await readSse(`${server.url}/api/uploads/${id}/events`);
    expect(response.status).toBe(401);
    await waitForUpload(server, token, id);
  });
});
