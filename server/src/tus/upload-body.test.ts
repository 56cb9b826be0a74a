import fs from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { FileStore } from '@tus/file-store';
import { Upload } from '@tus/utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HaulError } from '../errors.js';
import { type BodyStage, BodyStop, receiveBody } from './upload-body.js';

/**
 * The body path against a real FileStore and real requests on loopback: what arrives is stored,
 * whatever way the body ends.
 */

type Received = { offset?: number; error?: unknown; progress: number[] };

describe('receiveBody', () => {
  let dir: string;
  let store: FileStore;
  let server: http.Server;
  let port: number;
  /** How the next request is received; set by each test. */
  let receive: (req: IncomingMessage) => Promise<Received>;
  let results: Promise<Received>[] = [];

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'haul-body-'));
    store = new FileStore({ directory: dir });
    server = http.createServer((req, res) => {
      const result = receive(req);
      results.push(result);
      void result.then(() => res.end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await fs.rm(dir, { recursive: true, force: true });
  });

  const newUpload = async (key: string, size?: number) => store.create(new Upload({ id: key, size, offset: 0 }));
  const storedSize = async (key: string) => (await fs.stat(path.join(dir, key))).size;

  const receiver = (key: string, { limit = 1 << 30, stages = [] as BodyStage[], stop = new BodyStop() } = {}) =>
    async (req: IncomingMessage): Promise<Received> => {
      const progress: number[] = [];
      try {
        const offset = await receiveBody({
          source: req, write: (body, k, at) => store.write(body, k, at), key, offset: 0, limit, stop, stages,
          context: { uploadId: key, offset: 0, size: undefined, header: () => undefined },
          onProgress: (at) => progress.push(at),
        });
        return { offset, progress };
      } catch (error) {
        return { error, progress };
      }
    };

  /** Sends `chunks` (with a pause between), optionally dropping the connection after them. */
  async function send(chunks: Buffer[], { declared, drop = false }: { declared?: number; drop?: boolean } = {}) {
    results = [];
    const req = http.request({
      host: '127.0.0.1', port, method: 'PATCH', agent: false,
      headers: declared === undefined ? {} : { 'Content-Length': declared },
    });
    req.on('error', () => {});
    req.on('response', (res) => res.resume());
    for (const chunk of chunks) {
      await new Promise<void>((resolve) => req.write(chunk, () => resolve()));
      await new Promise((r) => setTimeout(r, 30));
    }
    if (drop) req.destroy();
    else req.end();
    while (results.length === 0) await new Promise((r) => setTimeout(r, 5));
    return results[0]!;
  }

  it('stores the whole body and reports the offset after each chunk', async () => {
    await newUpload('whole');
    receive = receiver('whole');
    const result = await send([Buffer.alloc(1000, 1), Buffer.alloc(500, 2)], { declared: 1500 });
    expect(result.offset).toBe(1500);
    expect(result.progress.at(-1)).toBe(1500);
    expect(await storedSize('whole')).toBe(1500);
  });

  it('keeps what arrived when the client goes away mid-body', async () => {
    await newUpload('dropped');
    receive = receiver('dropped');
    const result = await send([Buffer.alloc(300_000, 1), Buffer.alloc(200_000, 2)], { declared: 10_000_000, drop: true });
    expect(result.error).toBeUndefined();
    expect(result.offset).toBe(500_000);
    expect(await storedSize('dropped')).toBe(500_000);
  });

  it('ends the body where it is when asked to stop (a lock release), keeping the bytes', async () => {
    await newUpload('released');
    const stop = new BodyStop();
    receive = receiver('released', { stop });
    // The client promises 1 MB, sends 100 kB and waits: the body ends only because it is stopped.
    const sending = send([Buffer.alloc(100_000, 1)], { declared: 1_000_000 });
    while ((await storedSize('released')) < 100_000) await new Promise((r) => setTimeout(r, 10));
    stop.request('lock-released');
    const result = await sending;
    expect(stop.reason).toBe('lock-released');
    expect(result.error).toBeUndefined();
    expect(result.offset).toBe(100_000);
    expect(await storedSize('released')).toBe(100_000);
  });

  it('refuses a chunked body past its limit with 413, the bytes before the limit stored', async () => {
    await newUpload('limited', 1000);
    receive = receiver('limited', { limit: 1000 });
    const result = await send([Buffer.alloc(600), Buffer.alloc(600)]);
    expect(result.error).toBeInstanceOf(HaulError);
    expect(result.error).toMatchObject({ status: 413, code: 'UPLOAD_TOO_LARGE' });
    expect(await storedSize('limited')).toBe(600);
  });

  it('lets a stage see the bytes, stop the body (an idle timeout) or refuse it with its own error', async () => {
    const seen: number[] = [];
    const observe: BodyStage = () => new Transform({ transform: (chunk: Buffer, _e, cb) => (seen.push(chunk.length), cb(null, chunk)) });
    const stopAfterFirst: BodyStage = ({ stop }) => new Transform({ transform: (chunk: Buffer, _e, cb) => (stop('idle-timeout'), cb(null, chunk)) });
    await newUpload('staged');
    receive = receiver('staged', { stages: [observe, stopAfterFirst] });
    const stopped = await send([Buffer.alloc(70_000), Buffer.alloc(70_000), Buffer.alloc(70_000)], { declared: 210_000 });
    expect(stopped.offset).toBeLessThan(210_000);
    expect(seen.reduce((a, b) => a + b, 0)).toBe(stopped.offset);

    const refuse: BodyStage = () =>
      new Transform({ transform: (_chunk, _e, cb) => cb(new HaulError('UPLOAD_TOO_LARGE', 'refused by a stage')) });
    const skipped: BodyStage = () => undefined;
    await newUpload('refused');
    receive = receiver('refused', { stages: [skipped, refuse] });
    const refused = await send([Buffer.alloc(1000)], { declared: 1000 });
    expect(refused.error).toMatchObject({ code: 'UPLOAD_TOO_LARGE', message: 'refused by a stage' });
  });
});
